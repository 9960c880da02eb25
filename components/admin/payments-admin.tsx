"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useId, useState, type FormEvent, type ReactNode } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { InputField, SelectField } from "@/components/ui/field";
import { Select } from "@/components/ui/input";
import { EmptyRow, QueryRows, Table, Td, Th } from "@/components/ui/table";
import { formatDateTime, formatMoney, humanize } from "@/components/lib/format";
import { formErrorsOf } from "@/components/lib/form-errors";
import type { RouterOutputs } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";

import { DetailUnavailable } from "./detail-unavailable";

/**
 * The admin's payment pages: every payment, refund and dispute, each list
 * filtered from the address (so a search can be shared and reloaded), and
 * one payment or dispute in detail. In the simulated default a succeeded
 * payment can be disputed and the dispute decided, as the bank would.
 */

type PaymentStatus = RouterOutputs["adminPayments"]["payments"]["rows"][number]["status"];
type RefundStatus = RouterOutputs["adminPayments"]["refunds"]["rows"][number]["status"];
type Outcome = RouterOutputs["adminPayments"]["disputes"]["rows"][number]["outcome"];

const PAGE_SIZES = [10, 25, 50, 100] as const;

const paymentTone = {
  pending: "neutral",
  processing: "amber",
  succeeded: "green",
  failed: "red",
} as const satisfies Record<PaymentStatus, string>;
const refundTone = {
  pending: "amber",
  succeeded: "green",
  failed: "red",
} as const satisfies Record<RefundStatus, string>;
const outcomeTone = { open: "amber", won: "green", lost: "red" } as const satisfies Record<
  Outcome,
  string
>;

export function PaymentStatusBadge({ status }: { status: PaymentStatus }) {
  return <Badge tone={paymentTone[status]}>{humanize(status)}</Badge>;
}
function RefundStatusBadge({ status }: { status: RefundStatus }) {
  return <Badge tone={refundTone[status]}>{humanize(status)}</Badge>;
}
function OutcomeBadge({ outcome }: { outcome: Outcome }) {
  return <Badge tone={outcomeTone[outcome]}>{humanize(outcome)}</Badge>;
}

/** Filters kept in the address: text fields, page and page size. */
function useAddressFilters<K extends string>(keys: readonly K[]) {
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const number = (name: string, fallback: number) => {
    const value = Number(params.get(name));
    return Number.isInteger(value) && value > 0 ? value : fallback;
  };
  const values = Object.fromEntries(keys.map((key) => [key, params.get(key) ?? ""])) as Record<
    K,
    string
  >;
  const size = number("size", 25);
  const page = number("page", 1);
  const pageSize = (PAGE_SIZES as readonly number[]).includes(size) ? size : 25;

  function update(change: Partial<Record<K | "page" | "size", string | number>>) {
    const next = new URLSearchParams();
    const merged: Record<string, string | number> = {
      ...values,
      page: 1,
      size: pageSize,
      ...change,
    };
    for (const [key, value] of Object.entries(merged)) {
      if (key === "page" && value === 1) continue;
      if (key === "size" && value === 25) continue;
      if (value !== "" && value !== undefined) next.set(key, String(value));
    }
    const search = next.toString();
    router.replace(search ? `${pathname}?${search}` : pathname, { scroll: false });
  }

  return { values, page, pageSize, update };
}

function oneOf<T extends string>(value: string, options: readonly T[]): T | "" {
  return (options as readonly string[]).includes(value) ? (value as T) : "";
}

function Pager({
  data,
  page,
  pageSize,
  update,
}: {
  data: { total: number; pages: number } | undefined;
  page: number;
  pageSize: number;
  update: (change: { page?: number; size?: number }) => void;
}) {
  if (!data || data.total === 0) return null;

  return (
    <nav
      aria-label="Pages"
      className="flex flex-wrap items-center justify-between gap-3 border-t border-slate-100 px-5 py-3 text-sm"
    >
      <p className="text-slate-500" data-testid="page-range">
        {Math.min(data.total, (page - 1) * pageSize + 1)}–{Math.min(data.total, page * pageSize)} of{" "}
        {data.total}
      </p>
      <div className="flex items-center gap-2">
        <Select
          aria-label="Per page"
          value={pageSize}
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
          disabled={page <= 1}
          onClick={() => update({ page: page - 1 })}
        >
          Newer
        </Button>
        <Button
          variant="secondary"
          size="sm"
          disabled={page >= data.pages}
          onClick={() => update({ page: page + 1 })}
        >
          Older
        </Button>
      </div>
    </nav>
  );
}

function WorkspaceCell({ id, name, slug }: { id: string; name: string; slug: string }) {
  return (
    <>
      <Link href={`/admin/workspaces/${id}`} className="text-slate-800 hover:underline">
        {name}
      </Link>
      <span className="mt-0.5 block font-mono text-xs text-slate-400">/w/{slug}</span>
    </>
  );
}

function Totals({ testId, children }: { testId: string; children: ReactNode }) {
  return (
    <Card>
      <CardBody className="flex flex-wrap items-baseline gap-x-8 gap-y-2">
        <p className="text-xs font-medium tracking-wide text-slate-500 uppercase">Matching</p>
        <dl className="flex flex-wrap gap-x-8 gap-y-2" data-testid={testId}>
          {children}
        </dl>
      </CardBody>
    </Card>
  );
}

// ---------------------------------------------------------------------------
// Payments

const PAYMENT_STATUSES: readonly PaymentStatus[] = ["pending", "processing", "succeeded", "failed"];
const KINDS = ["invoice", "purchase"] as const;
const GATEWAYS = ["simulated", "stripe"] as const;

export function PaymentsList() {
  const trpc = useTRPC();
  const id = useId();
  const { values, page, pageSize, update } = useAddressFilters([
    "status",
    "kind",
    "gateway",
    "workspace",
  ] as const);
  const [workspace, setWorkspace] = useState(values.workspace);
  const list = useQuery(
    trpc.adminPayments.payments.queryOptions(
      {
        status: oneOf(values.status, PAYMENT_STATUSES),
        kind: oneOf(values.kind, KINDS),
        gateway: oneOf(values.gateway, GATEWAYS),
        workspace: values.workspace,
        page,
        pageSize,
      },
      { placeholderData: (previous) => previous },
    ),
  );
  const errors = list.isError ? formErrorsOf(list.error, ["workspace"]) : undefined;
  const rows = list.data?.rows ?? [];

  return (
    <div className="space-y-6">
      <Totals testId="payment-totals">
        {(list.data?.totalsByCurrency ?? []).map((total) => (
          <div key={total.currency}>
            <dt className="text-xs font-medium text-slate-500">
              {total.currency} · {total.payments} payment{total.payments === 1 ? "" : "s"}
            </dt>
            <dd className="text-2xl font-semibold text-slate-900 tabular-nums">
              {formatMoney(total.succeededMinor, total.currency)}
            </dd>
            <dd className="text-xs text-slate-500">
              {formatMoney(total.refundedMinor, total.currency)} refunded
            </dd>
          </div>
        ))}
        {list.data && list.data.totalsByCurrency.length === 0 && (
          <p className="text-sm text-slate-500">No payments match.</p>
        )}
      </Totals>
      <Card>
        <CardHeader
          title="All payments"
          description="Invoice charges (each dunning retry its own row) and credit purchases, newest first."
        />
        <form
          noValidate
          onSubmit={(event: FormEvent<HTMLFormElement>) => {
            event.preventDefault();
            update({ workspace });
          }}
          className="grid gap-3 border-b border-slate-100 px-5 py-4 sm:grid-cols-2 lg:grid-cols-[1.5fr_1fr_1fr_1fr_auto]"
        >
          <InputField
            id={`${id}-workspace`}
            label="Workspace"
            type="search"
            placeholder="Name or address"
            value={workspace}
            error={errors?.fields.workspace}
            onChange={(event) => setWorkspace(event.target.value)}
          />
          <SelectField
            id={`${id}-status`}
            label="Status"
            value={values.status}
            anyLabel="Any status"
            options={PAYMENT_STATUSES}
            onChange={(value) => update({ status: value })}
          />
          <SelectField
            id={`${id}-kind`}
            label="Kind"
            value={values.kind}
            anyLabel="Any kind"
            options={KINDS}
            onChange={(value) => update({ kind: value })}
          />
          <SelectField
            id={`${id}-gateway`}
            label="Gateway"
            value={values.gateway}
            anyLabel="Any gateway"
            options={GATEWAYS}
            onChange={(value) => update({ gateway: value })}
          />
          <div className="flex items-end">
            <Button type="submit" variant="secondary">
              Search
            </Button>
          </div>
        </form>
        <Table label="Payments">
          <thead className="bg-slate-50/60">
            <tr>
              <Th>Date</Th>
              <Th>Workspace</Th>
              <Th>For</Th>
              <Th>Status</Th>
              <Th align="right">Amount</Th>
              <Th align="right">Refunded</Th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            <QueryRows
              query={list}
              colSpan={6}
              subject="the payments"
              isEmpty={rows.length === 0}
              empty="No payments match."
            />
            {rows.map((row) => (
              <tr key={row.id} data-testid="admin-payment-row" className="hover:bg-slate-50">
                <Td className="whitespace-nowrap">
                  <Link
                    href={`/admin/payments/${row.id}`}
                    className="font-medium text-indigo-700 hover:underline"
                  >
                    {formatDateTime(row.createdAt)}
                  </Link>
                </Td>
                <Td>
                  <WorkspaceCell
                    id={row.workspaceId}
                    name={row.workspaceName}
                    slug={row.workspaceSlug}
                  />
                </Td>
                <Td>
                  {row.kind === "invoice"
                    ? `Invoice ${row.invoiceNumber ?? ""}${row.attempt > 1 ? `, attempt ${row.attempt}` : ""}`
                    : `${row.packName ?? "Credit pack"} (${humanize(row.trigger)})`}
                  <span className="mt-0.5 block text-xs text-slate-400">
                    {humanize(row.gateway)}
                  </span>
                </Td>
                <Td>
                  <span className="flex flex-wrap gap-1">
                    <PaymentStatusBadge status={row.status} />
                    {row.disputes > 0 && <Badge tone="red">Disputed</Badge>}
                  </span>
                </Td>
                <Td numeric>{formatMoney(row.amountMinor, row.currency)}</Td>
                <Td numeric>
                  {row.amountRefundedMinor > 0
                    ? formatMoney(row.amountRefundedMinor, row.currency)
                    : "—"}
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
        <Pager
          data={list.data}
          page={page}
          pageSize={pageSize}
          update={(change) => update(change)}
        />
      </Card>
    </div>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <dt className="text-xs font-medium tracking-wide text-slate-500 uppercase">{label}</dt>
      <dd className="mt-0.5 text-sm break-all text-slate-800">{children}</dd>
    </div>
  );
}

type PaymentDetailData = RouterOutputs["adminPayments"]["payment"];

export function PaymentDetail({ paymentId }: { paymentId: string }) {
  const trpc = useTRPC();
  const detail = useQuery(trpc.adminPayments.payment.queryOptions({ paymentId }));

  if (detail.isPending) return <p className="text-sm text-slate-500">Loading…</p>;
  if (detail.isError) {
    return (
      <DetailUnavailable
        message={detail.error.message}
        back={{ href: "/admin/payments", label: "Back to all payments" }}
      />
    );
  }
  const data = detail.data;
  const { payment } = data;
  const money = (minor: number) => formatMoney(minor, payment.currency);

  return (
    <div className="space-y-6">
      <Card>
        <CardBody className="space-y-4">
          <div className="flex flex-wrap items-center gap-3">
            <h2 className="text-xl font-semibold text-slate-900 tabular-nums">
              {money(payment.amountMinor)}
            </h2>
            <span data-testid="payment-status">
              <PaymentStatusBadge status={payment.status} />
            </span>
            <Badge>{humanize(payment.kind)}</Badge>
            {data.disputes.length > 0 && <Badge tone="red">Disputed</Badge>}
          </div>
          <dl className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
            <Fact label="Workspace">
              <WorkspaceCell {...data.workspace} />
            </Fact>
            <Fact label="For">
              {payment.kind === "invoice" && payment.invoiceId ? (
                <Link
                  href={`/admin/invoices/${payment.invoiceId}`}
                  className="text-indigo-700 hover:underline"
                >
                  Invoice {data.invoiceNumber ?? "draft"}, attempt {payment.attempt}
                </Link>
              ) : (
                `${data.packName ?? "Credit pack"} (${(data.credits ?? 0).toLocaleString("en-US")} credits)`
              )}
            </Fact>
            <Fact label="Started by">{humanize(payment.trigger)}</Fact>
            <Fact label="Refunded">{money(payment.amountRefundedMinor)}</Fact>
            <Fact label="Created">{formatDateTime(payment.createdAt)}</Fact>
            <Fact label="Settled">
              {payment.settledAt ? formatDateTime(payment.settledAt) : "—"}
            </Fact>
            <Fact label="Gateway">{humanize(payment.gateway)}</Fact>
            <Fact label="Payment / charge">
              <span className="font-mono text-xs">
                {payment.paymentIntentId ?? "—"}
                <br />
                {payment.chargeId ?? "—"}
              </span>
            </Fact>
          </dl>
          {payment.failureMessage && (
            <Alert tone="error">
              {payment.failureMessage}
              {payment.failureCode ? ` (${payment.failureCode})` : ""}
            </Alert>
          )}
        </CardBody>
      </Card>
      <RefundsCard refunds={data.refunds} currency={payment.currency} />
      <DisputesCard data={data} />
    </div>
  );
}

function RefundsCard({
  refunds,
  currency,
}: {
  refunds: PaymentDetailData["refunds"];
  currency: string;
}) {
  return (
    <Card>
      <CardHeader title="Refunds" description="Money given back on this payment, oldest first." />
      <Table label="Refunds of this payment">
        <thead className="bg-slate-50/60">
          <tr>
            <Th>Date</Th>
            <Th>Origin</Th>
            <Th>Reason</Th>
            <Th>Status</Th>
            <Th align="right">Amount</Th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {refunds.map((refund) => (
            <tr key={refund.id} data-testid="payment-refund-row">
              <Td className="whitespace-nowrap text-slate-500">
                {formatDateTime(refund.createdAt)}
              </Td>
              <Td>{humanize(refund.origin)}</Td>
              <Td className="text-slate-600">
                {refund.reason}
                {refund.failureReason && (
                  <span className="block text-xs text-red-700">{refund.failureReason}</span>
                )}
              </Td>
              <Td>
                <RefundStatusBadge status={refund.status} />
              </Td>
              <Td numeric>{formatMoney(refund.amountMinor, currency)}</Td>
            </tr>
          ))}
          {refunds.length === 0 && <EmptyRow colSpan={5}>No refunds.</EmptyRow>}
        </tbody>
      </Table>
    </Card>
  );
}

function DisputesCard({ data }: { data: PaymentDetailData }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string>();
  const opening = useMutation(
    trpc.adminPayments.simulateDispute.mutationOptions({
      onSettled: () => queryClient.invalidateQueries(trpc.adminPayments.pathFilter()),
    }),
  );

  return (
    <Card>
      <CardHeader
        title="Disputes"
        description="Chargebacks on this payment: what was clawed back and how each ended."
      />
      <DisputesTable rows={data.disputes.map((dispute) => ({ ...dispute, workspace: null }))} />
      {data.canSimulateDispute && (
        <CardBody className="space-y-3 border-t border-slate-100">
          {error && <Alert tone="error">{error}</Alert>}
          <p className="text-sm text-slate-600">
            Simulated gateway: open a dispute as the cardholder&apos;s bank would. The
            gateway&apos;s webhook then records it and claws the unspent credits back.
          </p>
          <Button
            variant="danger"
            pending={opening.isPending}
            onClick={async () => {
              setError(undefined);
              try {
                await opening.mutateAsync({ paymentId: data.payment.id });
              } catch (failure) {
                setError(formErrorsOf(failure, []).form);
              }
            }}
          >
            Simulate dispute
          </Button>
        </CardBody>
      )}
    </Card>
  );
}

interface DisputeRowView {
  id: string;
  amountMinor: number;
  currency: string;
  reason: string | null;
  gatewayStatus: string;
  outcome: Outcome;
  clawedBackCredits: number;
  shortfallCredits: number;
  reinstatedCredits: number;
  openedAt: Date;
  workspace: { id: string; name: string; slug: string } | null;
}

function DisputesTable({
  rows,
  query,
}: {
  rows: DisputeRowView[];
  query?: Parameters<typeof QueryRows>[0]["query"];
}) {
  const withWorkspace = rows.some((row) => row.workspace) || Boolean(query);
  const columns = withWorkspace ? 6 : 5;

  return (
    <Table label="Disputes">
      <thead className="bg-slate-50/60">
        <tr>
          <Th>Opened</Th>
          {withWorkspace && <Th>Workspace</Th>}
          <Th>Reason</Th>
          <Th>Outcome</Th>
          <Th align="right">Credits clawed back</Th>
          <Th align="right">Amount</Th>
        </tr>
      </thead>
      <tbody className="divide-y divide-slate-100">
        {query && (
          <QueryRows
            query={query}
            colSpan={columns}
            subject="the disputes"
            isEmpty={rows.length === 0}
            empty="No disputes match."
          />
        )}
        {rows.map((row) => (
          <tr key={row.id} data-testid="dispute-row" className="hover:bg-slate-50">
            <Td className="whitespace-nowrap">
              <Link
                href={`/admin/disputes/${row.id}`}
                className="font-medium text-indigo-700 hover:underline"
              >
                {formatDateTime(row.openedAt)}
              </Link>
            </Td>
            {withWorkspace && <Td>{row.workspace && <WorkspaceCell {...row.workspace} />}</Td>}
            <Td className="text-slate-600">
              {row.reason ? humanize(row.reason) : "—"}
              <span className="block text-xs text-slate-400">{humanize(row.gatewayStatus)}</span>
            </Td>
            <Td>
              <OutcomeBadge outcome={row.outcome} />
            </Td>
            <Td numeric>
              {row.clawedBackCredits.toLocaleString("en-US")}
              {row.shortfallCredits > 0 && (
                <span className="block text-xs text-slate-500">
                  {row.shortfallCredits.toLocaleString("en-US")} already spent
                </span>
              )}
              {row.reinstatedCredits > 0 && (
                <span className="block text-xs text-emerald-700">
                  {row.reinstatedCredits.toLocaleString("en-US")} reinstated
                </span>
              )}
            </Td>
            <Td numeric>{formatMoney(row.amountMinor, row.currency)}</Td>
          </tr>
        ))}
        {!query && rows.length === 0 && <EmptyRow colSpan={columns}>No disputes.</EmptyRow>}
      </tbody>
    </Table>
  );
}

// ---------------------------------------------------------------------------
// Refunds

const REFUND_STATUSES: readonly RefundStatus[] = ["pending", "succeeded", "failed"];
const ORIGINS = ["credit_refund", "cancellation", "gateway"] as const;

export function RefundsList() {
  const trpc = useTRPC();
  const id = useId();
  const { values, page, pageSize, update } = useAddressFilters([
    "status",
    "origin",
    "workspace",
  ] as const);
  const [workspace, setWorkspace] = useState(values.workspace);
  const list = useQuery(
    trpc.adminPayments.refunds.queryOptions(
      {
        status: oneOf(values.status, REFUND_STATUSES),
        origin: oneOf(values.origin, ORIGINS),
        workspace: values.workspace,
        page,
        pageSize,
      },
      { placeholderData: (previous) => previous },
    ),
  );
  const rows = list.data?.rows ?? [];

  return (
    <div className="space-y-6">
      <Totals testId="refund-totals">
        {(list.data?.totalsByCurrency ?? []).map((total) => (
          <div key={total.currency}>
            <dt className="text-xs font-medium text-slate-500">
              {total.currency} · {total.refunds} refund{total.refunds === 1 ? "" : "s"}
            </dt>
            <dd className="text-2xl font-semibold text-slate-900 tabular-nums">
              {formatMoney(total.amountMinor, total.currency)}
            </dd>
          </div>
        ))}
        {list.data && list.data.totalsByCurrency.length === 0 && (
          <p className="text-sm text-slate-500">No refunds match.</p>
        )}
      </Totals>
      <Card>
        <CardHeader
          title="All refunds"
          description="Credit refunds, cancelled workspaces' credit, and refunds made at the gateway, newest first."
        />
        <form
          noValidate
          onSubmit={(event: FormEvent<HTMLFormElement>) => {
            event.preventDefault();
            update({ workspace });
          }}
          className="grid gap-3 border-b border-slate-100 px-5 py-4 sm:grid-cols-2 lg:grid-cols-[1.5fr_1fr_1fr_auto]"
        >
          <InputField
            id={`${id}-workspace`}
            label="Workspace"
            type="search"
            placeholder="Name or address"
            value={workspace}
            onChange={(event) => setWorkspace(event.target.value)}
          />
          <SelectField
            id={`${id}-status`}
            label="Status"
            value={values.status}
            anyLabel="Any status"
            options={REFUND_STATUSES}
            onChange={(value) => update({ status: value })}
          />
          <SelectField
            id={`${id}-origin`}
            label="Origin"
            value={values.origin}
            anyLabel="Any origin"
            options={ORIGINS}
            onChange={(value) => update({ origin: value })}
          />
          <div className="flex items-end">
            <Button type="submit" variant="secondary">
              Search
            </Button>
          </div>
        </form>
        <Table label="Refunds">
          <thead className="bg-slate-50/60">
            <tr>
              <Th>Date</Th>
              <Th>Workspace</Th>
              <Th>Origin</Th>
              <Th>Reason</Th>
              <Th>Status</Th>
              <Th align="right">Amount</Th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            <QueryRows
              query={list}
              colSpan={6}
              subject="the refunds"
              isEmpty={rows.length === 0}
              empty="No refunds match."
            />
            {rows.map((row) => (
              <tr key={row.id} data-testid="admin-refund-row" className="hover:bg-slate-50">
                <Td className="whitespace-nowrap">
                  <Link
                    href={`/admin/payments/${row.paymentId}`}
                    className="font-medium text-indigo-700 hover:underline"
                  >
                    {formatDateTime(row.createdAt)}
                  </Link>
                </Td>
                <Td>
                  <WorkspaceCell
                    id={row.workspaceId}
                    name={row.workspaceName}
                    slug={row.workspaceSlug}
                  />
                </Td>
                <Td>{humanize(row.origin)}</Td>
                <Td className="text-slate-600">
                  {row.reason}
                  {row.failureReason && (
                    <span className="block text-xs text-red-700">{row.failureReason}</span>
                  )}
                </Td>
                <Td>
                  <RefundStatusBadge status={row.status} />
                </Td>
                <Td numeric>{formatMoney(row.amountMinor, row.currency)}</Td>
              </tr>
            ))}
          </tbody>
        </Table>
        <Pager
          data={list.data}
          page={page}
          pageSize={pageSize}
          update={(change) => update(change)}
        />
      </Card>
    </div>
  );
}

// ---------------------------------------------------------------------------
// Disputes

const OUTCOMES: readonly Outcome[] = ["open", "won", "lost"];

export function DisputesList() {
  const trpc = useTRPC();
  const id = useId();
  const { values, page, pageSize, update } = useAddressFilters(["outcome", "workspace"] as const);
  const [workspace, setWorkspace] = useState(values.workspace);
  const list = useQuery(
    trpc.adminPayments.disputes.queryOptions(
      { outcome: oneOf(values.outcome, OUTCOMES), workspace: values.workspace, page, pageSize },
      { placeholderData: (previous) => previous },
    ),
  );
  const rows = (list.data?.rows ?? []).map((row) => ({
    ...row,
    workspace: { id: row.workspaceId, name: row.workspaceName, slug: row.workspaceSlug },
  }));

  return (
    <Card>
      <CardHeader
        title="All disputes"
        description="Newest first. Open one to see its payment and, in the simulated default, to decide it."
      />
      <form
        noValidate
        onSubmit={(event: FormEvent<HTMLFormElement>) => {
          event.preventDefault();
          update({ workspace });
        }}
        className="grid gap-3 border-b border-slate-100 px-5 py-4 sm:grid-cols-[1.5fr_1fr_auto]"
      >
        <InputField
          id={`${id}-workspace`}
          label="Workspace"
          type="search"
          placeholder="Name or address"
          value={workspace}
          onChange={(event) => setWorkspace(event.target.value)}
        />
        <SelectField
          id={`${id}-outcome`}
          label="Outcome"
          value={values.outcome}
          anyLabel="Any outcome"
          options={OUTCOMES}
          onChange={(value) => update({ outcome: value })}
        />
        <div className="flex items-end">
          <Button type="submit" variant="secondary">
            Search
          </Button>
        </div>
      </form>
      <DisputesTable rows={rows} query={list} />
      <Pager data={list.data} page={page} pageSize={pageSize} update={(change) => update(change)} />
    </Card>
  );
}

export function DisputeDetail({ disputeId }: { disputeId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string>();
  const detail = useQuery(trpc.adminPayments.dispute.queryOptions({ disputeId }));
  const closing = useMutation(
    trpc.adminPayments.simulateDisputeClose.mutationOptions({
      onSettled: () => queryClient.invalidateQueries(trpc.adminPayments.pathFilter()),
    }),
  );

  if (detail.isPending) return <p className="text-sm text-slate-500">Loading…</p>;
  if (detail.isError) {
    return (
      <DetailUnavailable
        message={detail.error.message}
        back={{ href: "/admin/disputes", label: "Back to all disputes" }}
      />
    );
  }
  const { dispute, payment, workspace, canSimulateClose } = detail.data;
  const close = async (outcome: "won" | "lost") => {
    setError(undefined);
    try {
      await closing.mutateAsync({ disputeId, outcome });
    } catch (failure) {
      setError(formErrorsOf(failure, []).form);
    }
  };

  return (
    <div className="space-y-6">
      <Card>
        <CardBody className="space-y-4">
          <div className="flex flex-wrap items-center gap-3">
            <h2 className="text-xl font-semibold text-slate-900 tabular-nums">
              {formatMoney(dispute.amountMinor, dispute.currency)}
            </h2>
            <span data-testid="dispute-outcome">
              <OutcomeBadge outcome={dispute.outcome} />
            </span>
            <Badge>{humanize(dispute.gatewayStatus)}</Badge>
          </div>
          <dl className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
            <Fact label="Workspace">
              <WorkspaceCell {...workspace} />
            </Fact>
            <Fact label="Payment">
              <Link
                href={`/admin/payments/${payment.id}`}
                className="text-indigo-700 hover:underline"
              >
                {formatMoney(payment.amountMinor, payment.currency)} {humanize(payment.kind)},{" "}
                {formatDateTime(payment.createdAt)}
              </Link>
            </Fact>
            <Fact label="Reason">{dispute.reason ? humanize(dispute.reason) : "—"}</Fact>
            <Fact label="Gateway id">
              <span className="font-mono text-xs">{dispute.gatewayDisputeId}</span>
            </Fact>
            <Fact label="Credits clawed back">
              {dispute.clawedBackCredits.toLocaleString("en-US")}
            </Fact>
            <Fact label="Already spent (shortfall)">
              {dispute.shortfallCredits.toLocaleString("en-US")}
            </Fact>
            <Fact label="Reinstated">{dispute.reinstatedCredits.toLocaleString("en-US")}</Fact>
            <Fact label="Opened / closed">
              {formatDateTime(dispute.openedAt)}
              {dispute.closedAt ? ` / ${formatDateTime(dispute.closedAt)}` : ""}
            </Fact>
          </dl>
          {dispute.outcome === "lost" && (
            <p className="text-sm text-slate-600">
              The money went back to the cardholder by chargeback; the payment&apos;s refunds are
              unchanged.
            </p>
          )}
        </CardBody>
      </Card>
      {canSimulateClose && (
        <Card>
          <CardHeader
            title="Decide (simulated)"
            description="As the cardholder's bank would: won reinstates the clawed-back credits once; lost keeps them taken."
          />
          <CardBody className="space-y-3">
            {error && <Alert tone="error">{error}</Alert>}
            <div className="flex flex-wrap gap-3">
              <Button pending={closing.isPending} onClick={() => close("won")}>
                Close as won
              </Button>
              <Button variant="danger" pending={closing.isPending} onClick={() => close("lost")}>
                Close as lost
              </Button>
            </div>
          </CardBody>
        </Card>
      )}
    </div>
  );
}
