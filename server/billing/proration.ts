/**
 * Proration, the way Stripe prorates a subscription change, by the second.
 * Pure: no I/O, integer arithmetic only. Billing (invoices) reuses it.
 *
 * A change at `at` inside the period [start, end) credits the unused part of
 * the old price and charges the same part of the new one:
 *
 *   credit = −old × (end − at) / (end − start)
 *   charge = +new × (end − at) / (end − start)
 *
 * Each line is rounded to the minor unit on its own, half to even (banker's
 * rounding: 2.5 → 2, 3.5 → 4, −2.5 → −2), so rounding does not drift one way
 * over many changes. Times count in whole seconds: `at` is truncated to its
 * second, and the period's bounds are whole seconds apart (they share the
 * anchor's time of day).
 *
 * Example: 1,000 → 2,000 exactly halfway: −500 and +1,000, net +500.
 */

export interface ProrationWindow {
  periodStart: Date;
  periodEnd: Date;
  /** When the change takes effect; start ≤ at ≤ end. */
  at: Date;
}

/** numerator / denominator rounded half to even; the denominator is positive. */
export function divideHalfEven(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n) throw new RangeError("The denominator must be positive");
  const negative = numerator < 0n;
  const abs = negative ? -numerator : numerator;
  let quotient = abs / denominator;
  const twiceRemainder = (abs % denominator) * 2n;
  if (twiceRemainder > denominator || (twiceRemainder === denominator && quotient % 2n === 1n)) {
    quotient += 1n;
  }

  return negative ? -quotient : quotient;
}

/** The seconds left in the period after `at`, and the period's length in seconds. */
export function remainingSeconds(window: ProrationWindow): { remaining: number; length: number } {
  const start = Math.floor(window.periodStart.getTime() / 1000);
  const end = Math.floor(window.periodEnd.getTime() / 1000);
  const at = Math.floor(window.at.getTime() / 1000);
  if (end <= start) throw new RangeError("A period must end after it starts");
  if (at < start || at > end) {
    throw new RangeError("A prorated change must fall inside its period");
  }

  return { remaining: end - at, length: end - start };
}

/** amountMinor × (end − at) / (end − start), rounded half to even to a whole minor unit. */
export function prorate(amountMinor: number, window: ProrationWindow): number {
  if (!Number.isSafeInteger(amountMinor)) {
    throw new RangeError("Money amounts are whole minor units");
  }
  const { remaining, length } = remainingSeconds(window);

  return Number(divideHalfEven(BigInt(amountMinor) * BigInt(remaining), BigInt(length)));
}

export interface TierChangeProration {
  /** The unused part of the old price given back: zero or negative. */
  creditMinor: number;
  /** The same part of the new price: zero or positive. */
  chargeMinor: number;
  /** charge + credit: due now when positive, a customer credit balance when negative. */
  netMinor: number;
  remainingSeconds: number;
  periodSeconds: number;
}

/** The two lines of a change from one monthly price to another at `at`. */
export function prorateTierChange(
  fromPriceMinor: number,
  toPriceMinor: number,
  window: ProrationWindow,
): TierChangeProration {
  const { remaining, length } = remainingSeconds(window);
  const creditMinor = -prorate(fromPriceMinor, window);
  const chargeMinor = prorate(toPriceMinor, window);

  return {
    // `-0` would print as "-0" in places; a credit of nothing is plain 0.
    creditMinor: creditMinor === 0 ? 0 : creditMinor,
    chargeMinor,
    netMinor: chargeMinor + creditMinor,
    remainingSeconds: remaining,
    periodSeconds: length,
  };
}

/** Cancelling now: the unused part of the base fee, given back (zero or negative). */
export function cancellationRefund(priceMinor: number, window: ProrationWindow): number {
  const refund = -prorate(priceMinor, window);

  return refund === 0 ? 0 : refund;
}
