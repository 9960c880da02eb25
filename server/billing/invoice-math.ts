/**
 * Invoice arithmetic. Pure: no I/O, integers only. Every line is rounded to
 * the minor unit on its own and says how; the subtotal is the sum of the
 * rounded lines, tax is computed once on the subtotal after discounts, and
 * the total is subtotal + tax. A subtotal below zero (a prorated credit
 * larger than the charges) has negative tax: the tax paid on the part given
 * back is given back with it, rounded half-even the same way as a charge's.
 * A total below zero is never paid out: the invoice adds a line that carries
 * the credit, tax included, to the next invoice, so it totals zero and the
 * credit is kept as a billing adjustment. A credit carried from an earlier
 * invoice is applied after tax, like a customer balance: it already holds
 * its tax, so it lowers what is due, not what is taxed.
 */
import { divideHalfEven } from "./proration";

export type InvoiceLineKind =
  | "tier_fee"
  | "seats"
  | "overage"
  | "proration"
  | "purchase"
  | "discount"
  | "credit_applied"
  | "credit_carried_forward";

/** How a line's amount was rounded, printed on the invoice. */
export const ROUNDING = {
  exact: "exact: whole units at a whole price",
  halfEven: "half-even to the minor unit",
  prorated: "prorated by the second, half-even to the minor unit",
} as const;

export interface DraftLine {
  kind: InvoiceLineKind;
  description: string;
  quantity: number;
  /** Price of one unit, when the line is quantity × unit price. */
  unitAmountMinor: number | null;
  /** Signed: charges positive, credits and discounts negative. */
  amountMinor: number;
  rounding: string;
  periodStart?: Date | null;
  periodEnd?: Date | null;
  /** The billing adjustment the line takes up. */
  adjustmentId?: string | null;
}

export interface InvoiceTotals {
  /** Sum of the charges and prorations: every line but discounts and credits. */
  subtotalMinor: number;
  /** Sum of the discount lines, zero or negative. */
  discountMinor: number;
  taxRateBps: number;
  taxMinor: number;
  /** Sum of the credit_applied lines, zero or negative. */
  creditAppliedMinor: number;
  /** subtotal + discount + tax + credit applied, before any credit carried on; can be negative. */
  totalMinor: number;
  /** What the customer pays: the total, or zero when the lines leave a credit. */
  amountDueMinor: number;
  /** The credit left for the next invoice, zero or positive. */
  carriedForwardMinor: number;
}

const MAX_MINOR = 2_147_483_647;

function checkedSum(values: number[]): number {
  let sum = 0n;
  for (const value of values) {
    if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not a whole minor amount`);
    sum += BigInt(value);
  }
  if (sum > BigInt(MAX_MINOR) || sum < -BigInt(MAX_MINOR)) {
    throw new RangeError("An invoice amount is larger than Tally can store");
  }

  return Number(sum);
}

/**
 * Tax on `taxableMinor` at `rateBps` basis points, half-even to the minor
 * unit. Symmetric: a credit's tax is the charge's tax with its sign turned,
 * so taxOf(-x) === -taxOf(x).
 */
export function taxOf(taxableMinor: number, rateBps: number): number {
  if (!Number.isInteger(rateBps) || rateBps < 0 || rateBps > 10_000) {
    throw new RangeError(`A tax rate of ${rateBps} basis points is out of range`);
  }
  if (taxableMinor === 0 || rateBps === 0) return 0;

  return Number(divideHalfEven(BigInt(taxableMinor) * BigInt(rateBps), 10_000n));
}

/** quantity × unit price, exact. */
export function lineAmount(quantity: number, unitAmountMinor: number): number {
  return checkedSum([Number(BigInt(quantity) * BigInt(unitAmountMinor))]);
}

/**
 * `credits` of overage priced at `unitPriceMinor` per `unitCredits` credits:
 * credits × price / unit, half-even to the minor unit.
 */
export function overageAmount(
  credits: number,
  unitCredits: number,
  unitPriceMinor: number,
): number {
  if (credits <= 0 || unitPriceMinor <= 0) return 0;
  if (unitCredits <= 0) throw new RangeError("An overage unit holds at least one credit");

  return Number(divideHalfEven(BigInt(credits) * BigInt(unitPriceMinor), BigInt(unitCredits)));
}

/**
 * The tax contained in a tax-inclusive amount: amount × rate / (1 + rate),
 * half-even to the minor unit.
 */
export function includedTaxOf(grossMinor: number, rateBps: number): number {
  taxOf(0, rateBps);
  if (grossMinor <= 0 || rateBps === 0) return 0;

  return Number(divideHalfEven(BigInt(grossMinor) * BigInt(rateBps), 10_000n + BigInt(rateBps)));
}

/**
 * The totals of an invoice's lines (without any carried-credit line) at a tax
 * rate. Prices are tax-exclusive unless `taxInclusive`: then the lines
 * already hold the tax (a credit pack's price is what the customer paid), the
 * tax shown is the part of them that is tax, and the subtotal is the rest.
 */
export function totalsOf(
  lines: readonly DraftLine[],
  taxRateBps: number,
  options: { taxInclusive?: boolean } = {},
): InvoiceTotals {
  const sumOf = (kinds: readonly InvoiceLineKind[]) =>
    checkedSum(lines.filter((line) => kinds.includes(line.kind)).map((line) => line.amountMinor));
  const subtotalMinor = sumOf(["tier_fee", "seats", "overage", "proration", "purchase"]);
  const discountMinor = sumOf(["discount"]);
  const creditAppliedMinor = sumOf(["credit_applied"]);
  if (lines.some((line) => line.kind === "credit_carried_forward")) {
    throw new RangeError("The carried credit is added by totalsOf's caller, not passed in");
  }
  if (options.taxInclusive) {
    const taxMinor = includedTaxOf(subtotalMinor + discountMinor, taxRateBps);
    const totalMinor = checkedSum([subtotalMinor, discountMinor, creditAppliedMinor]);

    return {
      subtotalMinor: subtotalMinor - taxMinor,
      discountMinor,
      taxRateBps,
      taxMinor,
      creditAppliedMinor,
      totalMinor,
      amountDueMinor: Math.max(0, totalMinor),
      carriedForwardMinor: Math.max(0, -totalMinor),
    };
  }
  const taxMinor = taxOf(subtotalMinor + discountMinor, taxRateBps);
  const totalMinor = checkedSum([subtotalMinor, discountMinor, taxMinor, creditAppliedMinor]);

  return {
    subtotalMinor,
    discountMinor,
    taxRateBps,
    taxMinor,
    creditAppliedMinor,
    totalMinor,
    amountDueMinor: Math.max(0, totalMinor),
    carriedForwardMinor: Math.max(0, -totalMinor),
  };
}

/** INV-2027-000042: the year the invoice left draft, and its number in that year. */
export function formatInvoiceNumber(year: number, sequence: number): string {
  if (!Number.isInteger(sequence) || sequence < 1) throw new RangeError("Numbers start at 1");

  return `INV-${year}-${String(sequence).padStart(6, "0")}`;
}
