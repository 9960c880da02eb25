/**
 * Time comes from a clock handed to every command and reaction, never from
 * `new Date()` in domain code, so tests (and later the admin's time travel)
 * can move it.
 */
export interface Clock {
  now(): Date;
  /**
   * Real time, where the clock runs ahead of it (time travel): for what
   * others check against their own clocks, such as the timestamp in a
   * webhook signature. Absent means `now()` is the time to use.
   */
  wallTime?(): Date;
}

/** The time to put in what leaves the platform: real time under time travel, else the clock's. */
export function wallTimeOf(clock: Clock): Date {
  return clock.wallTime ? clock.wallTime() : clock.now();
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: Date | string = "2027-01-15T12:00:00.000Z") {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  set(to: Date | string): void {
    this.current = new Date(to).getTime();
  }

  advance(ms: number): Date {
    this.current += ms;
    return this.now();
  }
}

/**
 * Real time moved forward by an offset: the platform clock while time travel
 * is on (server/billing/time-travel.ts). The offset only grows, so the
 * platform never sees time run backwards; `base` is real time outside tests.
 */
export class OffsetClock implements Clock {
  /** Marks the class: Next bundles server code apart from server/serve.ts, so instanceof fails. */
  readonly kind = "offset";
  private offset: number;

  constructor(
    offsetMs = 0,
    private readonly base: Clock = systemClock,
  ) {
    if (!Number.isInteger(offsetMs) || offsetMs < 0) {
      throw new Error(`A clock offset is a whole number of milliseconds ≥ 0, not ${offsetMs}`);
    }
    this.offset = offsetMs;
  }

  now(): Date {
    return new Date(this.base.now().getTime() + this.offset);
  }

  wallTime(): Date {
    return this.base.now();
  }

  get offsetMs(): number {
    return this.offset;
  }

  /** Takes a larger offset; a smaller or equal one changes nothing. Returns the offset now held. */
  moveTo(offsetMs: number): number {
    if (Number.isInteger(offsetMs) && offsetMs > this.offset) this.offset = offsetMs;

    return this.offset;
  }
}

export function isOffsetClock(clock: Clock): clock is OffsetClock {
  return (clock as Partial<OffsetClock>).kind === "offset";
}
