import { Badge } from "@/components/ui/badge";
import { Table, Td, Th } from "@/components/ui/table";
import { formatMoney } from "@/components/lib/format";
import {
  invoicePeriod,
  statusLabels,
  type InvoiceStatus,
  type TotalRow,
} from "@/server/billing/invoice-view";

const statusTones = {
  draft: "neutral",
  open: "amber",
  paid: "green",
  void: "neutral",
  uncollectible: "red",
} as const;

/** Draft, Open, Paid, Void or Uncollectible, coloured by what it asks of the customer. */
export function InvoiceStatusBadge({ status }: { status: InvoiceStatus }) {
  return (
    <Badge tone={statusTones[status]} className="whitespace-nowrap">
      {statusLabels[status]}
    </Badge>
  );
}

/** The download link of a finalized invoice's PDF; its accessible name is "PDF". */
export function PdfLink({ invoiceId }: { invoiceId: string }) {
  return (
    <a
      href={`/api/invoices/${invoiceId}/pdf`}
      download
      className="text-sm font-medium text-indigo-600 hover:text-indigo-500"
    >
      PDF
    </a>
  );
}

/** Subtotal to amount due, right-aligned under a table of lines. */
export function TotalsList({ rows, currency }: { rows: readonly TotalRow[]; currency: string }) {
  return (
    <dl className="ml-auto w-full max-w-xs space-y-1.5 text-sm">
      {rows.map((row) => (
        <div
          key={row.label}
          className={
            row.emphasis
              ? "flex justify-between border-t border-slate-300 pt-2 font-semibold text-slate-900"
              : "flex justify-between text-slate-600"
          }
        >
          <dt>{row.label}</dt>
          <dd className="tabular-nums">{formatMoney(row.amountMinor, currency)}</dd>
        </div>
      ))}
    </dl>
  );
}

interface PrintedLine {
  description: string;
  quantity: number;
  unitAmountMinor: number | null;
  amountMinor: number;
  rounding: string;
  periodStart?: Date | null;
  periodEnd?: Date | null;
}

/** An invoice's lines with their periods and rounding notes. */
export function LinesTable({
  lines,
  currency,
  label,
}: {
  lines: readonly PrintedLine[];
  currency: string;
  label: string;
}) {
  return (
    <Table label={label}>
      <thead className="bg-slate-50/60">
        <tr>
          <Th>Description</Th>
          <Th align="right">Qty</Th>
          <Th align="right">Unit price</Th>
          <Th align="right">Amount</Th>
        </tr>
      </thead>
      <tbody className="divide-y divide-slate-100">
        {lines.map((line, index) => {
          const period = invoicePeriod(line.periodStart, line.periodEnd);

          return (
            <tr key={index} data-testid="invoice-line">
              <Td>
                <p className="font-medium text-slate-800">{line.description}</p>
                {period && <p className="text-xs text-slate-500">{period}</p>}
                <p className="text-xs text-slate-500">Rounding: {line.rounding}</p>
              </Td>
              <Td numeric>{line.quantity.toLocaleString("en-US")}</Td>
              <Td numeric>
                {line.unitAmountMinor === null ? "" : formatMoney(line.unitAmountMinor, currency)}
              </Td>
              <Td numeric>{formatMoney(line.amountMinor, currency)}</Td>
            </tr>
          );
        })}
      </tbody>
    </Table>
  );
}
