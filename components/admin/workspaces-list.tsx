"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useEffect, useId, useRef, useState } from "react";

import { Badge } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { Field } from "@/components/ui/field";
import { Input, Select } from "@/components/ui/input";
import { QueryRows, Table, Td, Th } from "@/components/ui/table";
import { formatCredits, formatDateTime, formatMoney, humanize } from "@/components/lib/format";
import type { RouterInputs, RouterOutputs } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";

import { statusTone } from "./workspace-search";

type ListInput = Required<Omit<RouterInputs["workspaces"]["admin"]["find"], "statuses">> & {
  statuses: ListRow["status"][];
};
type ListRow = RouterOutputs["workspaces"]["admin"]["find"]["rows"][number];
type SortKey = ListInput["sort"];

const PAGE_SIZES = [10, 25, 50, 100] as const;
const STATUSES = ["active", "suspended", "cancelled", "deleted"] as const;
const SORT_KEYS: readonly SortKey[] = ["name", "created", "balance", "seats", "mrr"];
const SEARCH_DELAY_MS = 300;

/** The list's state lives in the address, so a search can be bookmarked, shared and reloaded. */
function fromParams(params: URLSearchParams): ListInput {
  const number = (name: string, fallback: number) => {
    const value = Number(params.get(name));
    return Number.isInteger(value) && value > 0 ? value : fallback;
  };
  const size = number("size", 25);
  const sort = params.get("sort") as SortKey | null;

  return {
    query: params.get("q") ?? "",
    statuses: (params.get("status") ?? "")
      .split(",")
      .filter((status): status is ListInput["statuses"][number] =>
        (STATUSES as readonly string[]).includes(status),
      ),
    tierCode: params.get("tier") ?? "",
    sort: sort && SORT_KEYS.includes(sort) ? sort : "name",
    direction: params.get("dir") === "desc" ? "desc" : "asc",
    page: number("page", 1),
    pageSize: (PAGE_SIZES as readonly number[]).includes(size) ? size : 25,
  };
}

function toParams(input: ListInput): string {
  const params = new URLSearchParams();
  if (input.query) params.set("q", input.query);
  if (input.statuses.length > 0) params.set("status", input.statuses.join(","));
  if (input.tierCode) params.set("tier", input.tierCode);
  if (input.sort !== "name") params.set("sort", input.sort);
  if (input.direction !== "asc") params.set("dir", input.direction);
  if (input.page !== 1) params.set("page", String(input.page));
  if (input.pageSize !== 25) params.set("size", String(input.pageSize));

  return params.toString();
}

/**
 * Every workspace, searchable (as you type), filtered by status and tier,
 * sortable and paginated, with MRR totals per currency above. A row opens the
 * workspace's page, where it is suspended or reactivated.
 */
export function WorkspacesList() {
  const trpc = useTRPC();
  const id = useId();
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const input = fromParams(new URLSearchParams(params.toString()));
  const [text, setText] = useState(input.query);
  // Set when a row is opened: a search still waiting must not navigate back to the list.
  const leaving = useRef(false);

  function update(change: Partial<ListInput>) {
    const next = { ...input, page: 1, ...change };
    const search = toParams(next);
    router.replace(search ? `${pathname}?${search}` : pathname, { scroll: false });
  }

  // Back and forward change the address under the box: show the search it holds.
  const searched = useRef(input.query);
  useEffect(() => {
    if (input.query !== searched.current) setText(input.query);
    searched.current = input.query;
  }, [input.query]);

  // Search as you type, once typing pauses.
  useEffect(() => {
    if (text.trim() === input.query) return;
    const timer = setTimeout(() => {
      if (leaving.current) return;
      searched.current = text.trim();
      update({ query: text.trim() });
    }, SEARCH_DELAY_MS);

    return () => clearTimeout(timer);
    // Only the typed text starts a search; the address is read fresh on every render.
  }, [text]);

  const list = useQuery(
    trpc.workspaces.admin.find.queryOptions(input, { placeholderData: (previous) => previous }),
  );
  const tiers = useQuery(trpc.tiers.all.queryOptions());
  // Every code, archived or not, named as its latest version is.
  const tierOptions = (tiers.data ?? []).map(({ code, latest }) => ({ code, name: latest.name }));
  const rows = list.data?.rows ?? [];

  function sortBy(key: SortKey) {
    update({
      sort: key,
      direction: input.sort === key && input.direction === "asc" ? "desc" : "asc",
    });
  }

  function sortHeader(sort: SortKey, label: string, right = false) {
    const active = input.sort === sort;
    return (
      <Th
        align={right ? "right" : undefined}
        aria-sort={active ? (input.direction === "asc" ? "ascending" : "descending") : undefined}
      >
        <button
          type="button"
          className="uppercase hover:text-slate-800"
          onClick={() => sortBy(sort)}
        >
          {label}
          {active ? (input.direction === "asc" ? " ↑" : " ↓") : ""}
        </button>
      </Th>
    );
  }

  return (
    <div className="space-y-6">
      <MrrTotals data={list.data} />
      <Card>
        <CardHeader
          title="All workspaces"
          description="Search by name, address, a member's email or a workspace id. Open one to see everything about it, and to suspend or reactivate it."
        />
        <CardBody className="grid gap-3 border-b border-slate-100 sm:grid-cols-[2fr_1fr_1fr_auto]">
          <Field id={`${id}-query`} label="Search">
            <Input
              id={`${id}-query`}
              type="search"
              value={text}
              placeholder="acme, acme-labs, someone@example.com or an id"
              onChange={(event) => setText(event.target.value)}
            />
          </Field>
          <Field id={`${id}-status`} label="Status">
            <Select
              id={`${id}-status`}
              value={input.statuses[0] ?? ""}
              onChange={(event) =>
                update({
                  statuses: event.target.value
                    ? [event.target.value as ListInput["statuses"][number]]
                    : [],
                })
              }
            >
              <option value="">Any status</option>
              {STATUSES.map((status) => (
                <option key={status} value={status}>
                  {humanize(status)}
                </option>
              ))}
            </Select>
          </Field>
          <Field id={`${id}-tier`} label="Tier">
            <Select
              id={`${id}-tier`}
              value={input.tierCode}
              onChange={(event) => update({ tierCode: event.target.value })}
            >
              <option value="">Any tier</option>
              {tierOptions.map((tier) => (
                <option key={tier.code} value={tier.code}>
                  {tier.name}
                </option>
              ))}
            </Select>
          </Field>
          <Field id={`${id}-size`} label="Per page">
            <Select
              id={`${id}-size`}
              value={input.pageSize}
              onChange={(event) => update({ pageSize: Number(event.target.value) })}
            >
              {PAGE_SIZES.map((size) => (
                <option key={size} value={size}>
                  {size}
                </option>
              ))}
            </Select>
          </Field>
        </CardBody>
        <Table label="Workspaces">
          <thead className="bg-slate-50/60">
            <tr>
              {sortHeader("name", "Workspace")}
              <Th>Owner</Th>
              <Th>Tier</Th>
              <Th>Status</Th>
              {sortHeader("balance", "Balance", true)}
              {sortHeader("seats", "Seats", true)}
              {sortHeader("mrr", "MRR", true)}
              {sortHeader("created", "Created")}
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            <QueryRows
              query={list}
              colSpan={8}
              subject="the workspaces"
              isEmpty={rows.length === 0}
              empty={input.query ? `No workspace matches "${input.query}".` : "No workspaces."}
            />
            {rows.map((row) => (
              <WorkspaceRow key={row.id} row={row} onOpen={() => (leaving.current = true)} />
            ))}
          </tbody>
        </Table>
        {list.data && list.data.total > 0 && (
          <Pages
            page={input.page}
            pages={list.data.pages}
            total={list.data.total}
            pageSize={input.pageSize}
            onPage={(page) => update({ page })}
          />
        )}
      </Card>
    </div>
  );
}

function WorkspaceRow({ row, onOpen }: { row: ListRow; onOpen: () => void }) {
  return (
    <tr data-testid="admin-workspace-row" className="hover:bg-slate-50">
      <Td>
        <Link
          href={`/admin/workspaces/${row.id}`}
          onClick={(event) => {
            // A click that opens a new tab leaves this list where it is.
            if (!event.metaKey && !event.ctrlKey && !event.shiftKey && event.button === 0) onOpen();
          }}
          className="font-medium text-indigo-700 hover:underline"
        >
          {row.name}
        </Link>
        <span className="mt-0.5 block font-mono text-xs text-slate-400">/w/{row.slug}</span>
      </Td>
      <Td className="text-slate-600">{row.ownerEmail ?? "—"}</Td>
      <Td>
        {row.tierName} <span className="text-xs text-slate-400">v{row.tierVersion}</span>
      </Td>
      <Td>
        <Badge tone={statusTone[row.status]}>{humanize(row.status)}</Badge>
        {row.cancelAt && (
          <span className="mt-1 block text-xs text-red-700">
            Cancels {formatDateTime(row.cancelAt)}
          </span>
        )}
        {row.scheduledTierName && (
          <span className="mt-1 block text-xs text-amber-800">
            To {row.scheduledTierName} {formatDateTime(row.scheduledTierAt)}
          </span>
        )}
      </Td>
      <Td numeric>{formatCredits(row.balance)}</Td>
      <Td numeric>{row.seats}</Td>
      <Td numeric>{formatMoney(row.mrrMinor, row.currency)}</Td>
      <Td className="whitespace-nowrap text-slate-500">{formatDateTime(row.createdAt)}</Td>
    </tr>
  );
}

function MrrTotals({ data }: { data: RouterOutputs["workspaces"]["admin"]["find"] | undefined }) {
  return (
    <Card>
      <CardBody className="flex flex-wrap items-baseline gap-x-8 gap-y-2">
        <div>
          <p className="text-xs font-medium tracking-wide text-slate-500 uppercase">
            MRR of the matching workspaces
          </p>
          <p className="text-xs text-slate-400">
            Tier price plus extra seats; suspended ones count, cancelled and deleted do not.
          </p>
        </div>
        <dl className="flex flex-wrap gap-x-8 gap-y-2" data-testid="mrr-totals">
          {(data?.mrrByCurrency ?? []).map((total) => (
            <div key={total.currency}>
              <dt className="text-xs font-medium text-slate-500">{total.currency}</dt>
              <dd className="text-2xl font-semibold text-slate-900 tabular-nums">
                {formatMoney(total.mrrMinor, total.currency)}
              </dd>
            </div>
          ))}
        </dl>
        {data && data.mrrByCurrency.length === 0 && (
          <p className="text-sm text-slate-500">No workspaces match.</p>
        )}
      </CardBody>
    </Card>
  );
}

/** "21–40 of 83" and links to the first, nearby and last pages. */
function Pages({
  page,
  pages,
  total,
  pageSize,
  onPage,
}: {
  page: number;
  pages: number;
  total: number;
  pageSize: number;
  onPage: (page: number) => void;
}) {
  const shown = [...new Set([1, page - 1, page, page + 1, pages])]
    .filter((n) => n >= 1 && n <= pages)
    .sort((a, b) => a - b);
  const first = Math.min(total, (page - 1) * pageSize + 1);
  const last = Math.min(total, page * pageSize);

  return (
    <nav
      aria-label="Pages"
      className="flex flex-wrap items-center justify-between gap-3 border-t border-slate-100 px-5 py-3 text-sm"
    >
      <p className="text-slate-500" data-testid="page-range">
        {page > pages ? `Past the last page; ${total} in all` : `${first}–${last} of ${total}`}
      </p>
      <ul className="flex items-center gap-1">
        {shown.map((n, index) => (
          <li key={n} className="flex items-center gap-1">
            {index > 0 && n - shown[index - 1]! > 1 && <span className="text-slate-400">…</span>}
            <button
              type="button"
              aria-current={n === page ? "page" : undefined}
              aria-label={`Page ${n}`}
              className={
                n === page
                  ? "rounded-md bg-indigo-600 px-2.5 py-1 font-medium text-white"
                  : "rounded-md px-2.5 py-1 text-slate-700 hover:bg-slate-100"
              }
              onClick={() => onPage(n)}
            >
              {n}
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}
