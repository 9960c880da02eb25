import type { InvoiceParty } from "@/drizzle/schema";
import type { Env } from "@/server/env";

/** What invoicing needs from the configuration: tax rates, the seller, the payment terms. */
export interface BillingConfig {
  /** Basis points per currency (2000 = 20%); a currency not listed pays no tax. */
  taxRatesBps: Readonly<Record<string, number>>;
  seller: InvoiceParty;
  dueDays: number;
  /** Days after the first failed charge of an invoice on which dunning retries it, ascending. */
  dunningRetryDays: readonly number[];
}

export const DEFAULT_DUNNING_RETRY_DAYS = [1, 3, 5, 7] as const;

/**
 * `1,3,5,7` → [1, 3, 5, 7]: whole days after the first failure, strictly
 * ascending, 1 to 60, at most 10 retries.
 */
export function parseRetryDays(source: string | undefined): number[] {
  if (source === undefined || source.trim() === "") return [...DEFAULT_DUNNING_RETRY_DAYS];
  const days = source.split(",").map((part) => part.trim());
  const parsed: number[] = [];
  for (const day of days) {
    if (!/^\d{1,2}$/.test(day) || Number(day) < 1 || Number(day) > 60) {
      throw new Error(
        `TALLY_DUNNING_RETRY_DAYS: "${day}" is not a whole number of days from 1 to 60`,
      );
    }
    const value = Number(day);
    if (parsed.length > 0 && value <= parsed[parsed.length - 1]!) {
      throw new Error("TALLY_DUNNING_RETRY_DAYS: list the days in ascending order, e.g. 1,3,5,7");
    }
    parsed.push(value);
  }
  if (parsed.length > 10) throw new Error("TALLY_DUNNING_RETRY_DAYS: at most 10 retries");

  return parsed;
}

/**
 * `EUR=20,GBP=17.5` → { EUR: 2000, GBP: 1750 }. Percentages are parsed as
 * text, never through floating point; at most two decimals.
 */
export function parseTaxRates(source: string | undefined): Record<string, number> {
  const rates: Record<string, number> = {};
  if (!source) return rates;
  for (const part of source.split(",")) {
    const entry = part.trim();
    if (entry === "") continue;
    const match = /^([A-Z]{3})\s*=\s*(\d{1,3})(?:\.(\d{1,2}))?\s*%?$/.exec(entry);
    if (!match) {
      throw new Error(
        `TALLY_TAX_RATES: "${entry}" is not CURRENCY=percent, e.g. EUR=20 or USD=7.25`,
      );
    }
    const [, currency, whole, fraction = ""] = match;
    const bps = Number(whole) * 100 + Number(fraction.padEnd(2, "0"));
    if (bps > 10_000) throw new Error(`TALLY_TAX_RATES: ${currency} is above 100%`);
    if (currency! in rates) throw new Error(`TALLY_TAX_RATES: ${currency} is listed twice`);
    rates[currency!] = bps;
  }

  return rates;
}

export function billingConfigFrom(env: Env): BillingConfig {
  return {
    taxRatesBps: parseTaxRates(env.TALLY_TAX_RATES),
    seller: {
      name: env.TALLY_SELLER_NAME,
      email: env.TALLY_SELLER_EMAIL ?? null,
      lines: (env.TALLY_SELLER_ADDRESS ?? "")
        .split("|")
        .map((line) => line.trim())
        .filter((line) => line !== ""),
      taxId: env.TALLY_SELLER_TAX_ID ?? null,
    },
    dueDays: env.TALLY_INVOICE_DUE_DAYS,
    dunningRetryDays: parseRetryDays(env.TALLY_DUNNING_RETRY_DAYS),
  };
}

export function taxRateFor(config: BillingConfig, currency: string): number {
  return config.taxRatesBps[currency] ?? 0;
}
