import { describe, expect, it } from "vitest";

import { rolloverCap, rolloverOf } from "./rollover";

describe("rollover at period end", () => {
  it("carries the unused allowance up to the cap: 1,000 allowance, 600 used, cap 2,000", () => {
    const outcome = rolloverOf({
      allowance: 1_000,
      unused: 400,
      carriedLive: 0,
      capCredits: 2_000,
      capPercent: null,
    });

    expect(outcome).toMatchObject({ rolled: 400, forfeited: 0, cap: 2_000 });
    // The next period opens with its allowance plus what carried over.
    expect(1_000 + outcome.rolled).toBe(1_400);
  });

  it("counts credits carried earlier against the cap", () => {
    expect(
      rolloverOf({
        allowance: 1_000,
        unused: 900,
        carriedLive: 1_500,
        capCredits: 2_000,
        capPercent: null,
      }),
    ).toMatchObject({ rolled: 500, forfeited: 400 });
    expect(
      rolloverOf({
        allowance: 1_000,
        unused: 900,
        carriedLive: 2_500,
        capCredits: 2_000,
        capPercent: null,
      }),
    ).toMatchObject({ rolled: 0, forfeited: 900 });
  });

  it("takes a percentage cap of the allowance, rounded down", () => {
    expect(rolloverCap(999, { capCredits: null, capPercent: 50 })).toBe(499);
    expect(rolloverCap(1_000, { capCredits: null, capPercent: 150 })).toBe(1_500);
    expect(
      rolloverOf({
        allowance: 1_000,
        unused: 800,
        carriedLive: 0,
        capCredits: null,
        capPercent: 25,
      }),
    ).toMatchObject({ rolled: 250, forfeited: 550 });
  });

  it("prefers a cap in credits over a percentage, and carries nothing without a cap", () => {
    expect(rolloverCap(1_000, { capCredits: 10, capPercent: 90 })).toBe(10);
    expect(
      rolloverOf({
        allowance: 1_000,
        unused: 800,
        carriedLive: 0,
        capCredits: null,
        capPercent: null,
      }),
    ).toMatchObject({
      rolled: 0,
      forfeited: 800,
      explanation: expect.stringContaining("does not"),
    });
  });

  it("refuses negative or fractional inputs", () => {
    expect(() =>
      rolloverOf({ allowance: 1_000, unused: -1, carriedLive: 0, capCredits: 5, capPercent: null }),
    ).toThrow(/unused/);
    expect(() =>
      rolloverOf({ allowance: 1.5, unused: 0, carriedLive: 0, capCredits: 5, capPercent: null }),
    ).toThrow(/allowance/);
  });
});
