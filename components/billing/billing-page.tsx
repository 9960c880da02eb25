"use client";

import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState, type ReactNode } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { QueryRows, Table, Td, Th } from "@/components/ui/table";
import { formatCredits, formatMoney, humanize } from "@/components/lib/format";
import { formErrorsOf } from "@/components/lib/form-errors";
import { canManageBilling } from "@/components/lib/roles";
import type { QueryResult, RouterOutputs, Workspace } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";
import { NeedsAdmin } from "@/components/workspaces/needs-admin";
import { useWorkspace } from "@/components/workspaces/use-workspace";
import { invoiceDate, invoicePeriod, percentOfBps } from "@/server/billing/invoice-view";

import { InvoiceStatusBadge, LinesTable, PdfLink, TotalsList } from "./invoice-parts";

type Summary = RouterOutputs["billing"]["summary"];
type Upcoming = NonNullable<RouterOutputs["billing"]["upcomingInvoice"]>;
type Forecast = NonNullable<RouterOutputs["billing"]["overageForecast"]>;
type Dunning = NonNullable<RouterOutputs["billing"]["dunning"]>;

const REFRESH = 30_000;

/**
 * A workspace's billing for its billing members and up: any unpaid invoice
 * being chased, the plan and period, the next invoice, the card (saved or
 * replaced on the gateway's page), the invoices with their PDFs and a Pay
 * now button on those still owing, and what was paid.
 */
export function BillingPage({ slug }: { slug: string }) {
  const workspace = useWorkspace(slug);
  if (!workspace.data) return null;
  if (!canManageBilling(workspace.data.role)) {
    return (
      <NeedsAdmin title="Billing is for billing members">
        Ask an owner or admin of this workspace for the billing role to see its plan, invoices and
        payments.
      </NeedsAdmin>
    );
  }

  return <Billing workspace={workspace.data} />;
}

function Billing({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const scope = { workspaceId: workspace.workspaceId };
  const summary = useQuery(trpc.billing.summary.queryOptions(scope, { refetchInterval: REFRESH }));

  return (
    <div className="space-y-6">
      <PastDue workspace={workspace} />
      <div className="grid gap-6 lg:grid-cols-3">
        <CurrentPlan summary={summary} slug={workspace.slug} />
        <PaymentMethod summary={summary} workspace={workspace} />
      </div>
      <UpcomingInvoice workspace={workspace} />
      <OverageForecast workspace={workspace} />
      <Invoices workspace={workspace} />
      <Payments workspace={workspace} />
    </div>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <dt className="text-xs font-medium tracking-wide text-slate-500 uppercase">{label}</dt>
      <dd className="mt-0.5 text-sm text-slate-800">{children}</dd>
    </div>
  );
}

function Pending({ query }: { query: { isPending: boolean; error: { message: string } | null } }) {
  if (query.isPending) return <p className="text-sm text-slate-500">Loading…</p>;

  return <p className="text-sm text-red-700">Could not load this: {query.error?.message}</p>;
}

function CurrentPlan({ summary, slug }: { summary: QueryResult<Summary>; slug: string }) {
  const data = summary.data;

  return (
    <Card className="lg:col-span-2">
      <CardHeader
        title="Current plan"
        action={
          <Link
            href={`/w/${slug}/plans`}
            className="text-sm font-medium text-indigo-600 hover:text-indigo-500"
          >
            Change plan
          </Link>
        }
      />
      <CardBody>
        {!data ? (
          <Pending query={summary} />
        ) : (
          <dl className="grid gap-4 sm:grid-cols-3" data-testid="current-plan">
            <Fact label="Tier">
              <span className="font-medium">{data.tier.name}</span>,{" "}
              {formatMoney(data.tier.monthlyPriceMinor, data.tier.currency)} a month
            </Fact>
            <Fact label="Status">
              {data.subscription ? humanize(data.subscription.status) : "No subscription yet"}
            </Fact>
            <Fact label="Currency">{data.subscription?.currency ?? data.tier.currency}</Fact>
            <Fact label="Current period">
              {data.subscription
                ? invoicePeriod(
                    data.subscription.currentPeriodStart,
                    data.subscription.currentPeriodEnd,
                  )
                : "—"}
            </Fact>
            <Fact label="Renews">
              {data.subscription
                ? `${invoiceDate(data.subscription.currentPeriodEnd)} (day ${data.subscription.anchorDay} of each month)`
                : "—"}
            </Fact>
            <Fact label="Seats">
              {data.seats.billed === null
                ? `${data.seats.included} included`
                : `${data.seats.billed} billed, ${data.seats.included} included`}
              {data.seats.extra > 0 &&
                `; ${data.seats.extra} extra at ${formatMoney(data.tier.seatPriceMinor, data.tier.currency)}`}
            </Fact>
            {data.scheduled.tier && (
              <Fact label="Scheduled change">
                Moves to {data.scheduled.tier.name} on {invoiceDate(data.scheduled.tier.at)}
              </Fact>
            )}
            {data.scheduled.cancelAt && (
              <Fact label="Cancels">{invoiceDate(data.scheduled.cancelAt)}</Fact>
            )}
            {data.creditBalanceMinor > 0 && (
              <Fact label="Credit balance">
                {formatMoney(
                  data.creditBalanceMinor,
                  data.subscription?.currency ?? data.tier.currency,
                )}{" "}
                <span className="text-slate-500">off the next invoice</span>
              </Fact>
            )}
          </dl>
        )}
      </CardBody>
    </Card>
  );
}

/**
 * The unpaid invoices being chased: what is owed, when the card is tried
 * again and, once warned, when the workspace is suspended; or that it is
 * suspended until they are paid.
 */
function PastDue({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const dunning = useQuery(
    trpc.billing.dunning.queryOptions(
      { workspaceId: workspace.workspaceId },
      { refetchInterval: REFRESH },
    ),
  );
  if (!dunning.data) return null;

  return (
    <div className="space-y-3" data-testid="past-due">
      {dunning.data.map((open) => (
        <PastDueCase key={open.caseId} open={open} />
      ))}
    </div>
  );
}

function PastDueCase({ open }: { open: Dunning[number] }) {
  const owed = `${formatMoney(open.amountMinor, open.currency)} on ${open.number}`;
  if (open.status === "exhausted") {
    return (
      <Alert tone="error" title="This workspace is suspended for an unpaid invoice">
        {owed} could not be collected after {open.attempts} attempts, so its API keys are refused.
        Pay the invoice below or save a card that works: the workspace becomes active again as soon
        as the payment goes through.
      </Alert>
    );
  }

  return (
    <Alert tone="warning" title="Payment past due">
      {owed} could not be collected
      {open.lastFailureMessage ? ` (${open.lastFailureMessage.replace(/\.$/, "")})` : ""}.{" "}
      {open.nextAttemptAt
        ? `We try the card again on ${invoiceDate(open.nextAttemptAt)}. `
        : "A payment is being processed. "}
      {open.suspendsAt
        ? `If that last retry fails, the workspace is suspended on ${invoiceDate(open.suspendsAt)}.`
        : "The workspace keeps working meanwhile."}{" "}
      Saving a new card retries at once.
    </Alert>
  );
}

function PaymentMethod({
  summary,
  workspace,
}: {
  summary: QueryResult<Summary>;
  workspace: Workspace;
}) {
  const trpc = useTRPC();
  const data = summary.data;
  const [error, setError] = useState<string>();
  const setup = useMutation(
    trpc.billing.startCardSetup.mutationOptions({
      onSuccess: ({ url }) => window.location.assign(url),
      onError: (failure) => setError(formErrorsOf(failure, []).form),
    }),
  );
  const label = data?.paymentMethodLabel ?? null;

  return (
    <Card>
      <CardHeader title="Payment method" />
      <CardBody className="space-y-3">
        {!data ? (
          <Pending query={summary} />
        ) : (
          <>
            <p className="text-sm text-slate-800" data-testid="payment-method">
              {label ?? "No card saved"}
            </p>
            <p className="text-xs text-slate-500">
              Invoices are charged to this card when they are issued.
            </p>
            {workspace.status !== "cancelled" && (
              <Button
                variant="secondary"
                size="sm"
                pending={setup.isPending}
                onClick={() => {
                  setError(undefined);
                  setup.mutate({ workspaceId: workspace.workspaceId });
                }}
              >
                {label ? "Replace card" : "Save a card"}
              </Button>
            )}
            {error && <Alert tone="error">{error}</Alert>}
          </>
        )}
      </CardBody>
    </Card>
  );
}

function UpcomingInvoice({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const upcoming = useQuery(
    trpc.billing.upcomingInvoice.queryOptions(
      { workspaceId: workspace.workspaceId },
      { refetchInterval: REFRESH },
    ),
  );

  return (
    <Card>
      <CardHeader
        title="Upcoming invoice"
        description={
          upcoming.data
            ? `Issued on ${invoiceDate(upcoming.data.issuesAt)} if nothing changes before then.`
            : undefined
        }
      />
      {upcoming.isPending || upcoming.isError ? (
        <CardBody>
          <Pending query={upcoming} />
        </CardBody>
      ) : upcoming.data === null ? (
        <CardBody>
          <p className="text-sm text-slate-600" data-testid="upcoming-empty">
            No invoice is expected at the end of this period yet. Once the period runs with a paid
            tier, extra seats or usage beyond the allowance, its invoice is previewed here.
          </p>
        </CardBody>
      ) : (
        <UpcomingLines upcoming={upcoming.data} />
      )}
    </Card>
  );
}

function UpcomingLines({ upcoming }: { upcoming: Upcoming }) {
  const { totals, currency } = upcoming;
  const rows = [
    { label: "Subtotal", amountMinor: totals.subtotalMinor },
    ...(totals.discountMinor !== 0
      ? [{ label: "Discount", amountMinor: totals.discountMinor }]
      : []),
    ...(totals.taxRateBps > 0
      ? [{ label: `Tax (${percentOfBps(totals.taxRateBps)})`, amountMinor: totals.taxMinor }]
      : []),
    ...(totals.creditAppliedMinor !== 0
      ? [{ label: "Credit applied", amountMinor: totals.creditAppliedMinor }]
      : []),
    { label: "Amount due", amountMinor: totals.amountDueMinor, emphasis: true },
  ];

  return (
    <>
      <LinesTable lines={upcoming.lines} currency={currency} label="Upcoming invoice lines" />
      <CardBody>
        <TotalsList rows={rows} currency={currency} />
      </CardBody>
    </>
  );
}

function OverageForecast({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const forecast = useQuery(
    trpc.billing.overageForecast.queryOptions(
      { workspaceId: workspace.workspaceId },
      { refetchInterval: REFRESH },
    ),
  );
  // Nothing to forecast on a tier that never bills overage.
  if (forecast.data === null || (forecast.data && forecast.data.unitPriceMinor === 0)) return null;

  return (
    <Card>
      <CardHeader
        title="Overage forecast"
        description={
          "Usage beyond the balance this period, billed on the next invoice at the tier's " +
          "overage price."
        }
      />
      <CardBody>
        {!forecast.data ? <Pending query={forecast} /> : <ForecastFacts forecast={forecast.data} />}
      </CardBody>
    </Card>
  );
}

function ForecastFacts({ forecast }: { forecast: Forecast }) {
  const { currency, projection } = forecast;
  const credits = formatCredits;
  const projected = projection
    ? `${credits(projection.projectedOverageCredits)} credits, ` +
      formatMoney(projection.projectedAmountMinor, currency) +
      (projection.capped ? " (capped)" : "")
    : "Too early in the period to project";

  return (
    <dl className="grid gap-4 sm:grid-cols-4" data-testid="overage-forecast">
      <Fact label="Consumed this period">{credits(forecast.consumedCredits)} credits</Fact>
      <Fact label="Overage so far">
        {credits(forecast.overageCreditsSoFar)} credits,{" "}
        {formatMoney(forecast.overageAmountSoFarMinor, currency)}
      </Fact>
      <Fact label="Projected overage">{projected}</Fact>
      <Fact label="Burn rate">
        {projection ? `${credits(projection.creditsPerDay)} credits a day` : "—"}
        {forecast.runsOutAt && (
          <span className="block text-slate-500">
            Balance runs out {invoiceDate(forecast.runsOutAt)}
          </span>
        )}
      </Fact>
      <p className="text-xs text-slate-500 sm:col-span-4">
        Priced at {formatMoney(forecast.unitPriceMinor, currency)} per{" "}
        {credits(forecast.unitCredits)} credits; {forecast.rounding}.
      </p>
    </dl>
  );
}

function Invoices({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const pages = useInfiniteQuery(
    trpc.billing.invoices.infiniteQueryOptions(
      { workspaceId: workspace.workspaceId, limit: 20 },
      { getNextPageParam: (page) => page.nextCursor, refetchInterval: REFRESH },
    ),
  );
  const rows = pages.data?.pages.flatMap((page) => page.invoices) ?? [];

  return (
    <Card>
      <CardHeader title="Invoices" description="Newest first. Open one for its lines and totals." />
      <Table label="Invoices">
        <thead className="bg-slate-50/60">
          <tr>
            <Th>Number</Th>
            <Th>Issued</Th>
            <Th>Period</Th>
            <Th>Status</Th>
            <Th align="right">Total</Th>
            <Th align="right">Due</Th>
            <Th>
              <span className="sr-only">Actions</span>
            </Th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          <QueryRows
            query={pages}
            colSpan={7}
            subject="the invoices"
            isEmpty={rows.length === 0}
            empty="No invoices yet."
          />
          {rows.map((invoice) => (
            <tr key={invoice.id} data-testid="invoice-row">
              <Td className="whitespace-nowrap">
                <Link
                  href={`/w/${workspace.slug}/billing/invoices/${invoice.id}`}
                  className="font-mono text-sm font-medium text-indigo-600 hover:text-indigo-500"
                >
                  {invoice.number}
                </Link>
              </Td>
              <Td className="whitespace-nowrap text-slate-500">
                {invoiceDate(invoice.finalizedAt)}
              </Td>
              <Td className="whitespace-nowrap text-slate-500">
                {invoicePeriod(invoice.periodStart, invoice.periodEnd) ?? "—"}
              </Td>
              <Td>
                <InvoiceStatusBadge status={invoice.status} />
              </Td>
              <Td numeric>{formatMoney(invoice.totalMinor, invoice.currency)}</Td>
              <Td numeric className="text-slate-500">
                {invoice.status === "open" && invoice.dueAt ? invoiceDate(invoice.dueAt) : "—"}
              </Td>
              <Td className="text-right">
                <div className="flex items-center justify-end gap-3">
                  {invoice.status === "open" &&
                    invoice.amountRemainingMinor > 0 &&
                    workspace.status !== "cancelled" && (
                      <PayNow workspace={workspace} invoiceId={invoice.id} />
                    )}
                  <PdfLink invoiceId={invoice.id} />
                </div>
              </Td>
            </tr>
          ))}
        </tbody>
      </Table>
      {pages.hasNextPage && (
        <CardBody className="border-t border-slate-100 text-center">
          <Button
            variant="secondary"
            size="sm"
            pending={pages.isFetchingNextPage}
            onClick={() => pages.fetchNextPage()}
          >
            Show older invoices
          </Button>
        </CardBody>
      )}
    </Card>
  );
}

const paymentStatusTone = {
  pending: "neutral",
  processing: "amber",
  succeeded: "green",
  failed: "red",
} as const;

function Payments({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const history = useQuery(
    trpc.billing.paymentHistory.queryOptions(
      { workspaceId: workspace.workspaceId },
      { refetchInterval: REFRESH },
    ),
  );
  const rows = history.data ?? [];

  return (
    <Card>
      <CardHeader
        title="Payments"
        description="Charges for invoices and credit purchases, paid or not, with their refunds."
      />
      <Table label="Payments">
        <thead className="bg-slate-50/60">
          <tr>
            <Th>Date</Th>
            <Th>For</Th>
            <Th>Method</Th>
            <Th>Status</Th>
            <Th align="right">Amount</Th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          <QueryRows
            query={history}
            colSpan={5}
            subject="the payments"
            isEmpty={rows.length === 0}
            empty="No payments yet."
          />
          {rows.map((payment) => (
            <tr key={`${payment.kind}:${payment.id}`} data-testid="payment-row">
              <Td className="whitespace-nowrap text-slate-500">{invoiceDate(payment.paidAt)}</Td>
              <Td>
                <span className="text-slate-800">{payment.description}</span>
                {payment.kind === "credit_purchase" && payment.invoiceNumber && (
                  <span className="ml-2 font-mono text-xs text-slate-500">
                    {payment.invoiceNumber}
                  </span>
                )}
                {payment.failureMessage && payment.status === "failed" && (
                  <p className="mt-1 text-xs text-red-700">{payment.failureMessage}</p>
                )}
                {payment.refunds.map((refund) => (
                  <p key={refund.id} className="mt-1 text-xs text-slate-500">
                    Refund of {formatMoney(refund.amountMinor, payment.currency)} on{" "}
                    {invoiceDate(refund.createdAt)}: {humanize(refund.status)}
                  </p>
                ))}
              </Td>
              <Td className="text-slate-600">{payment.method}</Td>
              <Td>
                <span className="flex flex-wrap gap-1" data-testid="payment-status">
                  <Badge tone={paymentStatusTone[payment.status]}>
                    {payment.amountRefundedMinor >= payment.amountMinor
                      ? "Refunded"
                      : payment.amountRefundedMinor > 0
                        ? "Partly refunded"
                        : humanize(payment.status)}
                  </Badge>
                  {payment.disputed && <Badge tone="red">Disputed</Badge>}
                </span>
              </Td>
              <Td numeric>{formatMoney(payment.amountMinor, payment.currency)}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </Card>
  );
}

/** Charges an open invoice now with the saved card; the answer or the error shows beside it. */
function PayNow({ workspace, invoiceId }: { workspace: Workspace; invoiceId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [message, setMessage] = useState<string>();
  const pay = useMutation(
    trpc.billing.payInvoice.mutationOptions({
      onSuccess: (result) =>
        setMessage(
          result.status === "failed"
            ? (result.message ?? "The card was declined")
            : result.status === "processing"
              ? "The payment is processing"
              : undefined,
        ),
      onError: (failure) =>
        setMessage(
          formErrorsOf(failure, ["invoiceId"]).fields.invoiceId ?? formErrorsOf(failure, []).form,
        ),
      onSettled: () => queryClient.invalidateQueries(trpc.billing.pathFilter()),
    }),
  );

  return (
    <span className="inline-flex flex-col items-end gap-1">
      <Button
        size="sm"
        pending={pay.isPending}
        onClick={() => {
          setMessage(undefined);
          pay.mutate({ workspaceId: workspace.workspaceId, invoiceId });
        }}
      >
        Pay now
      </Button>
      {message && (
        <span role="alert" className="max-w-56 text-left text-xs whitespace-normal text-red-700">
          {message}
        </span>
      )}
    </span>
  );
}
