import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { auditLog, clockOffsets, reactionRuns, subscriptions, workspaces } from "@/drizzle/schema";
import { isOffsetClock, ManualClock, OffsetClock, wallTimeOf } from "@/server/clock";
import { AppError } from "@/server/errors";
import type { Runtime } from "@/server/runtime";
import { callerFor, makeUser, makeWorkspace, testRuntime } from "@/test/support/runtime";

import { advanceClock, clockMode, formatOffset, MAX_JUMP_DAYS } from "./time-travel";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe("OffsetClock", () => {
  it("is its base clock's time plus the offset, and only moves forward", () => {
    const base = new ManualClock("2027-05-10T12:00:00.000Z");
    const clock = new OffsetClock(2 * HOUR, base);
    expect(clock.now().toISOString()).toBe("2027-05-10T14:00:00.000Z");

    base.advance(60_000);
    expect(clock.now().toISOString()).toBe("2027-05-10T14:01:00.000Z");

    expect(clock.moveTo(3 * DAY)).toBe(3 * DAY);
    expect(clock.moveTo(DAY)).toBe(3 * DAY);
    expect(clock.moveTo(Number.NaN)).toBe(3 * DAY);
    expect(clock.now().toISOString()).toBe("2027-05-13T12:01:00.000Z");
    expect(() => new OffsetClock(-1, base)).toThrow(/≥ 0/);
  });

  it("keeps real time for what others check against their own clocks", () => {
    const base = new ManualClock("2027-01-15T12:00:00Z");
    const clock = new OffsetClock(3 * DAY, base);

    expect(clock.now().toISOString()).toBe("2027-01-18T12:00:00.000Z");
    expect(wallTimeOf(clock).toISOString()).toBe("2027-01-15T12:00:00.000Z");
    expect(wallTimeOf(base).toISOString()).toBe("2027-01-15T12:00:00.000Z");
  });

  it("is shown as days, hours and minutes", () => {
    expect(formatOffset(0)).toBe("+0m");
    expect(formatOffset(3 * DAY + 4 * HOUR)).toBe("+3d 4h");
    expect(formatOffset(45 * 60_000 + 59_000)).toBe("+45m");
    expect(formatOffset(HOUR + 60_000)).toBe("+1h 1m");
    expect(clockMode(new ManualClock())).toBe("real time");
    expect(clockMode(new OffsetClock(DAY))).toBe("time travel, +1d");
  });
});

const timeTravel = { TALLY_TIME_TRAVEL: "1" };
const base = new ManualClock("2027-05-10T12:00:00.000Z");
let runtime: Runtime;
let admin: { id: string };
beforeAll(async () => {
  runtime = await testRuntime({ clock: base, env: timeTravel });
  admin = await makeUser(runtime, { isPlatformAdmin: true });
});
afterAll(async () => {
  await runtime.stop();
});

const asAdmin = () => ({ actor: { type: "user" as const, userId: admin.id } });

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);

  return error;
}

/** Gives a workspace a subscription whose current period ends at `end` (one month long). */
async function subscriptionEnding(workspaceId: string, end: Date, status = "active" as const) {
  const start = new Date(end.getTime() - 30 * DAY);
  await runtime.db
    .insert(subscriptions)
    .values({
      workspaceId,
      status,
      currency: "USD",
      anchorAt: start,
      currentPeriodStart: start,
      currentPeriodEnd: end,
    })
    .onConflictDoUpdate({
      target: subscriptions.workspaceId,
      set: { status, anchorAt: start, currentPeriodStart: start, currentPeriodEnd: end },
    });
}

describe("time travel", () => {
  it("is the runtime's clock when turned on, and says so in the start line", () => {
    expect(isOffsetClock(runtime.clock)).toBe(true);
    expect(runtime.modes.clock).toBe("time travel, +0m");
  });

  it("moves forward by hours or days, persists the offset and audits the move", async () => {
    const moved = await advanceClock(runtime, { by: "days", amount: 3 }, asAdmin());
    expect(moved).toMatchObject({ offsetMs: 3 * DAY, offset: "+3d" });
    expect(moved.from.toISOString()).toBe("2027-05-10T12:00:00.000Z");
    expect(moved.to.toISOString()).toBe("2027-05-13T12:00:00.000Z");

    await advanceClock(runtime, { by: "hours", amount: 4 }, asAdmin());
    expect(runtime.clock.now().toISOString()).toBe("2027-05-13T16:00:00.000Z");
    const [row] = await runtime.db.select().from(clockOffsets);
    expect(row?.offsetMs).toBe(3 * DAY + 4 * HOUR);

    const entries = await runtime.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.command, "clock.advance"))
      .orderBy(auditLog.id);
    expect(entries.map((entry) => entry.summary)).toEqual([
      expect.objectContaining({ by: "days", amount: 3, offset: "+3d" }),
      expect.objectContaining({
        by: "hours",
        amount: 4,
        from: "2027-05-13T12:00:00.000Z",
        to: "2027-05-13T16:00:00.000Z",
        offset: "+3d 4h",
      }),
    ]);
    expect(entries[0]).toMatchObject({ actorType: "user", actorId: admin.id, workspaceId: null });
  });

  it("queues the driver's crons for the new time at once", async () => {
    const moved = await advanceClock(runtime, { by: "hours", amount: 2 }, asAdmin());
    const minute = new Date(Math.floor(moved.to.getTime() / 60_000) * 60_000).toISOString();

    const [run] = await runtime.db
      .select()
      .from(reactionRuns)
      .where(eq(reactionRuns.eventId, `cron:billing-start-cycles:${minute}`));
    expect(run).toMatchObject({ reaction: "billing-start-cycles", status: "pending" });
  });

  it("refuses moves of nothing, backwards or beyond a year and a day", async () => {
    const before = runtime.clock.now().getTime();
    for (const input of [
      { by: "days", amount: MAX_JUMP_DAYS + 1 },
      { by: "hours", amount: MAX_JUMP_DAYS * 24 + 1 },
      { by: "days", amount: 0 },
      { by: "hours", amount: -5 },
      { by: "days", amount: 1.5 },
      { by: "weeks", amount: 1 },
    ]) {
      const error = await refusal(
        advanceClock(runtime, input as { by: "days"; amount: number }, asAdmin()),
      );
      expect(error.code, JSON.stringify(input)).toBe("invalid_request");
    }
    expect(runtime.clock.now().getTime()).toBe(before);
  });

  it("moves to one second past the next period end of an active subscription", async () => {
    const now = runtime.clock.now().getTime();
    const soon = await makeWorkspace(runtime);
    const later = await makeWorkspace(runtime);
    const cancelled = await makeWorkspace(runtime);
    const overdue = await makeWorkspace(runtime);
    await subscriptionEnding(soon.workspaceId, new Date(now + 5 * DAY));
    await subscriptionEnding(later.workspaceId, new Date(now + 9 * DAY));
    await subscriptionEnding(cancelled.workspaceId, new Date(now + 2 * DAY));
    await runtime.db
      .update(workspaces)
      .set({ status: "cancelled" })
      .where(eq(workspaces.id, cancelled.workspaceId));
    // Ended already, waiting for its renewal: not a period end ahead.
    await subscriptionEnding(overdue.workspaceId, new Date(now - HOUR));

    const caller = await callerFor(runtime, admin.id);
    const status = await caller.adminBilling.clock();
    expect(status.upcoming.map((entry) => entry.workspaceId)).toEqual([
      soon.workspaceId,
      later.workspaceId,
    ]);

    await caller.adminBilling.advanceClock({ by: "next_period_end" });
    expect(runtime.clock.now().getTime()).toBe(now + 5 * DAY + 1000);
    await caller.adminBilling.advanceClock({ by: "next_period_end" });
    expect(runtime.clock.now().getTime()).toBe(now + 9 * DAY + 1000);

    const [entry] = await runtime.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.command, "clock.advance")))
      .orderBy(auditLog.id)
      .limit(1)
      .offset(3);
    expect(entry?.summary).toMatchObject({ by: "next_period_end", workspaceId: soon.workspaceId });

    await runtime.db
      .update(workspaces)
      .set({ status: "cancelled" })
      .where(eq(workspaces.id, later.workspaceId));
    await runtime.db
      .update(workspaces)
      .set({ status: "cancelled" })
      .where(eq(workspaces.id, soon.workspaceId));
    await expect(caller.adminBilling.advanceClock({ by: "next_period_end" })).rejects.toMatchObject(
      { code: "CONFLICT", message: expect.stringMatching(/No active subscription/) },
    );
  });

  it("starts again from the persisted offset, and reaches other processes at once", async () => {
    const other = await testRuntime({
      clock: base,
      env: timeTravel,
      databaseUrl: runtime.database.url,
    });
    try {
      expect(other.clock.now().getTime()).toBe(runtime.clock.now().getTime());
      expect(other.modes.clock).toBe(
        `time travel, ${formatOffset(isOffsetClock(runtime.clock) ? runtime.clock.offsetMs : 0)}`,
      );

      const moved = await advanceClock(runtime, { by: "days", amount: 1 }, asAdmin());
      await expect
        .poll(() => other.clock.now().getTime(), { timeout: 5_000 })
        .toBe(moved.to.getTime());
    } finally {
      await other.stop();
    }
  });
});

describe("with time travel off", () => {
  it("answers time_travel_disabled and leaves the clock on real time", async () => {
    const plain = await testRuntime({ clock: new ManualClock("2027-05-10T12:00:00.000Z") });
    try {
      expect(plain.modes.clock).toBe("real time");
      const user = await makeUser(plain, { isPlatformAdmin: true });
      const error = await refusal(
        advanceClock(
          plain,
          { by: "days", amount: 1 },
          { actor: { type: "user", userId: user.id } },
        ),
      );
      expect(error.code).toBe("time_travel_disabled");
      expect(error.message).toMatch(/TALLY_TIME_TRAVEL=1/);
      expect(plain.clock.now().toISOString()).toBe("2027-05-10T12:00:00.000Z");

      const caller = await callerFor(plain, user.id);
      expect(await caller.adminBilling.clock()).toMatchObject({ enabled: false, offset: null });
      await expect(
        caller.adminBilling.advanceClock({ by: "hours", amount: 1 }),
      ).rejects.toMatchObject({
        code: "PRECONDITION_FAILED",
        cause: { code: "time_travel_disabled" },
      });
    } finally {
      await plain.stop();
    }
  });
});
