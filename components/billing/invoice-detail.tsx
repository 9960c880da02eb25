"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";

import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { appCodeOf } from "@/components/lib/form-errors";
import { canManageBilling } from "@/components/lib/roles";
import type { RouterOutputs, Workspace } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";
import { NeedsAdmin } from "@/components/workspaces/needs-admin";
import { useWorkspace } from "@/components/workspaces/use-workspace";
import { invoiceDate, invoicePeriod } from "@/server/billing/invoice-view";

import { InvoiceStatusBadge, LinesTable, PdfLink, TotalsList } from "./invoice-parts";

type Details = RouterOutputs["billing"]["invoice"];
type Party = NonNullable<Details["seller"]>;

/** One invoice as its PDF prints it: parties, dates, lines with rounding notes, totals. */
export function InvoiceDetailPage({ slug, invoiceId }: { slug: string; invoiceId: string }) {
  const workspace = useWorkspace(slug);
  if (!workspace.data) return null;
  if (!canManageBilling(workspace.data.role)) {
    return (
      <NeedsAdmin title="Billing is for billing members">
        Ask an owner or admin of this workspace for the billing role to see its invoices.
      </NeedsAdmin>
    );
  }

  return <InvoiceDetail workspace={workspace.data} invoiceId={invoiceId} />;
}

function InvoiceDetail({ workspace, invoiceId }: { workspace: Workspace; invoiceId: string }) {
  const trpc = useTRPC();
  const invoice = useQuery(
    trpc.billing.invoice.queryOptions({ workspaceId: workspace.workspaceId, invoiceId }),
  );
  const back = (
    <Link
      href={`/w/${workspace.slug}/billing`}
      className="text-sm font-medium text-indigo-600 hover:text-indigo-500"
    >
      ← Billing
    </Link>
  );

  if (!invoice.data) {
    const missing =
      invoice.isError && ["not_found", "invalid_request"].includes(appCodeOf(invoice.error) ?? "");

    return (
      <div className="space-y-4">
        {back}
        <Card>
          <CardBody className="py-8 text-center text-sm text-slate-600">
            {invoice.isPending
              ? "Loading…"
              : missing
                ? "There is no such invoice in this workspace."
                : `Could not load the invoice: ${invoice.error?.message}`}
          </CardBody>
        </Card>
      </div>
    );
  }

  const data = invoice.data;

  return (
    <div className="space-y-4">
      {back}
      <Card>
        <CardHeader
          title={
            <span className="flex items-center gap-3">
              <span className="font-mono">Invoice {data.number}</span>
              <InvoiceStatusBadge status={data.status} />
            </span>
          }
          description={
            data.status === "void"
              ? `Voided${data.voidedAt ? ` on ${invoiceDate(data.voidedAt)}` : ""}${data.voidReason ? `: ${data.voidReason}` : ""}. Nothing is owed on it.`
              : undefined
          }
          action={<PdfLink invoiceId={data.id} />}
        />
        <CardBody>
          <dl className="grid gap-4 text-sm sm:grid-cols-2 lg:grid-cols-4">
            <PartyFact label="From" party={data.seller} />
            <PartyFact label="Bill to" party={data.buyer} />
            <div className="space-y-2">
              <DateFact label="Issued" value={data.finalizedAt} />
              <DateFact label="Due" value={data.dueAt} />
              <DateFact label="Paid" value={data.paidAt} />
            </div>
            <div>
              <dt className="text-xs font-medium tracking-wide text-slate-500 uppercase">Period</dt>
              <dd className="text-slate-800">
                {invoicePeriod(data.periodStart, data.periodEnd) ?? "—"}
              </dd>
            </div>
          </dl>
        </CardBody>
        <LinesTable lines={data.lines} currency={data.currency} label="Invoice lines" />
        <CardBody className="border-t border-slate-100">
          <TotalsList rows={data.totals} currency={data.currency} />
        </CardBody>
      </Card>
    </div>
  );
}

function PartyFact({ label, party }: { label: string; party: Party | null }) {
  return (
    <div>
      <dt className="text-xs font-medium tracking-wide text-slate-500 uppercase">{label}</dt>
      <dd className="text-slate-800">
        <p className="font-medium">{party?.name ?? "—"}</p>
        {party?.lines?.map((line) => (
          <p key={line}>{line}</p>
        ))}
        {party?.email && <p>{party.email}</p>}
        {party?.taxId && <p>Tax ID {party.taxId}</p>}
      </dd>
    </div>
  );
}

function DateFact({ label, value }: { label: string; value: Date | null }) {
  if (!value) return null;

  return (
    <div>
      <dt className="text-xs font-medium tracking-wide text-slate-500 uppercase">{label}</dt>
      <dd className="text-slate-800">{invoiceDate(value)}</dd>
    </div>
  );
}
