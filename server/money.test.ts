import { describe, expect, it } from "vitest";

import { formatMoney, minorUnitDigits, toDecimalString } from "./money";

describe("money", () => {
  it("knows each currency's minor unit", () => {
    expect(minorUnitDigits("USD")).toBe(2);
    expect(minorUnitDigits("JPY")).toBe(0);
    expect(minorUnitDigits("KWD")).toBe(3);
    expect(() => minorUnitDigits("usd")).toThrow(RangeError);
  });

  it.each([
    [4900, "USD", "49.00", "$49.00"],
    [5, "USD", "0.05", "$0.05"],
    [-5, "EUR", "-0.05", "-€0.05"],
    [500, "JPY", "500", "¥500"],
    [1234, "KWD", "1.234", "KWD 1.234"],
    [9_007_199_254_740_991, "USD", "90071992547409.91", "$90,071,992,547,409.91"],
  ])("%i %s is %s, shown as %s", (amount, currency, decimal, shown) => {
    expect(toDecimalString(amount, currency)).toBe(decimal);
    expect(formatMoney(amount, currency).replace(/\u00a0/g, " ")).toBe(shown);
  });

  it("refuses fractional minor units", () => {
    expect(() => toDecimalString(1.5, "USD")).toThrow(RangeError);
  });
});
