import type { FeaturePrice } from "@/drizzle/schema";

// No runtime imports: the portal uses this module for its cost preview.

/** Largest input a single call may declare: 1 TiB. Keeps every product below 2^53. */
export const MAX_INPUT_BYTES = 2 ** 40;

export interface Quote {
  featureCode: string;
  /** Billable units: input bytes divided by the feature's unit size, rounded up. */
  units: number;
  credits: number;
}

/**
 * Prices one feature call in credits:
 *
 *   units   = ceil(inputBytes / bytesPerUnit)          (a started unit counts whole)
 *   credits = max(minimumCredits, baseCredits + units × creditsPerUnit)
 *
 * All integers; the only rounding is the ceiling on units. An input of 0 bytes
 * costs the base (or the minimum, if higher).
 */
export function priceCall(price: FeaturePrice, inputBytes: number): Quote {
  if (!Number.isSafeInteger(inputBytes) || inputBytes < 0 || inputBytes > MAX_INPUT_BYTES) {
    throw new RangeError(`inputBytes must be an integer from 0 to ${MAX_INPUT_BYTES}`);
  }
  // Integer ceiling division; BigInt keeps it exact for any input size.
  const per = BigInt(price.bytesPerUnit);
  const units = Number((BigInt(inputBytes) + per - 1n) / per);
  const credits = Math.max(price.minimumCredits, price.baseCredits + units * price.creditsPerUnit);

  return { featureCode: price.featureCode, units, credits };
}

export function findFeature(
  priceTable: readonly FeaturePrice[],
  featureCode: string,
): FeaturePrice | undefined {
  return priceTable.find((price) => price.featureCode === featureCode);
}
