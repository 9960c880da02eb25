/**
 * Money is an integer amount of the currency's minor unit plus an ISO 4217
 * code: 4900 USD is $49.00, 500 JPY is ¥500. Nothing here uses floating
 * point. This module has no dependencies, so pages may import it too.
 */
export interface Money {
  amountMinor: number;
  currency: string;
}

const CURRENCY = /^[A-Z]{3}$/;

/**
 * Digits after the decimal point for a currency (2 for USD, 0 for JPY, 3 for KWD), from Intl's
 * data.
 */
export function minorUnitDigits(currency: string): number {
  if (!CURRENCY.test(currency)) throw new RangeError(`Not an ISO 4217 currency code: ${currency}`);

  return (
    new Intl.NumberFormat("en-US", { style: "currency", currency }).resolvedOptions()
      .maximumFractionDigits ?? 2
  );
}

/** The exact decimal string of an amount in major units: 4900 USD → "49.00", -5 USD → "-0.05". */
export function toDecimalString(amountMinor: number, currency: string): string {
  if (!Number.isSafeInteger(amountMinor))
    throw new RangeError("Money amounts are whole minor units");
  const digits = minorUnitDigits(currency);
  const sign = amountMinor < 0 ? "-" : "";
  const abs = BigInt(Math.abs(amountMinor));
  if (digits === 0) return `${sign}${abs}`;
  const scale = 10n ** BigInt(digits);

  return `${sign}${abs / scale}.${(abs % scale).toString().padStart(digits, "0")}`;
}

/** "$49.00", "¥500", "-€0.05": formatted from the exact decimal string, never a float. */
export function formatMoney(amountMinor: number, currency: string, locale = "en-US"): string {
  const format = new Intl.NumberFormat(locale, {
    style: "currency",
    currency,
  }) as Intl.NumberFormat & {
    format(value: number | bigint | string): string;
  };

  return format.format(toDecimalString(amountMinor, currency));
}
