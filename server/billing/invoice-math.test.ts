import { describe, expect, it } from "vitest";

import {
  formatInvoiceNumber,
  includedTaxOf,
  lineAmount,
  overageAmount,
  ROUNDING,
  taxOf,
  totalsOf,
  type DraftLine,
} from "./invoice-math";

const line = (kind: DraftLine["kind"], amountMinor: number): DraftLine => ({
  kind,
  description: kind,
  quantity: 1,
  unitAmountMinor: null,
  amountMinor,
  rounding: ROUNDING.exact,
});

describe("tax", () => {
  it("rounds half to even on the minor unit", () => {
    // 1,875 at 10% is 187.5 → 188 (even); 1,825 at 10% is 182.5 → 182 (even).
    expect(taxOf(1_875, 1_000)).toBe(188);
    expect(taxOf(1_825, 1_000)).toBe(182);
    // 7.25% of 1,000 is 72.5 → 72; of 1,001 is 72.5725 → 73.
    expect(taxOf(1_000, 725)).toBe(72);
    expect(taxOf(1_001, 725)).toBe(73);
  });

  it("is credited on a credit, rounded the same way with its sign turned", () => {
    // -500 at 20% is -100; -1,875 at 10% is -187.5 → -188, the mirror of 188.
    expect(taxOf(-500, 2_000)).toBe(-100);
    expect(taxOf(-1_875, 1_000)).toBe(-188);
    expect(taxOf(-1_825, 1_000)).toBe(-182);
    for (const amount of [1, 5, 15, 25, 1_001, 99_995]) {
      expect(taxOf(-amount, 725)).toBe(0 - taxOf(amount, 725));
    }
  });

  it("is nothing on nothing or at a zero rate, and refuses rates out of range", () => {
    expect(taxOf(0, 2_000)).toBe(0);
    expect(taxOf(500, 0)).toBe(0);
    expect(() => taxOf(500, 10_001)).toThrow(RangeError);
    expect(() => taxOf(500, 12.5)).toThrow(RangeError);
  });

  it("finds the tax inside a tax-inclusive price", () => {
    // 1,200 with 20% included holds 200 of tax.
    expect(includedTaxOf(1_200, 2_000)).toBe(200);
  });
});

describe("line amounts", () => {
  it("multiplies whole units exactly, and prices overage per unit of credits, half to even", () => {
    expect(lineAmount(3, 700)).toBe(2_100);
    expect(overageAmount(1_500, 1_000, 250)).toBe(375);
    // 1,002 credits at 2.50 per 1,000 = 250.5 → 250; 1,006 → 251.5 → 252.
    expect(overageAmount(1_002, 1_000, 250)).toBe(250);
    expect(overageAmount(1_006, 1_000, 250)).toBe(252);
    expect(overageAmount(0, 1_000, 250)).toBe(0);
    expect(() => overageAmount(10, 0, 250)).toThrow(RangeError);
  });
});

describe("totals", () => {
  it("are sums of the rounded lines, with tax once on the subtotal after discounts", () => {
    const totals = totalsOf(
      [line("tier_fee", 1_000), line("seats", 500), line("overage", 375), line("discount", -75)],
      1_000,
    );
    expect(totals).toEqual({
      subtotalMinor: 1_875,
      discountMinor: -75,
      taxRateBps: 1_000,
      taxMinor: 180,
      creditAppliedMinor: 0,
      totalMinor: 1_980,
      amountDueMinor: 1_980,
      carriedForwardMinor: 0,
    });
  });

  it("carry a negative total forward, its tax credited with it, instead of paying it out", () => {
    const totals = totalsOf(
      [line("tier_fee", 500), line("proration", -1_500), line("proration", 650)],
      2_000,
    );
    // 500 - 1,500 + 650 = -350; its 20% tax is -70, so -420 is carried: the
    // 3.50 given back and the 0.70 of tax that was paid on it.
    expect(totals).toMatchObject({
      subtotalMinor: -350,
      taxMinor: -70,
      totalMinor: -420,
      amountDueMinor: 0,
      carriedForwardMinor: 420,
    });
  });

  it("apply a carried credit after tax: it lowers what is due, not what is taxed", () => {
    const totals = totalsOf([line("overage", 500), line("credit_applied", -350)], 1_000);
    expect(totals).toMatchObject({ taxMinor: 50, totalMinor: 200, amountDueMinor: 200 });
    // A credit larger than the invoice is carried on again.
    expect(totalsOf([line("overage", 100), line("credit_applied", -350)], 1_000)).toMatchObject({
      totalMinor: -240,
      amountDueMinor: 0,
      carriedForwardMinor: 240,
    });
  });

  it("give zero for no lines, and refuse amounts that are not whole or too large", () => {
    expect(totalsOf([], 1_000)).toMatchObject({ totalMinor: 0, amountDueMinor: 0 });
    expect(() => totalsOf([line("tier_fee", 10.5)], 0)).toThrow(RangeError);
    expect(() =>
      totalsOf([line("tier_fee", 2_000_000_000), line("seats", 2_000_000_000)], 0),
    ).toThrow(RangeError);
    expect(() => totalsOf([line("credit_carried_forward", 1)], 0)).toThrow(RangeError);
  });
});

describe("invoice numbers", () => {
  it("are INV-<year>-<six digits>, from 1", () => {
    expect(formatInvoiceNumber(2027, 42)).toBe("INV-2027-000042");
    expect(formatInvoiceNumber(2028, 1)).toBe("INV-2028-000001");
    expect(() => formatInvoiceNumber(2027, 0)).toThrow(RangeError);
  });
});
