import { describe, expect, it } from "vitest";

import { periodBounds } from "./periods";
import {
  cancellationRefund,
  divideHalfEven,
  prorate,
  prorateTierChange,
  remainingSeconds,
} from "./proration";

const march = {
  periodStart: new Date("2027-03-01T00:00:00Z"),
  periodEnd: new Date("2027-04-01T00:00:00Z"),
};
const at = (iso: string) => ({ ...march, at: new Date(iso) });

describe("rounding half to even", () => {
  it("rounds exact halves to the even neighbour, both signs, and the rest to the nearest", () => {
    expect(divideHalfEven(5n, 2n)).toBe(2n);
    expect(divideHalfEven(7n, 2n)).toBe(4n);
    expect(divideHalfEven(-5n, 2n)).toBe(-2n);
    expect(divideHalfEven(-7n, 2n)).toBe(-4n);
    expect(divideHalfEven(1n, 3n)).toBe(0n);
    expect(divideHalfEven(2n, 3n)).toBe(1n);
    expect(divideHalfEven(-2n, 3n)).toBe(-1n);
    expect(divideHalfEven(0n, 3n)).toBe(0n);
    expect(() => divideHalfEven(1n, 0n)).toThrow(RangeError);
  });
});

describe("prorating a tier change", () => {
  it("follows Stripe's example: 1,000 → 2,000 exactly halfway is −500 and +1,000, net +500", () => {
    // March has 31 days; halfway is 15.5 days in.
    expect(prorateTierChange(1_000, 2_000, at("2027-03-16T12:00:00Z"))).toEqual({
      creditMinor: -500,
      chargeMinor: 1_000,
      netMinor: 500,
      remainingSeconds: 15.5 * 86_400,
      periodSeconds: 31 * 86_400,
    });
  });

  it("credits and charges the whole price at the period's start, and nothing at its end", () => {
    expect(prorateTierChange(4_900, 9_900, at("2027-03-01T00:00:00Z"))).toMatchObject({
      creditMinor: -4_900,
      chargeMinor: 9_900,
      netMinor: 5_000,
    });
    expect(prorateTierChange(4_900, 9_900, at("2027-04-01T00:00:00Z"))).toMatchObject({
      creditMinor: 0,
      chargeMinor: 0,
      netMinor: 0,
      remainingSeconds: 0,
    });
  });

  it("rounds each line on its own, half to even", () => {
    const halfway = at("2027-03-16T12:00:00Z");
    // 999 / 2 = 499.5 → 500 (even); 1,001 / 2 = 500.5 → 500 (even).
    expect(prorate(999, halfway)).toBe(500);
    expect(prorate(1_001, halfway)).toBe(500);
    // Rounded separately: −500 + 500, where rounding the net (2 / 2) would give 1.
    expect(prorateTierChange(999, 1_001, halfway)).toMatchObject({
      creditMinor: -500,
      chargeMinor: 500,
      netMinor: 0,
    });
    // A third of the way: 100 × 2/3 = 66.67 → 67.
    const thirds = { periodStart: new Date(0), periodEnd: new Date(3_000), at: new Date(1_000) };
    expect(prorate(100, thirds)).toBe(67);
  });

  it("prorates by the second over a clamped month end, leap years included", () => {
    // Anchored on Jan 31: the first period ends Feb 28 (28 days); 14 days left is half.
    const feb = periodBounds(new Date("2027-01-31T10:00:00Z"), 1);
    expect(feb.endsAt.toISOString()).toBe("2027-02-28T10:00:00.000Z");
    expect(
      prorate(3_000, {
        periodStart: feb.startsAt,
        periodEnd: feb.endsAt,
        at: new Date("2027-02-14T10:00:00Z"),
      }),
    ).toBe(1_500);
    // 2028 is a leap year: 29 days, one of them gone.
    const leap = periodBounds(new Date("2028-01-31T00:00:00Z"), 1);
    expect(
      prorate(2_900, {
        periodStart: leap.startsAt,
        periodEnd: leap.endsAt,
        at: new Date("2028-02-01T00:00:00Z"),
      }),
    ).toBe(2_800);
  });

  it("counts whole seconds: a change late in a second counts from that second", () => {
    expect(remainingSeconds(at("2027-03-31T23:59:59.999Z")).remaining).toBe(1);
  });

  it("refuses a change outside its period", () => {
    expect(() => prorate(100, at("2027-02-28T23:59:59Z"))).toThrow(RangeError);
    expect(() => prorate(100, at("2027-04-01T00:00:01Z"))).toThrow(RangeError);
    expect(() => prorate(1.5, at("2027-03-02T00:00:00Z"))).toThrow(RangeError);
  });
});

describe("the refund of a cancellation now", () => {
  it("gives back the unused part of the base fee, and nothing for a free tier", () => {
    expect(cancellationRefund(4_900, at("2027-03-16T12:00:00Z"))).toBe(-2_450);
    expect(cancellationRefund(0, at("2027-03-16T12:00:00Z"))).toBe(0);
    expect(Object.is(cancellationRefund(0, at("2027-03-16T12:00:00Z")), 0)).toBe(true);
  });
});

describe("proration at the edges of a period", () => {
  it("charges the whole difference for a change at the period's first second", () => {
    expect(prorateTierChange(1_000, 3_000, at("2027-03-01T00:00:00Z"))).toMatchObject({
      creditMinor: -1_000,
      chargeMinor: 3_000,
      netMinor: 2_000,
      remainingSeconds: 31 * 86_400,
    });
  });

  it("prorates one second at the period's last second, which rounds to nothing", () => {
    const last = at("2027-03-31T23:59:59Z");
    expect(remainingSeconds(last)).toEqual({ remaining: 1, length: 31 * 86_400 });
    expect(prorateTierChange(1_000, 3_000, last)).toMatchObject({
      creditMinor: 0,
      chargeMinor: 0,
      netMinor: 0,
    });
    // A price large enough to be worth a second: 2,678,400 minor units a month is 1 a second.
    expect(prorate(2_678_400, last)).toBe(1);
  });

  it("nets two changes in one period to the rest of the period on the last tier", () => {
    // Up from 1,000 to 3,000 a third of the way through a 30-day window, back down to 2,000
    // two thirds of the way: each change is prorated on its own, on the tier it left.
    const window = {
      periodStart: new Date("2027-04-01T00:00:00Z"),
      periodEnd: new Date("2027-05-01T00:00:00Z"),
    };
    const up = prorateTierChange(1_000, 3_000, {
      ...window,
      at: new Date("2027-04-11T00:00:00Z"),
    });
    const down = prorateTierChange(3_000, 2_000, {
      ...window,
      at: new Date("2027-04-21T00:00:00Z"),
    });
    expect([up.creditMinor, up.chargeMinor, down.creditMinor, down.chargeMinor]).toEqual([
      -667, 2_000, -1_000, 667,
    ]);
    // Billed 1,000 in advance, plus the two nets: 1,000 + 1,333 − 333 = 2,000, which is a
    // third of each tier's price: 333 + 1,000 + 667.
    expect([up.netMinor, down.netMinor]).toEqual([1_333, -333]);
    expect(1_000 + up.netMinor + down.netMinor).toBe(333 + 1_000 + 667);
  });
});
