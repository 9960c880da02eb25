import { minorUnitDigits, toDecimalString } from "@/server/money";

export type ParsedMoney = { ok: true; amountMinor: number } | { ok: false; message: string };

/**
 * A price typed by a person ("29", "29.9", "1,299.00") as whole minor units
 * of `currency`, read digit by digit so no floating point is involved.
 * Refuses more decimals than the currency has (¥ has none, $ two).
 */
export function parseMoneyInput(text: string, currency: string): ParsedMoney {
  let digits: number;
  try {
    digits = minorUnitDigits(currency);
  } catch {
    return { ok: false, message: "Choose a three-letter currency code first, e.g. USD" };
  }
  const value = text.trim().replace(/,/g, "");
  const match = /^(\d+)(?:\.(\d*))?$/.exec(value);
  if (!match) return { ok: false, message: "Enter a price such as 29.00" };
  const [, whole = "", fraction = ""] = match;
  if (fraction.length > digits) {
    return {
      ok: false,
      message:
        digits === 0
          ? `${currency} has no minor unit; enter a whole amount`
          : `${currency} has ${digits} decimal places at most`,
    };
  }
  const minor = BigInt(whole + fraction.padEnd(digits, "0"));
  if (minor > BigInt(Number.MAX_SAFE_INTEGER))
    return { ok: false, message: "That price is too large" };

  return { ok: true, amountMinor: Number(minor) };
}

/** The other way: 2900 USD → "29.00", for filling the field when editing. */
export function moneyInputValue(amountMinor: number, currency: string): string {
  return toDecimalString(amountMinor, currency);
}
