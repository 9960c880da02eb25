/**
 * When the credits run out at the recent burn rate. Pure and integer-only.
 *
 * The burn rate is the credits consumed over a trailing window. Grants are
 * walked in the order consumption draws them; a grant that expires before
 * the burn reaches it, or before it is used up, loses the rest, so credits
 * that will lapse unused do not push the date out. Time is in whole
 * milliseconds and the arithmetic is BigInt, so large balances over long
 * windows neither overflow nor round through floating point.
 */
export interface ForecastGrant {
  remaining: number;
  expiresAt: Date | null;
}

export interface ForecastInput {
  now: Date;
  /** Grants with credits left, in draw order (see ledger.ts drawCredits). */
  grants: ForecastGrant[];
  /** Credits consumed during the window that ends now. */
  consumedInWindow: number;
  windowMs: number;
}

export type Forecast =
  | { kind: "no_usage" }
  | { kind: "empty" }
  /** Lasts longer than the horizon: a date that far out means nothing. */
  | { kind: "beyond_horizon"; creditsPerDay: number }
  | {
      kind: "runs_out";
      runsOutAt: Date;
      /** Whole credits per day at the window's rate, rounded up. */
      creditsPerDay: number;
      /** Credits that will expire before they are used at this rate. */
      lapsing: number;
    };

const DAY_MS = 86_400_000n;
export const FORECAST_HORIZON_DAYS = 3_650;

export function forecastDepletion(input: ForecastInput): Forecast {
  if (!Number.isSafeInteger(input.windowMs) || input.windowMs <= 0) {
    throw new Error("The forecast window must be a positive whole number of milliseconds");
  }
  if (input.grants.every((grant) => grant.remaining <= 0)) return { kind: "empty" };
  if (input.consumedInWindow <= 0) return { kind: "no_usage" };

  const consumed = BigInt(input.consumedInWindow);
  const window = BigInt(input.windowMs);
  const start = BigInt(input.now.getTime());
  let cursor = start;
  let lapsing = 0;
  for (const grant of input.grants) {
    if (grant.remaining <= 0) continue;
    const expires = grant.expiresAt === null ? null : BigInt(grant.expiresAt.getTime());
    if (expires !== null && expires <= cursor) {
      lapsing += grant.remaining;
      continue;
    }
    // Time to burn this grant, rounded down: never promise a moment later than the rate allows.
    const burnMs = (BigInt(grant.remaining) * window) / consumed;
    if (expires !== null && cursor + burnMs > expires) {
      const usedMs = expires - cursor;
      lapsing += grant.remaining - Number((usedMs * consumed) / window);
      cursor = expires;
    } else {
      cursor += burnMs;
    }
  }
  const creditsPerDay = Number((consumed * DAY_MS + window - 1n) / window);
  if (cursor - start > BigInt(FORECAST_HORIZON_DAYS) * DAY_MS) {
    return { kind: "beyond_horizon", creditsPerDay };
  }

  return { kind: "runs_out", runsOutAt: new Date(Number(cursor)), creditsPerDay, lapsing };
}
