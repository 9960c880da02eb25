import { and, asc, eq, gt, inArray, sql } from "drizzle-orm";
import type { Sql } from "postgres";
import { z } from "zod";

import { clockOffsets, subscriptions, tiers, workspaces } from "@/drizzle/schema";
import { isOffsetClock, OffsetClock, type Clock } from "@/server/clock";
import { defineCommand, execute, type CommandMeta } from "@/server/commands";
import type { DbOrTx } from "@/server/db/client";
import { AppError } from "@/server/errors";
import type { Runtime } from "@/server/runtime";

/**
 * Time travel: in the embedded default a platform admin moves the platform
 * clock forward (hours, days, or just past the next period end) and watches
 * renewals, rollovers and expiries happen through the normal reactions.
 *
 * The clock is real time plus an offset (OffsetClock). The offset lives in
 * the one row of `clock_offsets`, so it survives restarts; it only grows,
 * so no process ever sees time run backwards. Other processes on the same
 * database hear of a move through NOTIFY on CLOCK_OFFSET_CHANNEL.
 */

/** The longest single move: a year and a day, so a typo cannot send the platform to 2127. */
export const MAX_JUMP_DAYS = 366;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export const CLOCK_OFFSET_CHANNEL = "tally_clock_offset";

/** Subscriptions that renew: a period end of theirs is one the sweep will bill. */
const RENEWING = ["trialing", "active", "past_due"] as const;

export const advanceClockInput = z.discriminatedUnion("by", [
  z.object({
    by: z.literal("hours"),
    amount: z
      .number()
      .int("Move by whole hours")
      .min(1, "Move by at least 1 hour")
      .max(MAX_JUMP_DAYS * 24, `Move by at most ${MAX_JUMP_DAYS * 24} hours at once`),
  }),
  z.object({
    by: z.literal("days"),
    amount: z
      .number()
      .int("Move by whole days")
      .min(1, "Move by at least 1 day")
      .max(MAX_JUMP_DAYS, `Move by at most ${MAX_JUMP_DAYS} days at once`),
  }),
  z.object({ by: z.literal("next_period_end") }),
]);
export type AdvanceClockInput = z.input<typeof advanceClockInput>;

/** The persisted offset, 0 before anyone moved the clock. */
export async function loadClockOffset(db: DbOrTx): Promise<number> {
  const [row] = await db.select().from(clockOffsets).where(eq(clockOffsets.id, 1));

  return row?.offsetMs ?? 0;
}

/**
 * The platform clock for a runtime: an OffsetClock over `base` starting at
 * the persisted offset when time travel is on, `base` itself otherwise.
 */
export async function platformClock(db: DbOrTx, base: Clock, timeTravel: boolean): Promise<Clock> {
  if (!timeTravel) return base;

  return new OffsetClock(await loadClockOffset(db), base);
}

/**
 * Keeps an OffsetClock level with moves made by other processes: each NOTIFY
 * carries the new offset, and a (re)connected listener reads the row again,
 * since notices may have been missed meanwhile.
 */
export async function followClockOffset(sql: Sql, db: DbOrTx, clock: OffsetClock): Promise<void> {
  await sql.listen(
    CLOCK_OFFSET_CHANNEL,
    (payload) => clock.moveTo(Number(payload)),
    () => void loadClockOffset(db).then((offset) => clock.moveTo(offset)),
  );
}

/** "+3d 4h", "+45m", "+0m": an offset as the admin page and the start log show it. */
export function formatOffset(offsetMs: number): string {
  const minutes = Math.floor(offsetMs / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  const parts = [
    days > 0 ? `${days}d` : "",
    hours > 0 ? `${hours}h` : "",
    rest > 0 ? `${rest}m` : "",
  ];
  const text = parts.filter((part) => part !== "").join(" ");

  return `+${text || "0m"}`;
}

/** What the start log line says about the clock. */
export function clockMode(clock: Clock): string {
  return isOffsetClock(clock) ? `time travel, ${formatOffset(clock.offsetMs)}` : "real time";
}

/**
 * The next period ends after `now` of renewing subscriptions of active
 * workspaces, soonest first: what will renew if the clock moves past them.
 */
export async function upcomingPeriodEnds(db: DbOrTx, now: Date, limit = 10) {
  return db
    .select({
      workspaceId: workspaces.id,
      workspaceName: workspaces.name,
      slug: workspaces.slug,
      tierName: tiers.name,
      tierVersion: tiers.version,
      periodEnd: subscriptions.currentPeriodEnd,
      subscriptionStatus: subscriptions.status,
    })
    .from(subscriptions)
    .innerJoin(workspaces, eq(workspaces.id, subscriptions.workspaceId))
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .where(
      and(
        eq(workspaces.status, "active"),
        inArray(subscriptions.status, [...RENEWING]),
        gt(subscriptions.currentPeriodEnd, now),
      ),
    )
    .orderBy(asc(subscriptions.currentPeriodEnd), asc(workspaces.id))
    .limit(limit);
}

function timeTravelDisabled(): AppError {
  return new AppError(
    "time_travel_disabled",
    "Time travel is off: the platform runs on real time. It is on by default with the embedded " +
      "database outside production; set TALLY_TIME_TRAVEL=1 to turn it on elsewhere.",
  );
}

/**
 * Moves the platform clock forward and records the new offset. Only the row
 * changes here; `advanceClock` below moves this process's clock once the
 * row has committed, and NOTIFY (sent at commit) moves the others'.
 */
export const advanceClockCommand = defineCommand({
  name: "clock.advance",
  input: advanceClockInput,
  async run({ tx, clock }, input) {
    if (!isOffsetClock(clock)) throw timeTravelDisabled();

    // The row is the truth across processes: lock it, and start from the larger of the two.
    await tx.insert(clockOffsets).values({ id: 1, offsetMs: 0 }).onConflictDoNothing();
    const [row] = await tx.select().from(clockOffsets).where(eq(clockOffsets.id, 1)).for("update");
    const fromOffset = Math.max(row?.offsetMs ?? 0, clock.offsetMs);
    const from = new Date(clock.now().getTime() - clock.offsetMs + fromOffset);

    let jumpMs: number;
    let periodEnd: { workspaceId: string; periodEnd: Date } | undefined;
    if (input.by === "next_period_end") {
      [periodEnd] = await upcomingPeriodEnds(tx, from, 1);
      if (!periodEnd) {
        throw new AppError(
          "conflict",
          "No active subscription has a period end ahead of the platform clock",
        );
      }
      // One second past the end, so the period has ended whatever the sweep's precision.
      jumpMs = periodEnd.periodEnd.getTime() + 1000 - from.getTime();
      if (jumpMs > MAX_JUMP_DAYS * DAY_MS) {
        throw new AppError(
          "conflict",
          `The next period end is more than ${MAX_JUMP_DAYS} days ahead; move by days instead`,
        );
      }
    } else {
      jumpMs = input.amount * (input.by === "hours" ? HOUR_MS : DAY_MS);
    }

    const offsetMs = fromOffset + jumpMs;
    const to = new Date(from.getTime() + jumpMs);
    await tx
      .update(clockOffsets)
      .set({ offsetMs, updatedAt: sql`now()` })
      .where(eq(clockOffsets.id, 1));
    await tx.execute(sql`SELECT pg_notify(${CLOCK_OFFSET_CHANNEL}, ${String(offsetMs)})`);

    return {
      result: { offsetMs, from, to },
      audit: {
        ...input,
        from: from.toISOString(),
        to: to.toISOString(),
        offset: formatOffset(offsetMs),
        ...(periodEnd ? { workspaceId: periodEnd.workspaceId } : {}),
      },
    };
  },
});

/**
 * Moves the clock (the command above), then at once queues every cron
 * reaction of the in-process driver for the new time and wakes it and the
 * relay, so renewals due by then start within seconds rather than at the
 * next poll.
 *
 * TODO: with Inngest running the reactions, its scheduler keeps real time: cron reactions
 * see the moved clock only at their next real-time minute, and cannot be started at once.
 */
export async function advanceClock(runtime: Runtime, input: AdvanceClockInput, meta: CommandMeta) {
  const result = await execute(runtime, advanceClockCommand, input, meta);
  if (isOffsetClock(runtime.clock)) runtime.clock.moveTo(result.offsetMs);
  if (runtime.driver) {
    await runtime.driver.enqueueCron();
    runtime.driver.wake();
  }
  runtime.wake();

  return { ...result, offset: formatOffset(result.offsetMs) };
}

/** The clock page: whether time travel is on, the platform time and offset, what renews next. */
export async function clockStatus(runtime: Pick<Runtime, "db" | "clock">) {
  const clock = runtime.clock;
  const now = clock.now();
  const enabled = isOffsetClock(clock);

  return {
    enabled,
    now,
    offsetMs: enabled ? clock.offsetMs : 0,
    offset: enabled ? formatOffset(clock.offsetMs) : null,
    upcoming: await upcomingPeriodEnds(runtime.db, now, 10),
  };
}
