import { describe, expect, it } from "vitest";

import { addMonthsAnchored, periodAt, periodBounds } from "./periods";

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

describe("anchors on the 28th to the 31st", () => {
  const endsOf = (anchor: string, count: number) =>
    Array.from({ length: count }, (_, i) => iso(periodBounds(new Date(anchor), i + 1).endsAt));

  it("keeps the 28th every month", () => {
    expect(endsOf("2027-01-28T00:00:00Z", 3)).toEqual([
      "2027-02-28T00:00:00.000Z",
      "2027-03-28T00:00:00.000Z",
      "2027-04-28T00:00:00.000Z",
    ]);
  });

  it("clamps the 29th to February 28, and keeps February 29 in a leap year", () => {
    expect(endsOf("2027-01-29T00:00:00Z", 2)).toEqual([
      "2027-02-28T00:00:00.000Z",
      "2027-03-29T00:00:00.000Z",
    ]);
    expect(endsOf("2028-01-29T00:00:00Z", 2)).toEqual([
      "2028-02-29T00:00:00.000Z",
      "2028-03-29T00:00:00.000Z",
    ]);
  });

  it("clamps the 30th to February's end and comes back to the 30th", () => {
    expect(endsOf("2027-01-30T06:00:00Z", 3)).toEqual([
      "2027-02-28T06:00:00.000Z",
      "2027-03-30T06:00:00.000Z",
      "2027-04-30T06:00:00.000Z",
    ]);
  });

  it("clamps the 31st to each short month's last day: Feb 29 in 2028, Apr 30, Jun 30", () => {
    expect(endsOf("2028-01-31T12:00:00Z", 6)).toEqual([
      "2028-02-29T12:00:00.000Z",
      "2028-03-31T12:00:00.000Z",
      "2028-04-30T12:00:00.000Z",
      "2028-05-31T12:00:00.000Z",
      "2028-06-30T12:00:00.000Z",
      "2028-07-31T12:00:00.000Z",
    ]);
  });

  it("anchored on February 29, keeps the 29th where it exists and the 28th in other Februaries", () => {
    const anchor = "2028-02-29T00:00:00Z";
    const ends = endsOf(anchor, 12);
    expect(ends[0]).toBe("2028-03-29T00:00:00.000Z");
    expect(ends[11]).toBe("2029-02-28T00:00:00.000Z");
  });

  it("tiles 48 months with no gap or overlap for every anchor day from the 28th to the 31st", () => {
    for (const day of [28, 29, 30, 31]) {
      const anchor = new Date(Date.UTC(2027, 0, day, 17, 45, 30, 250));
      let covered = 0;
      for (let sequence = 1; sequence <= 48; sequence++) {
        const period = periodBounds(anchor, sequence);
        const next = periodBounds(anchor, sequence + 1);
        expect(period.endsAt.getTime()).toBe(next.startsAt.getTime());
        expect(period.startsAt < period.endsAt).toBe(true);
        // Every period is between 28 and 31 days, and the one holding an instant is found.
        const days = (period.endsAt.getTime() - period.startsAt.getTime()) / 86_400_000;
        expect(days).toBeGreaterThanOrEqual(28);
        expect(days).toBeLessThanOrEqual(31);
        expect(periodAt(anchor, period.startsAt)).toEqual(period);
        expect(periodAt(anchor, new Date(period.endsAt.getTime() - 1))).toEqual(period);
        covered += period.endsAt.getTime() - period.startsAt.getTime();
      }
      expect(anchor.getTime() + covered).toBe(periodBounds(anchor, 49).startsAt.getTime());
      expect(iso(periodBounds(anchor, 49).startsAt).slice(0, 4)).toBe("2031");
    }
  });
});

describe("time zones", () => {
  it("gives the same instants whatever the process's time zone or the offset written", () => {
    const original = process.env.TZ;
    const compute = () =>
      [1, 2, 13].map((sequence) => {
        const bounds = periodBounds(new Date("2027-01-31T23:30:00-05:00"), sequence);
        return [iso(bounds.startsAt), iso(bounds.endsAt)];
      });
    try {
      process.env.TZ = "UTC";
      const utc = compute();
      for (const zone of ["Pacific/Kiritimati", "America/St_Johns", "Asia/Kathmandu"]) {
        process.env.TZ = zone;
        expect(compute()).toEqual(utc);
      }
      // 23:30 in New York on Jan 31 is 04:30 UTC on Feb 1: the anchor day is the 1st, in UTC.
      expect(utc[0]).toEqual(["2027-02-01T04:30:00.000Z", "2027-03-01T04:30:00.000Z"]);
    } finally {
      process.env.TZ = original;
    }
  });
});
