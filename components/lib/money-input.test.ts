import { describe, expect, it } from "vitest";

import { moneyInputValue, parseMoneyInput } from "./money-input";

describe("parseMoneyInput", () => {
  it.each([
    ["29", "USD", 2_900],
    ["29.9", "USD", 2_990],
    ["1,299.05", "USD", 129_905],
    [" 0.07 ", "EUR", 7],
    ["500", "JPY", 500],
    ["1.234", "KWD", 1_234],
    ["29.", "USD", 2_900],
  ])("reads %j %s as %d minor units", (text, currency, expected) => {
    expect(parseMoneyInput(text, currency)).toEqual({ ok: true, amountMinor: expected });
  });

  it("keeps exact cents where floating point would not (0.29 × 100 is 28.999…)", () => {
    expect(parseMoneyInput("0.29", "USD")).toEqual({ ok: true, amountMinor: 29 });
    expect(parseMoneyInput("1.15", "USD")).toEqual({ ok: true, amountMinor: 115 });
  });

  it.each([
    ["", "USD"],
    ["abc", "USD"],
    ["-5", "USD"],
    ["1e3", "USD"],
    ["29.999", "USD"],
    ["5.5", "JPY"],
    ["9".repeat(20), "USD"],
    ["5", "usd"],
  ])("refuses %j in %s", (text, currency) => {
    expect(parseMoneyInput(text, currency).ok).toBe(false);
  });

  it("round-trips with moneyInputValue", () => {
    for (const [minor, currency] of [
      [2_900, "USD"],
      [7, "EUR"],
      [500, "JPY"],
    ] as const) {
      expect(parseMoneyInput(moneyInputValue(minor, currency), currency)).toEqual({
        ok: true,
        amountMinor: minor,
      });
    }
  });
});
