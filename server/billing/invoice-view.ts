/**
 * How a finalized invoice reads, for its PDF, its email and the portal: the
 * same dates, percentages and totals everywhere. Pure and free of
 * dependencies beyond money formatting, so pages may import it too. Nothing
 * is computed that the invoice does not already hold; the rows only arrange
 * its stored totals.
 */

export type InvoiceStatus = "draft" | "open" | "paid" | "void" | "uncollectible";

/** The stored totals of an invoice, as the view needs them. */
export interface InvoiceAmounts {
  status: InvoiceStatus;
  /** "purchase" invoices are tax-inclusive: their price is what was paid. */
  kind: string;
  subtotalMinor: number;
  discountMinor: number;
  taxRateBps: number;
  taxMinor: number;
  totalMinor: number;
  amountDueMinor: number;
  amountPaidMinor: number;
}

/** The lines' kinds and amounts, for the credit rows of the totals. */
export interface InvoiceLineAmount {
  kind: string;
  amountMinor: number;
}

export interface TotalRow {
  label: string;
  amountMinor: number;
  /** The last row, what is still to pay: printed bold. */
  emphasis?: boolean;
}

/** 2000 → "20%", 725 → "7.25%", 1750 → "17.5%": basis points as a percentage, integers only. */
export function percentOfBps(bps: number): string {
  const whole = Math.trunc(bps / 100);
  const fraction = String(bps % 100)
    .padStart(2, "0")
    .replace(/0+$/, "");

  return fraction === "" ? `${whole}%` : `${whole}.${fraction}%`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * "19 Jan 2027": invoices are read anywhere, so their dates are those of
 * UTC, spelled the same whatever the runtime's locale data.
 */
export function invoiceDate(instant: Date | string): string {
  const date = new Date(instant);

  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}`;
}

/**
 * A period [start, end) as printed, from the day it starts to the day it
 * ends. Periods run from an instant to the same instant months later, so
 * the end's day is also the next period's first.
 */
export function invoicePeriod(
  start: Date | string | null | undefined,
  end: Date | string | null | undefined,
): string | null {
  if (!start || !end) return null;

  return `${invoiceDate(start)} – ${invoiceDate(end)}`;
}

export const statusLabels: Record<InvoiceStatus, string> = {
  draft: "Draft",
  open: "Open",
  paid: "Paid",
  void: "Void",
  uncollectible: "Uncollectible",
};

/**
 * What is still to pay: the due amount less what was paid on an open
 * invoice, nothing otherwise (a void or uncollectible invoice is no longer
 * collected, a paid one is settled). `amountRemainingSql` in ./invoices is
 * the same rule for queries that sum it.
 */
export function amountRemainingMinor(
  invoice: Pick<InvoiceAmounts, "status" | "amountDueMinor" | "amountPaidMinor">,
): number {
  if (invoice.status !== "open") return 0;

  return Math.max(0, invoice.amountDueMinor - invoice.amountPaidMinor);
}

/**
 * The totals block in print order. Subtotal, total and the amount remaining
 * are always shown; discount, tax, credits and payments when they are not
 * zero (tax also whenever the currency has a rate). The credit rows come
 * from the lines, so every row is a sum of printed, rounded amounts.
 *
 * A purchase invoice's prices include tax, so its lines add up to the total,
 * not to a subtotal before tax: it reads "Total (tax included)", then the
 * tax inside that total and the net amount without it.
 */
export function totalRows(
  invoice: InvoiceAmounts,
  lines: readonly InvoiceLineAmount[],
): TotalRow[] {
  const sumOf = (kind: string) =>
    lines.filter((line) => line.kind === kind).reduce((sum, line) => sum + line.amountMinor, 0);
  const tax = `Tax (${percentOfBps(invoice.taxRateBps)})`;
  const taxShown = invoice.taxRateBps > 0 || invoice.taxMinor !== 0;
  const taxInclusive = invoice.kind === "purchase";
  const rows: (TotalRow & { shown: boolean })[] = [
    ...(taxInclusive
      ? [
          { label: "Discount", amountMinor: invoice.discountMinor, shown: false },
          {
            label: taxShown ? "Total (tax included)" : "Total",
            amountMinor: invoice.totalMinor,
            shown: true,
          },
          ...(taxShown
            ? [
                {
                  label: `of which ${tax.toLowerCase()}`,
                  amountMinor: invoice.taxMinor,
                  shown: true,
                },
                {
                  label: "Net of tax",
                  amountMinor: invoice.subtotalMinor + invoice.discountMinor,
                  shown: true,
                },
              ]
            : []),
        ]
      : [
          { label: "Subtotal", amountMinor: invoice.subtotalMinor, shown: true },
          { label: "Discount", amountMinor: invoice.discountMinor, shown: false },
          { label: tax, amountMinor: invoice.taxMinor, shown: taxShown },
          { label: "Credit applied", amountMinor: sumOf("credit_applied"), shown: false },
          {
            label: "Credit carried forward",
            amountMinor: sumOf("credit_carried_forward"),
            shown: false,
          },
          { label: "Total", amountMinor: invoice.totalMinor, shown: true },
        ]),
    { label: "Amount paid", amountMinor: -invoice.amountPaidMinor, shown: false },
    {
      label: "Amount due",
      amountMinor: amountRemainingMinor(invoice),
      shown: true,
      emphasis: true,
    },
  ];

  return rows
    .filter((row) => row.shown || row.amountMinor !== 0)
    .map(({ shown: _shown, ...row }) => row);
}
