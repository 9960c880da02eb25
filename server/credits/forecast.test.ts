import { describe, expect, it } from "vitest";

import { forecastDepletion } from "./forecast";

const DAY = 86_400_000;
const now = new Date("2027-01-07T12:00:00Z");
const at = (days: number) => new Date(now.getTime() + days * DAY);

describe("depletion forecast", () => {
  it("divides what is left by the window's burn rate", () => {
    // 700 credits used in 7 days is 100 a day; 1,000 left lasts 10 days.
    const forecast = forecastDepletion({
      now,
      grants: [{ remaining: 1_000, expiresAt: null }],
      consumedInWindow: 700,
      windowMs: 7 * DAY,
    });

    expect(forecast).toEqual({
      kind: "runs_out",
      runsOutAt: at(10),
      creditsPerDay: 100,
      lapsing: 0,
    });
  });

  it("does not count credits that expire before the burn reaches them", () => {
    // At 100 a day the first 300 last 3 days, but expire after 2: 100 lapse. The next grant
    // expired already by then, all lapses; the last 500 last 5 more days from day 2.
    const forecast = forecastDepletion({
      now,
      grants: [
        { remaining: 300, expiresAt: at(2) },
        { remaining: 50, expiresAt: at(1) },
        { remaining: 500, expiresAt: null },
      ],
      consumedInWindow: 700,
      windowMs: 7 * DAY,
    });

    expect(forecast).toMatchObject({ kind: "runs_out", runsOutAt: at(7), lapsing: 150 });
  });

  it("says when there is no usage to forecast from, or nothing left", () => {
    expect(
      forecastDepletion({
        now,
        grants: [{ remaining: 10, expiresAt: null }],
        consumedInWindow: 0,
        windowMs: DAY,
      }),
    ).toEqual({ kind: "no_usage" });
    expect(forecastDepletion({ now, grants: [], consumedInWindow: 50, windowMs: DAY })).toEqual({
      kind: "empty",
    });
  });

  it("stays exact for large balances, and stops at the horizon", () => {
    const forecast = forecastDepletion({
      now,
      grants: [{ remaining: 2_000_000_000, expiresAt: null }],
      consumedInWindow: 900_000_000,
      windowMs: 90 * DAY,
    });
    if (forecast.kind !== "runs_out") throw new Error("expected a date");
    // 2,000,000,000 × 90 days / 900,000,000 = 200 days, in whole milliseconds.
    expect(forecast.runsOutAt).toEqual(at(200));
    expect(forecast.creditsPerDay).toBe(10_000_000);

    expect(
      forecastDepletion({
        now,
        grants: [{ remaining: 2_147_483_647, expiresAt: null }],
        consumedInWindow: 3,
        windowMs: 90 * DAY,
      }),
    ).toEqual({ kind: "beyond_horizon", creditsPerDay: 1 });
  });

  it("rounds the daily rate up so a small burn never reads as zero", () => {
    const forecast = forecastDepletion({
      now,
      grants: [{ remaining: 5, expiresAt: null }],
      consumedInWindow: 1,
      windowMs: 7 * DAY,
    });
    expect(forecast).toMatchObject({ kind: "runs_out", creditsPerDay: 1, runsOutAt: at(35) });
  });
});
