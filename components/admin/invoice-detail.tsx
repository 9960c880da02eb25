"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useId, useState, type FormEvent, type ReactNode } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { InputField } from "@/components/ui/field";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { formatDateTime, formatMoney, humanize } from "@/components/lib/format";
import { formErrorsOf, noErrors, type FormErrors } from "@/components/lib/form-errors";
import type { RouterOutputs } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";

import { DetailUnavailable } from "./detail-unavailable";
import { InvoiceStatusBadge } from "./invoices-list";
import { OutboxEventsTable } from "./outbox-events";

type Detail = RouterOutputs["adminBilling"]["invoice"];
type Party = NonNullable<Detail["seller"]>;

/**
 * One invoice for a platform admin: its header, seller and buyer, lines with
 * how each was rounded, totals, the events about it, and, while it is open,
 * voiding it (with a reason) or writing it off.
 */
export function InvoiceDetail({ invoiceId }: { invoiceId: string }) {
  const trpc = useTRPC();
  const detail = useQuery(trpc.adminBilling.invoice.queryOptions({ invoiceId }));

  if (detail.isPending) return <p className="text-sm text-slate-500">Loading…</p>;
  if (detail.isError) {
    return (
      <DetailUnavailable
        message={detail.error.message}
        back={{ href: "/admin/invoices", label: "Back to all invoices" }}
      />
    );
  }
  const invoice = detail.data;

  return (
    <div className="space-y-6">
      <Header invoice={invoice} />
      <div className="grid gap-6 lg:grid-cols-2">
        <PartyCard title="From" party={invoice.seller} />
        <PartyCard title="To" party={invoice.buyer} />
      </div>
      <LinesCard invoice={invoice} />
      {invoice.status === "open" && <ActionsCard invoice={invoice} />}
      <EventsCard invoice={invoice} />
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

function Header({ invoice }: { invoice: Detail }) {
  return (
    <Card>
      <CardBody className="space-y-4">
        <div className="flex flex-wrap items-center gap-3">
          <h2 className="font-mono text-xl font-semibold text-slate-900">
            {invoice.number ?? "Draft"}
          </h2>
          <span data-testid="invoice-status">
            <InvoiceStatusBadge status={invoice.status} />
          </span>
          <Badge>{humanize(invoice.kind)}</Badge>
          {invoice.status !== "draft" && (
            <a
              href={`/api/invoices/${invoice.id}/pdf`}
              className="ml-auto text-sm font-medium text-indigo-700 hover:underline"
            >
              PDF
            </a>
          )}
        </div>
        <dl className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
          <Fact label="Workspace">
            <Link
              href={`/admin/workspaces/${invoice.workspace.id}`}
              className="text-indigo-700 hover:underline"
            >
              {invoice.workspace.name}
            </Link>
          </Fact>
          <Fact label="Issued">{formatDateTime(invoice.finalizedAt)}</Fact>
          <Fact label="Due">{formatDateTime(invoice.dueAt)}</Fact>
          <Fact label="Period">
            {invoice.periodStart
              ? `${formatDateTime(invoice.periodStart)} – ${formatDateTime(invoice.periodEnd)}`
              : "—"}
          </Fact>
        </dl>
        {invoice.paidAt && (
          <p className="text-sm text-emerald-800">Paid {formatDateTime(invoice.paidAt)}.</p>
        )}
        {invoice.voidedAt && (
          <p className="text-sm text-slate-700" data-testid="void-note">
            Voided {formatDateTime(invoice.voidedAt)}: {invoice.voidReason}
          </p>
        )}
        {invoice.uncollectibleAt && (
          <p className="text-sm text-red-800">
            Marked uncollectible {formatDateTime(invoice.uncollectibleAt)}.
          </p>
        )}
      </CardBody>
    </Card>
  );
}

function PartyCard({ title, party }: { title: string; party: Party | null }) {
  return (
    <Card>
      <CardHeader title={title} />
      <CardBody>
        {party ? (
          <address className="space-y-0.5 text-sm text-slate-800 not-italic">
            <p className="font-medium">{party.name}</p>
            {party.lines?.map((line) => (
              <p key={line}>{line}</p>
            ))}
            {party.email && <p className="text-slate-600">{party.email}</p>}
            {party.taxId && <p className="text-slate-600">Tax id {party.taxId}</p>}
          </address>
        ) : (
          <p className="text-sm text-slate-500">Set when the invoice leaves draft.</p>
        )}
      </CardBody>
    </Card>
  );
}

function LinesCard({ invoice }: { invoice: Detail }) {
  const money = (minor: number) => formatMoney(minor, invoice.currency);

  return (
    <Card>
      <CardHeader
        title="Lines"
        description="Each line is rounded to the minor unit on its own; the totals are sums of the rounded lines."
      />
      <Table label="Invoice lines">
        <thead className="bg-slate-50/60">
          <tr>
            <Th>Description</Th>
            <Th align="right">Quantity</Th>
            <Th align="right">Unit price</Th>
            <Th align="right">Amount</Th>
            <Th>Rounding</Th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {invoice.lines.map((line) => (
            <tr key={line.id} data-testid="invoice-line">
              <Td>
                {line.description}
                <span className="mt-0.5 block text-xs text-slate-400">
                  {humanize(line.kind)}
                  {line.periodStart &&
                    ` · ${formatDateTime(line.periodStart)} – ${formatDateTime(line.periodEnd)}`}
                </span>
              </Td>
              <Td numeric>{line.quantity}</Td>
              <Td numeric>{line.unitAmountMinor === null ? "—" : money(line.unitAmountMinor)}</Td>
              <Td numeric>{money(line.amountMinor)}</Td>
              <Td className="text-xs text-slate-500">{line.rounding}</Td>
            </tr>
          ))}
          {invoice.lines.length === 0 && <EmptyRow colSpan={5}>No lines.</EmptyRow>}
        </tbody>
      </Table>
      <CardBody>
        <dl className="ml-auto max-w-xs space-y-1 text-sm" data-testid="invoice-totals">
          {invoice.totals.map((row) => (
            <div
              key={row.label}
              className={
                row.emphasis
                  ? "flex justify-between border-t border-slate-200 pt-1 font-semibold"
                  : "flex justify-between"
              }
            >
              <dt className="text-slate-600">{row.label}</dt>
              <dd className="text-slate-900 tabular-nums">{money(row.amountMinor)}</dd>
            </div>
          ))}
        </dl>
      </CardBody>
    </Card>
  );
}

function ActionsCard({ invoice }: { invoice: Detail }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [reason, setReason] = useState("");
  const [errors, setErrors] = useState<FormErrors<"reason">>(noErrors);
  const [writeOffError, setWriteOffError] = useState<string>();
  const refresh = () => queryClient.invalidateQueries(trpc.adminBilling.pathFilter());
  const voiding = useMutation(
    trpc.adminBilling.voidInvoice.mutationOptions({ onSettled: refresh }),
  );
  const writingOff = useMutation(
    trpc.adminBilling.markUncollectible.mutationOptions({ onSettled: refresh }),
  );

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setErrors(noErrors);
    try {
      await voiding.mutateAsync({ invoiceId: invoice.id, reason });
    } catch (error) {
      setErrors(formErrorsOf(error, ["reason"]));
    }
  }

  return (
    <Card>
      <CardHeader
        title="Stop collecting"
        description="Void an invoice that was wrong: the prorations and credits it took up go back to the next invoice. Write one off when it will not be paid: it stands as issued."
      />
      <CardBody className="grid gap-6 lg:grid-cols-2">
        <form onSubmit={submit} noValidate className="space-y-4">
          {errors.form && <Alert tone="error">{errors.form}</Alert>}
          <InputField
            id={`${id}-reason`}
            label="Reason for voiding"
            hint="Kept on the invoice's record and in the audit trail."
            error={errors.fields.reason}
            value={reason}
            placeholder="Billed on the wrong tier"
            onChange={(event) => setReason(event.target.value)}
          />
          <Button type="submit" variant="danger" pending={voiding.isPending}>
            Void invoice
          </Button>
        </form>
        <div className="space-y-4">
          {writeOffError && <Alert tone="error">{writeOffError}</Alert>}
          <p className="text-sm text-slate-600">
            {formatMoney(invoice.amountRemainingMinor, invoice.currency)} is due. Writing it off
            keeps the invoice and its number and stops collection.
          </p>
          <Button
            variant="secondary"
            pending={writingOff.isPending}
            onClick={async () => {
              setWriteOffError(undefined);
              try {
                await writingOff.mutateAsync({ invoiceId: invoice.id });
              } catch (error) {
                setWriteOffError(formErrorsOf(error, []).form);
              }
            }}
          >
            Mark uncollectible
          </Button>
        </div>
      </CardBody>
    </Card>
  );
}

function EventsCard({ invoice }: { invoice: Detail }) {
  return (
    <Card>
      <CardHeader
        title="Events"
        description="Every event in the outbox about this invoice, oldest first."
      />
      <OutboxEventsTable label="Invoice events" events={invoice.events} rowTestId="invoice-event" />
    </Card>
  );
}
