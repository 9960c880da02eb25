import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { divideHalfEven, proRataMinor, refundAmountMinor } from "./refund-rule";

const fresh = { refundedCredits: 0, refundedMinor: 0 };

describe("rounding half to even", () => {
  it.each([
    [5n, 2n, 2n],
    [7n, 2n, 4n],
    [9n, 2n, 4n],
    [11n, 2n, 6n],
    [10n, 3n, 3n],
    [11n, 3n, 4n],
    [0n, 7n, 0n],
  ])("%i / %i → %i", (numerator, denominator, expected) => {
    expect(divideHalfEven(numerator, denominator)).toBe(expected);
  });

  it("refuses a negative numerator or a zero denominator", () => {
    expect(() => divideHalfEven(-1n, 2n)).toThrow(RangeError);
    expect(() => divideHalfEven(1n, 0n)).toThrow(RangeError);
  });
});

describe("the refund amount of a purchase", () => {
  it("gives back the unused share of what was paid: 4,000 of 10,000 credits for $29.00", () => {
    const basis = { amountMinor: 2_900, purchasedCredits: 10_000, ...fresh };

    expect(refundAmountMinor(basis, 4_000)).toBe(1_160);
  });

  it("refunds everything when every credit comes back", () => {
    expect(refundAmountMinor({ amountMinor: 999, purchasedCredits: 7, ...fresh }, 7)).toBe(999);
  });

  it("rounds a half minor unit to even", () => {
    // One of two credits bought for 5 cents is 2.5 → 2; one of two bought for 15 cents is 7.5 → 8.
    expect(proRataMinor(5, 2, 1)).toBe(2);
    expect(proRataMinor(15, 2, 1)).toBe(8);
  });

  it("counts earlier refunds, so partial refunds never sum to more than the price", () => {
    // 3 credits for 100 cents: one at a time gives 33, 34 (67 − 33), 33 (100 − 67).
    let basis = { amountMinor: 100, purchasedCredits: 3, ...fresh };
    const amounts = [];
    for (let i = 0; i < 3; i++) {
      const amount = refundAmountMinor(basis, 1);
      amounts.push(amount);
      basis = {
        ...basis,
        refundedCredits: basis.refundedCredits + 1,
        refundedMinor: basis.refundedMinor + amount,
      };
    }

    expect(amounts).toEqual([33, 34, 33]);
    expect(amounts.reduce((sum, amount) => sum + amount, 0)).toBe(100);
  });

  it("does not overflow for the largest credit counts and prices", () => {
    const max = 2_147_483_647;
    expect(refundAmountMinor({ amountMinor: max, purchasedCredits: max, ...fresh }, max - 1)).toBe(
      max - 1,
    );
  });

  it("refuses more credits than the purchase has left, and inconsistent earlier refunds", () => {
    const basis = {
      amountMinor: 1_000,
      purchasedCredits: 10,
      refundedCredits: 4,
      refundedMinor: 400,
    };
    expect(() => refundAmountMinor(basis, 7)).toThrow(/more credits than it granted/);
    expect(() => refundAmountMinor({ ...basis, refundedMinor: 399 }, 1)).toThrow(/rule says 400/);
    expect(() => refundAmountMinor(basis, 1.5)).toThrow(RangeError);
  });

  it("holds for any split: never negative, never more than paid, exact when all is refunded", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2_147_483_647 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 1, maxLength: 12 }),
        (amountMinor, purchasedCredits, parts) => {
          let basis = { amountMinor, purchasedCredits, ...fresh };
          for (const part of parts) {
            const credits = Math.min(part, purchasedCredits - basis.refundedCredits);
            if (credits === 0) break;
            const amount = refundAmountMinor(basis, credits);
            expect(amount).toBeGreaterThanOrEqual(0);
            basis = {
              ...basis,
              refundedCredits: basis.refundedCredits + credits,
              refundedMinor: basis.refundedMinor + amount,
            };
            expect(basis.refundedMinor).toBeLessThanOrEqual(amountMinor);
          }
          const rest = purchasedCredits - basis.refundedCredits;
          const last = rest > 0 ? refundAmountMinor(basis, rest) : 0;
          expect(basis.refundedMinor + last).toBe(amountMinor);
        },
      ),
    );
  });
});
