import { describe, expect, it } from "vitest";

import { ManualClock } from "@/server/clock";

import { RateLimiter } from "./rate-limit";

describe("the token bucket", () => {
  it("allows a burst, then one request per token as they refill", () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ perSecond: 10, burst: 3 }, clock);

    expect([1, 2, 3].map(() => limiter.take("k").allowed)).toEqual([true, true, true]);
    expect(limiter.take("k")).toEqual({ allowed: false, retryAfterSeconds: 1 });
    clock.advance(99);
    expect(limiter.take("k").allowed).toBe(false);
    clock.advance(1);
    expect(limiter.take("k")).toEqual({ allowed: true, remaining: 0 });
    expect(limiter.take("k").allowed).toBe(false);
  });

  it("never holds more than the burst, however long the key was idle", () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ perSecond: 100, burst: 2 }, clock);
    limiter.take("k");
    clock.advance(3_600_000);
    expect([1, 2, 3].map(() => limiter.take("k").allowed)).toEqual([true, true, false]);
  });

  it("keeps one bucket per key", () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ perSecond: 1, burst: 1 }, clock);
    expect(limiter.take("a").allowed).toBe(true);
    expect(limiter.take("a").allowed).toBe(false);
    expect(limiter.take("b").allowed).toBe(true);
  });

  it("says how many whole seconds to wait for the next token", () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ perSecond: 0.2, burst: 1 }, clock);
    limiter.take("k");
    expect(limiter.take("k")).toEqual({ allowed: false, retryAfterSeconds: 5 });
    clock.advance(2_500);
    expect(limiter.take("k")).toEqual({ allowed: false, retryAfterSeconds: 3 });
  });

  it("refills nothing when the clock moves backwards", () => {
    const clock = new ManualClock("2027-01-01T00:00:10Z");
    const limiter = new RateLimiter({ perSecond: 1, burst: 1 }, clock);
    limiter.take("k");
    clock.set("2027-01-01T00:00:00Z");
    expect(limiter.take("k").allowed).toBe(false);
    clock.set("2027-01-01T00:00:11Z");
    expect(limiter.take("k").allowed).toBe(true);
  });

  it("refuses a limit that would let nothing through", () => {
    const clock = new ManualClock();
    expect(() => new RateLimiter({ perSecond: 0, burst: 1 }, clock)).toThrow(RangeError);
    expect(() => new RateLimiter({ perSecond: 1, burst: 0 }, clock)).toThrow(RangeError);
  });
});
