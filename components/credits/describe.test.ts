import { describe, expect, it } from "vitest";

import {
  expiryLabel,
  forecastSentence,
  formatDay,
  formatUtcDay,
  niceScaleMax,
  overageSentence,
  parseWholeCredits,
  percentOf,
} from "./describe";

// Noon local time, so no time zone moves these dates to another day.
const now = new Date(2026, 11, 4, 12);
const jan14 = new Date(2027, 0, 14, 12);
const feb1 = new Date(2027, 1, 1, 12);
const dec20 = new Date(2026, 11, 20, 12);

describe("formatDay", () => {
  it("leaves out the year of this year's dates and names it for other years", () => {
    expect(formatDay(dec20, now)).toBe("20 Dec");
    expect(formatDay(jan14, now)).toBe("14 Jan 2027");
  });
});

describe("expiryLabel", () => {
  it("names the day, or says the grant never expires", () => {
    expect(expiryLabel(dec20, now)).toBe("expires 20 Dec");
    expect(expiryLabel(null, now)).toBe("never expires");
  });
});

describe("forecastSentence", () => {
  it("warns when the credits run out before the allowance renews", () => {
    const sentence = forecastSentence(
      { kind: "runs_out", runsOutAt: dec20, creditsPerDay: 25, lapsing: 0 },
      jan14,
      now,
    );
    expect(sentence).toEqual({
      text:
        "At this rate (25 credits/day), credits run out on 20 Dec, before your allowance renews " +
        "on 14 Jan 2027.",
      urgent: true,
    });
  });

  it("says the credits last until the renewal when the period ends first", () => {
    const sentence = forecastSentence(
      { kind: "runs_out", runsOutAt: feb1, creditsPerDay: 1, lapsing: 0 },
      jan14,
      now,
    );
    expect(sentence.text).toBe(
      "At this rate (1 credit/day), credits last until your allowance renews on 14 Jan 2027.",
    );
    expect(sentence.urgent).toBe(false);
  });

  it("gives the bare date without a period, and counts credits that lapse", () => {
    const sentence = forecastSentence(
      { kind: "runs_out", runsOutAt: jan14, creditsPerDay: 2_500, lapsing: 1_200 },
      null,
      now,
    );
    expect(sentence.text).toBe(
      "At this rate (2,500 credits/day), credits run out on 14 Jan 2027. 1,200 credits expire " +
        "unused on the way.",
    );
  });

  it("covers no usage, an empty balance and a far horizon", () => {
    expect(forecastSentence({ kind: "no_usage" }, jan14, now).text).toBe(
      "Not enough recent usage to forecast when credits run out.",
    );
    expect(forecastSentence({ kind: "empty" }, jan14, now)).toEqual({
      text: "No credits left.",
      urgent: true,
    });
    expect(forecastSentence({ kind: "beyond_horizon", creditsPerDay: 3 }, null, now).text).toBe(
      "At this rate (3 credits/day), credits last more than ten years.",
    );
  });
});

describe("overageSentence", () => {
  it("says nothing for tiers without a soft cap", () => {
    expect(
      overageSentence({ policy: "hard_stop", capCredits: 0, usedCredits: 0, calls: 0 }),
    ).toBeNull();
  });

  it("states the cap before any overage and what is left after", () => {
    expect(
      overageSentence({ policy: "soft_cap", capCredits: 5_000, usedCredits: 0, calls: 0 }),
    ).toContain("up to 5,000 credits of overage");
    expect(
      overageSentence({ policy: "soft_cap", capCredits: 5_000, usedCredits: 1_250, calls: 1 }),
    ).toBe(
      "1,250 of 5,000 overage credits used this cycle (1 call); 3,750 left before calls are " +
        "refused.",
    );
  });
});

describe("percentOf", () => {
  it("rounds down and stays within 0 and 100", () => {
    expect(percentOf(1, 3)).toBe(33);
    expect(percentOf(0, 10)).toBe(0);
    expect(percentOf(5, 0)).toBe(0);
    expect(percentOf(12, 10)).toBe(100);
    expect(percentOf(999, 1_000)).toBe(99);
  });
});

describe("niceScaleMax", () => {
  it.each([
    [0, 1],
    [1, 1],
    [3, 5],
    [10, 10],
    [11, 20],
    [199, 200],
    [201, 500],
    [5_001, 10_000],
    [73_000, 100_000],
  ])("%d → %d", (value, expected) => {
    expect(niceScaleMax(value)).toBe(expected);
  });
});

describe("formatUtcDay", () => {
  it("reads the day in UTC, whatever the local zone", () => {
    expect(formatUtcDay("2026-12-04")).toBe("4 Dec");
    expect(formatUtcDay("2027-01-31")).toBe("31 Jan");
  });
});

describe("parseWholeCredits", () => {
  it.each([
    ["1000", 1_000],
    [" 1,000 ", 1_000],
    ["-250", -250],
    ["\u2212250", -250],
    ["+40", 40],
    ["0", 0],
  ])("reads %j as %d", (text, expected) => {
    expect(parseWholeCredits(text)).toBe(expected);
  });

  it.each(["", "abc", "1.5", "1e3", "--1", "9".repeat(20)])("refuses %j", (text) => {
    expect(parseWholeCredits(text)).toBeUndefined();
  });
});
