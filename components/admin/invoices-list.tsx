"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useId, useState, type FormEvent } from "react";

import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { Field, InputField } from "@/components/ui/field";
import { Select } from "@/components/ui/input";
import { QueryRows, Table, Td, Th } from "@/components/ui/table";
import { formatDateTime, formatMoney, humanize } from "@/components/lib/format";
import { formErrorsOf } from "@/components/lib/form-errors";
import type { RouterOutputs } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";

type InvoiceStatus = RouterOutputs["adminBilling"]["invoices"]["rows"][number]["status"];

const STATUSES: readonly InvoiceStatus[] = ["draft", "open", "paid", "void", "uncollectible"];
const PAGE_SIZES = [10, 25, 50, 100] as const;

/** The badge colour of each invoice status, shared by the admin's invoice pages. */
export const invoiceStatusTone = {
  draft: "neutral",
  open: "amber",
  paid: "green",
  void: "neutral",
  uncollectible: "red",
} as const satisfies Record<InvoiceStatus, string>;

export function InvoiceStatusBadge({ status }: { status: InvoiceStatus }) {
  return <Badge tone={invoiceStatusTone[status]}>{humanize(status)}</Badge>;
}

interface Filters {
  status: InvoiceStatus | "";
  currency: string;
  workspace: string;
  number: string;
  from: string;
  to: string;
  page: number;
  size: number;
}

/** The list's state lives in the address, so a search can be bookmarked, shared and reloaded. */
function fromParams(params: URLSearchParams): Filters {
  const number = (name: string, fallback: number) => {
    const value = Number(params.get(name));
    return Number.isInteger(value) && value > 0 ? value : fallback;
  };
  const status = params.get("status") ?? "";
  const size = number("size", 25);

  return {
    status: (STATUSES as readonly string[]).includes(status) ? (status as InvoiceStatus) : "",
    currency: params.get("currency") ?? "",
    workspace: params.get("workspace") ?? "",
    number: params.get("number") ?? "",
    from: params.get("from") ?? "",
    to: params.get("to") ?? "",
    page: number("page", 1),
    size: (PAGE_SIZES as readonly number[]).includes(size) ? size : 25,
  };
}

function toParams(filters: Filters): string {
  const params = new URLSearchParams();
  for (const key of ["status", "currency", "workspace", "number", "from", "to"] as const) {
    if (filters[key]) params.set(key, filters[key]);
  }
  if (filters.page !== 1) params.set("page", String(filters.page));
  if (filters.size !== 25) params.set("size", String(filters.size));

  return params.toString();
}

/**
 * Every invoice, newest first, filtered by status, currency, workspace,
 * number and issue date, with the matching invoices' totals per currency.
 * A row opens the invoice, where an open one can be voided or written off.
 */
export function InvoicesList() {
  const trpc = useTRPC();
  const id = useId();
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const filters = fromParams(new URLSearchParams(params.toString()));
  const [draft, setDraft] = useState(filters);

  function update(change: Partial<Filters>) {
    const search = toParams({ ...filters, page: 1, ...change });
    router.replace(search ? `${pathname}?${search}` : pathname, { scroll: false });
  }

  const list = useQuery(
    trpc.adminBilling.invoices.queryOptions(
      {
        statuses: filters.status ? [filters.status] : [],
        currency: filters.currency,
        workspace: filters.workspace,
        number: filters.number,
        issuedFrom: filters.from || undefined,
        issuedTo: filters.to || undefined,
        page: filters.page,
        pageSize: filters.size,
      },
      { placeholderData: (previous) => previous },
    ),
  );
  const errors = list.isError
    ? formErrorsOf(list.error, ["currency", "issuedFrom", "issuedTo", "workspace", "number"])
    : undefined;
  const rows = list.data?.rows ?? [];

  function search(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    update({ ...draft, page: 1 });
  }

  return (
    <div className="space-y-6">
      <Card>
        <CardBody className="flex flex-wrap items-baseline gap-x-8 gap-y-2">
          <p className="text-xs font-medium tracking-wide text-slate-500 uppercase">
            Matching invoices
          </p>
          <dl className="flex flex-wrap gap-x-8 gap-y-2" data-testid="invoice-totals">
            {(list.data?.totalsByCurrency ?? []).map((total) => (
              <div key={total.currency}>
                <dt className="text-xs font-medium text-slate-500">
                  {total.currency} · {total.invoices} invoice{total.invoices === 1 ? "" : "s"}
                </dt>
                <dd className="text-2xl font-semibold text-slate-900 tabular-nums">
                  {formatMoney(total.totalMinor, total.currency)}
                </dd>
                <dd className="text-xs text-slate-500">
                  {formatMoney(total.amountRemainingMinor, total.currency)} due
                </dd>
              </div>
            ))}
          </dl>
          {list.data && list.data.totalsByCurrency.length === 0 && (
            <p className="text-sm text-slate-500">No invoices match.</p>
          )}
        </CardBody>
      </Card>
      <Card>
        <CardHeader
          title="All invoices"
          description="Newest first. Open one to see its lines and events, and to void it or write it off."
        />
        <form
          onSubmit={search}
          noValidate
          className="grid gap-3 border-b border-slate-100 px-5 py-4 sm:grid-cols-3 lg:grid-cols-[1fr_1fr_1fr_0.6fr_1fr_1fr_auto]"
        >
          <InputField
            id={`${id}-workspace`}
            label="Workspace"
            type="search"
            placeholder="Name or address"
            value={draft.workspace}
            error={errors?.fields.workspace}
            onChange={(event) => setDraft({ ...draft, workspace: event.target.value })}
          />
          <InputField
            id={`${id}-number`}
            label="Number"
            type="search"
            placeholder="INV-2027-000042"
            value={draft.number}
            error={errors?.fields.number}
            onChange={(event) => setDraft({ ...draft, number: event.target.value })}
          />
          <Field id={`${id}-status`} label="Status">
            <Select
              id={`${id}-status`}
              value={draft.status}
              onChange={(event) => {
                const status = event.target.value as Filters["status"];
                setDraft({ ...draft, status });
                update({ status });
              }}
            >
              <option value="">Any status</option>
              {STATUSES.map((status) => (
                <option key={status} value={status}>
                  {humanize(status)}
                </option>
              ))}
            </Select>
          </Field>
          <InputField
            id={`${id}-currency`}
            label="Currency"
            placeholder="EUR"
            maxLength={3}
            value={draft.currency}
            error={errors?.fields.currency}
            onChange={(event) => setDraft({ ...draft, currency: event.target.value })}
          />
          <InputField
            id={`${id}-from`}
            label="Issued from"
            type="date"
            value={draft.from}
            error={errors?.fields.issuedFrom}
            onChange={(event) => setDraft({ ...draft, from: event.target.value })}
          />
          <InputField
            id={`${id}-to`}
            label="Issued to"
            type="date"
            value={draft.to}
            error={errors?.fields.issuedTo}
            onChange={(event) => setDraft({ ...draft, to: event.target.value })}
          />
          <div className="flex items-end">
            <Button type="submit" variant="secondary">
              Search
            </Button>
          </div>
        </form>
        <Table label="Invoices">
          <thead className="bg-slate-50/60">
            <tr>
              <Th>Number</Th>
              <Th>Workspace</Th>
              <Th>Kind</Th>
              <Th>Status</Th>
              <Th align="right">Total</Th>
              <Th align="right">Due</Th>
              <Th>Issued</Th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            <QueryRows
              query={list}
              colSpan={7}
              subject="the invoices"
              isEmpty={rows.length === 0}
              empty="No invoices match."
            />
            {rows.map((row) => (
              <tr key={row.id} data-testid="admin-invoice-row" className="hover:bg-slate-50">
                <Td>
                  <Link
                    href={`/admin/invoices/${row.id}`}
                    className="font-mono text-sm font-medium text-indigo-700 hover:underline"
                  >
                    {row.number ?? "Draft"}
                  </Link>
                </Td>
                <Td>
                  <Link
                    href={`/admin/workspaces/${row.workspaceId}`}
                    className="text-slate-800 hover:underline"
                  >
                    {row.workspaceName}
                  </Link>
                  <span className="mt-0.5 block font-mono text-xs text-slate-400">
                    /w/{row.workspaceSlug}
                  </span>
                </Td>
                <Td>{humanize(row.kind)}</Td>
                <Td>
                  <InvoiceStatusBadge status={row.status} />
                </Td>
                <Td numeric>{formatMoney(row.totalMinor, row.currency)}</Td>
                <Td numeric>{formatMoney(row.amountRemainingMinor, row.currency)}</Td>
                <Td className="whitespace-nowrap text-slate-500">{formatDateTime(row.issuedAt)}</Td>
              </tr>
            ))}
          </tbody>
        </Table>
        {list.data && list.data.total > 0 && (
          <nav
            aria-label="Pages"
            className="flex flex-wrap items-center justify-between gap-3 border-t border-slate-100 px-5 py-3 text-sm"
          >
            <p className="text-slate-500" data-testid="page-range">
              {Math.min(list.data.total, (filters.page - 1) * filters.size + 1)}–
              {Math.min(list.data.total, filters.page * filters.size)} of {list.data.total}
            </p>
            <div className="flex items-center gap-2">
              <Select
                aria-label="Per page"
                value={filters.size}
                onChange={(event) => update({ size: Number(event.target.value) })}
              >
                {PAGE_SIZES.map((size) => (
                  <option key={size} value={size}>
                    {size} a page
                  </option>
                ))}
              </Select>
              <Button
                variant="secondary"
                size="sm"
                disabled={filters.page <= 1}
                onClick={() => update({ page: filters.page - 1 })}
              >
                Newer
              </Button>
              <Button
                variant="secondary"
                size="sm"
                disabled={filters.page >= list.data.pages}
                onClick={() => update({ page: filters.page + 1 })}
              >
                Older
              </Button>
            </div>
          </nav>
        )}
      </Card>
    </div>
  );
}
