import { describe, expect, it } from "vitest";

import { cronMatches, dueMinutes, parseCron } from "./cron";

describe("cron", () => {
  it("matches minutes, hours, steps, ranges and lists in UTC", () => {
    const hourly = parseCron("0 * * * *");
    expect(cronMatches(hourly, new Date("2027-03-01T05:00:00Z"))).toBe(true);
    expect(cronMatches(hourly, new Date("2027-03-01T05:01:00Z"))).toBe(false);

    const everyFive = parseCron("*/5 9-17 * * 1-5");
    expect(cronMatches(everyFive, new Date("2027-03-01T09:15:00Z"))).toBe(true); // a Monday
    expect(cronMatches(everyFive, new Date("2027-03-01T09:16:00Z"))).toBe(false);
    expect(cronMatches(everyFive, new Date("2027-03-06T09:15:00Z"))).toBe(false); // Saturday

    expect(cronMatches(parseCron("30 2 1,15 * *"), new Date("2027-03-15T02:30:00Z"))).toBe(true);
  });

  it("treats 7 as Sunday and matches either day field when both are restricted", () => {
    expect(cronMatches(parseCron("0 0 * * 7"), new Date("2027-03-07T00:00:00Z"))).toBe(true);
    const either = parseCron("0 0 13 * 5");
    expect(cronMatches(either, new Date("2027-03-13T00:00:00Z"))).toBe(true); // a Saturday
    expect(cronMatches(either, new Date("2027-03-05T00:00:00Z"))).toBe(true); // a Friday
    expect(cronMatches(either, new Date("2027-03-06T00:00:00Z"))).toBe(false);
  });

  it("lists the due minutes after one instant up to another", () => {
    const due = dueMinutes(
      parseCron("*/15 * * * *"),
      new Date("2027-01-01T00:00:00Z"),
      new Date("2027-01-01T01:00:30Z"),
    );
    expect(due.map((d) => d.toISOString().slice(11, 16))).toEqual([
      "00:15",
      "00:30",
      "00:45",
      "01:00",
    ]);
  });

  it.each(["* * * *", "60 * * * *", "*/0 * * * *", "5-1 * * * *", "a * * * *"])(
    "rejects %s",
    (expression) => {
      expect(() => parseCron(expression)).toThrow();
    },
  );
});
