import { describe, expect, it } from "vitest";

import { addMonthsAnchored, periodBounds } from "./periods";

const iso = (date: Date) => date.toISOString();

describe("anchored monthly periods", () => {
  it("keeps the anchor day, clamping to short months and coming back after them", () => {
    const anchor = new Date("2027-01-31T10:15:00Z");
    const ends = [1, 2, 3, 4].map((sequence) => iso(periodBounds(anchor, sequence).endsAt));

    expect(ends).toEqual([
      "2027-02-28T10:15:00.000Z",
      "2027-03-31T10:15:00.000Z",
      "2027-04-30T10:15:00.000Z",
      "2027-05-31T10:15:00.000Z",
    ]);
  });

  it("gives February 29 in leap years", () => {
    expect(iso(addMonthsAnchored(new Date("2028-01-30T00:00:00Z"), 1))).toBe(
      "2028-02-29T00:00:00.000Z",
    );
  });

  it("tiles periods with no gap and no overlap across a year boundary", () => {
    const anchor = new Date("2026-11-30T23:59:59.999Z");
    for (let sequence = 1; sequence < 30; sequence++) {
      const current = periodBounds(anchor, sequence);
      const next = periodBounds(anchor, sequence + 1);
      expect(current.endsAt.getTime()).toBe(next.startsAt.getTime());
      expect(current.endsAt.getTime()).toBeGreaterThan(current.startsAt.getTime());
    }
    expect(iso(periodBounds(anchor, 3).startsAt)).toBe("2027-01-30T23:59:59.999Z");
  });

  it("refuses a sequence before the first period", () => {
    expect(() => periodBounds(new Date(), 0)).toThrow(/starts at 1/);
  });
});
