"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useId, useState, type FormEvent } from "react";

import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardHeader } from "@/components/ui/card";
import { Field, InputField } from "@/components/ui/field";
import { Select } from "@/components/ui/input";
import { QueryRows, Table, Td, Th } from "@/components/ui/table";
import { formatDateTime, formatMoney, humanize } from "@/components/lib/format";
import { formErrorsOf } from "@/components/lib/form-errors";
import type { RouterOutputs } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";

type CaseStatus = RouterOutputs["adminBilling"]["dunningCases"]["rows"][number]["status"];

/** "open" is the default view: the cases still retrying and those that suspended a workspace. */
const VIEWS = {
  open: ["retrying", "exhausted"],
  retrying: ["retrying"],
  exhausted: ["exhausted"],
  recovered: ["recovered"],
  stopped: ["stopped"],
  all: [],
} as const satisfies Record<string, readonly CaseStatus[]>;
type View = keyof typeof VIEWS;

const statusTone = {
  retrying: "amber",
  exhausted: "red",
  recovered: "green",
  stopped: "neutral",
} as const satisfies Record<CaseStatus, string>;

interface Filters {
  view: View;
  workspace: string;
  page: number;
}

function fromParams(params: URLSearchParams): Filters {
  const view = params.get("status") ?? "open";
  const page = Number(params.get("page"));

  return {
    view: Object.hasOwn(VIEWS, view) ? (view as View) : "open",
    workspace: params.get("workspace") ?? "",
    page: Number.isInteger(page) && page > 0 ? page : 1,
  };
}

function toParams(filters: Filters): string {
  const params = new URLSearchParams();
  if (filters.view !== "open") params.set("status", filters.view);
  if (filters.workspace) params.set("workspace", filters.workspace);
  if (filters.page !== 1) params.set("page", String(filters.page));

  return params.toString();
}

/**
 * The dunning queue: unpaid invoices being chased, the next retries first,
 * filtered by status and workspace; each links to its workspace and invoice.
 */
export function DunningList() {
  const trpc = useTRPC();
  const id = useId();
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const filters = fromParams(new URLSearchParams(params.toString()));
  const [draft, setDraft] = useState(filters.workspace);

  function update(change: Partial<Filters>) {
    const search = toParams({ ...filters, page: 1, ...change });
    router.replace(search ? `${pathname}?${search}` : pathname, { scroll: false });
  }

  const list = useQuery(
    trpc.adminBilling.dunningCases.queryOptions(
      {
        statuses: [...VIEWS[filters.view]],
        workspace: filters.workspace,
        page: filters.page,
        pageSize: 25,
      },
      { placeholderData: (previous) => previous, refetchInterval: 30_000 },
    ),
  );
  const errors = list.isError ? formErrorsOf(list.error, ["workspace"]) : undefined;
  const rows = list.data?.rows ?? [];

  function search(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    update({ workspace: draft });
  }

  return (
    <Card>
      <CardHeader
        title="Dunning cases"
        description="Charges tried count the first one, the scheduled retries and any made with a new card or Pay now. A workspace is suspended after its last scheduled retry fails, and active again once the invoice is paid."
      />
      <form
        onSubmit={search}
        noValidate
        className="grid gap-3 border-b border-slate-100 px-5 py-4 sm:grid-cols-[1fr_1fr_auto]"
      >
        <InputField
          id={`${id}-workspace`}
          label="Workspace"
          type="search"
          placeholder="Name or address"
          value={draft}
          error={errors?.fields.workspace}
          onChange={(event) => setDraft(event.target.value)}
        />
        <Field id={`${id}-status`} label="Status">
          <Select
            id={`${id}-status`}
            value={filters.view}
            onChange={(event) => update({ view: event.target.value as View })}
          >
            <option value="open">Open (retrying or exhausted)</option>
            <option value="retrying">Retrying</option>
            <option value="exhausted">Exhausted: workspace suspended</option>
            <option value="recovered">Recovered</option>
            <option value="stopped">Stopped</option>
            <option value="all">Any status</option>
          </Select>
        </Field>
        <div className="flex items-end">
          <Button type="submit" variant="secondary">
            Search
          </Button>
        </div>
      </form>
      <Table label="Dunning cases">
        <thead className="bg-slate-50/60">
          <tr>
            <Th>Workspace</Th>
            <Th>Invoice</Th>
            <Th align="right">Unpaid</Th>
            <Th align="right">Charges tried</Th>
            <Th>Next attempt</Th>
            <Th>Status</Th>
            <Th>Last failure</Th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          <QueryRows
            query={list}
            colSpan={7}
            subject="the dunning cases"
            isEmpty={rows.length === 0}
            empty="No unpaid invoices match."
          />
          {rows.map((row) => (
            <tr key={row.caseId} data-testid="dunning-row" className="hover:bg-slate-50">
              <Td>
                <Link
                  href={`/admin/workspaces/${row.workspace.id}`}
                  className="text-slate-800 hover:underline"
                >
                  {row.workspace.name}
                </Link>
                <span className="mt-0.5 block font-mono text-xs text-slate-400">
                  /w/{row.workspace.slug}
                </span>
              </Td>
              <Td>
                <Link
                  href={`/admin/invoices/${row.invoiceId}`}
                  className="font-mono text-sm font-medium whitespace-nowrap text-indigo-700 hover:underline"
                >
                  {row.number}
                </Link>
              </Td>
              <Td numeric>{formatMoney(row.amountMinor, row.currency)}</Td>
              <Td numeric>
                <span data-testid="case-attempts">{row.attempts}</span>
                <span className="mt-0.5 block text-xs text-slate-500">
                  {row.retries} {row.retries === 1 ? "retry" : "retries"} scheduled
                </span>
              </Td>
              <Td className="whitespace-nowrap text-slate-500">
                {row.status === "retrying" && row.nextAttemptAt
                  ? formatDateTime(row.nextAttemptAt)
                  : "—"}
              </Td>
              <Td>
                <Badge tone={statusTone[row.status]}>{humanize(row.status)}</Badge>
                {row.closeReason && (
                  <span className="mt-0.5 block text-xs text-slate-500">{row.closeReason}</span>
                )}
              </Td>
              <Td className="text-slate-500">{row.lastFailureMessage ?? "—"}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
      {list.data && list.data.total > 0 && (
        <nav
          aria-label="Pages"
          className="flex flex-wrap items-center justify-between gap-3 border-t border-slate-100 px-5 py-3 text-sm"
        >
          <p className="text-slate-500">
            Page {filters.page} of {list.data.pages} · {list.data.total} case
            {list.data.total === 1 ? "" : "s"}
          </p>
          <div className="flex items-center gap-2">
            <Button
              variant="secondary"
              size="sm"
              disabled={filters.page <= 1}
              onClick={() => update({ page: filters.page - 1 })}
            >
              Previous
            </Button>
            <Button
              variant="secondary"
              size="sm"
              disabled={filters.page >= list.data.pages}
              onClick={() => update({ page: filters.page + 1 })}
            >
              Next
            </Button>
          </div>
        </nav>
      )}
    </Card>
  );
}
