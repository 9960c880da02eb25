/**
 * How much money a refund of purchased credits gives back. Pure and
 * integer-only.
 *
 * A purchase of C credits for A minor units refunds pro rata to what was
 * paid. The rule is cumulative: after the refunds so far gave back R credits
 * for M minor units, refunding n more credits gives back
 *
 *   round_half_even(A × (R + n) / C) − M
 *
 * so rounding never adds up across several partial refunds: their sum is
 * always the rounded pro rata share of everything refunded, and refunding
 * every credit gives back exactly A. The products are BigInt, so the largest
 * credit counts and prices neither overflow nor pass through floating point.
 */
export interface RefundBasis {
  /** What the purchase paid, in minor units. */
  amountMinor: number;
  /** Credits the purchase granted. */
  purchasedCredits: number;
  /** Credits and money given back by earlier refunds of the same purchase. */
  refundedCredits: number;
  refundedMinor: number;
}

/** numerator / denominator, rounded half to even; both non-negative, denominator positive. */
export function divideHalfEven(numerator: bigint, denominator: bigint): bigint {
  if (numerator < 0n || denominator <= 0n) {
    throw new RangeError(
      "divideHalfEven takes a non-negative numerator and a positive denominator",
    );
  }
  const quotient = numerator / denominator;
  const twiceRemainder = (numerator % denominator) * 2n;
  if (twiceRemainder > denominator) return quotient + 1n;
  if (twiceRemainder < denominator) return quotient;

  return quotient % 2n === 0n ? quotient : quotient + 1n;
}

/** The money share of the first `credits` credits of a purchase. */
export function proRataMinor(
  amountMinor: number,
  purchasedCredits: number,
  credits: number,
): number {
  return Number(divideHalfEven(BigInt(amountMinor) * BigInt(credits), BigInt(purchasedCredits)));
}

/** Minor units to give back for refunding `credits` more credits of a purchase. */
export function refundAmountMinor(basis: RefundBasis, credits: number): number {
  const { amountMinor, purchasedCredits, refundedCredits, refundedMinor } = basis;
  for (const value of [amountMinor, purchasedCredits, refundedCredits, refundedMinor, credits]) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError("Refund figures are non-negative whole numbers");
    }
  }
  if (purchasedCredits === 0) throw new RangeError("A purchase grants at least one credit");
  if (refundedCredits + credits > purchasedCredits) {
    throw new RangeError("A purchase cannot refund more credits than it granted");
  }
  const alreadyMinor = proRataMinor(amountMinor, purchasedCredits, refundedCredits);
  if (alreadyMinor !== refundedMinor) {
    // Earlier refunds were computed by this rule; anything else means the purchase row is wrong.
    throw new RangeError(
      `Earlier refunds gave back ${refundedMinor} minor units; the rule says ${alreadyMinor}`,
    );
  }

  return proRataMinor(amountMinor, purchasedCredits, refundedCredits + credits) - refundedMinor;
}
