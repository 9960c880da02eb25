import { randomUUID } from "node:crypto";

import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { dailyMetrics, deadLetters, outbox, reactionRuns } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import type { Tx } from "@/server/db/client";
import { event } from "@/server/events/catalogue";
import { replayDeadLetter } from "@/server/events/dead-letters";
import { writeEvents } from "@/server/events/outbox";
import { Relay } from "@/server/events/relay";
import type { Runtime } from "@/server/runtime";
import { testRuntime } from "@/test/support/runtime";

import { LocalDriver } from "./local-driver";
import { executeReaction, onCron, onEvent, type Reaction } from "./reaction";

const clock = new ManualClock("2027-02-01T10:00:00Z");
let runtime: Runtime;
beforeAll(async () => {
  runtime = await testRuntime({ clock });
});
afterAll(async () => {
  await runtime.stop();
});

/** Effects of the test reactions are counters in daily_metrics, keyed by a name the test picks. */
async function bump(tx: Tx, metric: string) {
  await tx.execute(sql`
    INSERT INTO daily_metrics (day, metric, value) VALUES ('2027-01-01', ${metric}, 1)
    ON CONFLICT (day, metric) DO UPDATE SET value = daily_metrics.value + 1`);
}

async function count(metric: string): Promise<number> {
  const [row] = await runtime.db.select().from(dailyMetrics).where(eq(dailyMetrics.metric, metric));

  return row?.value ?? 0;
}

let failuresLeft = 0;
const testBus: Reaction[] = [
  onEvent("workspace/reactivated", {
    id: "test-count-reactivation",
    description: "count reactivations",
    async handle({ tx, event: e }) {
      await bump(tx, `reactivated:${e.data.workspaceId}`);
    },
  }),
  onEvent("workspace/reactivated", {
    id: "test-flaky",
    description: "fails while failuresLeft > 0",
    retries: 2,
    async handle({ tx, event: e }) {
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        throw new Error("downstream unavailable");
      }
      await bump(tx, `flaky:${e.data.workspaceId}`);
    },
  }),
  onCron("*/5 * * * *", {
    id: "test-every-five-minutes",
    description: "cron counter",
    async handle({ tx }) {
      await bump(tx, "cron");
    },
  }),
];

let driver: LocalDriver;
let relay: Relay;
beforeEach(async () => {
  failuresLeft = 0;
  driver = new LocalDriver(runtime.executeDeps, testBus, { backoffBaseMs: 1_000, concurrency: 8 });
  relay = new Relay(runtime.db, driver.transport, clock, runtime.logger);
  // Start each test with nothing queued from the previous one.
  await runtime.db
    .update(outbox)
    .set({ publishedAt: clock.now() })
    .where(sql`${outbox.publishedAt} IS NULL`);
  await runtime.db
    .update(reactionRuns)
    .set({ status: "done" })
    .where(sql`${reactionRuns.status} <> 'dead'`);
});

async function reactivate(workspaceId: string) {
  await runtime.db.transaction((tx) =>
    writeEvents(tx, [event("workspace/reactivated", { workspaceId })], clock),
  );
  await relay.drain();
}

async function runsFor(workspaceId: string) {
  return runtime.db
    .select()
    .from(reactionRuns)
    .where(sql`${reactionRuns.event}->>'workspaceId' = ${workspaceId}`)
    .orderBy(reactionRuns.reaction);
}

describe("the in-process driver", () => {
  it("queues one run per subscribed reaction and runs each once", async () => {
    const workspaceId = randomUUID();
    await reactivate(workspaceId);
    expect((await runsFor(workspaceId)).map((run) => run.reaction)).toEqual([
      "test-count-reactivation",
      "test-flaky",
    ]);

    await driver.runDue();
    expect(await count(`reactivated:${workspaceId}`)).toBe(1);
    expect(await count(`flaky:${workspaceId}`)).toBe(1);
    expect((await runsFor(workspaceId)).every((run) => run.status === "done")).toBe(true);

    // A redelivered event (the relay re-sending after a crash) queues nothing new and changes
    // nothing.
    await runtime.db
      .update(outbox)
      .set({ publishedAt: null })
      .where(eq(outbox.workspaceId, workspaceId));
    await relay.drain();
    await driver.runDue();
    expect(await count(`reactivated:${workspaceId}`)).toBe(1);
  });

  it("retries a failing reaction with exponential backoff, then succeeds once", async () => {
    const workspaceId = randomUUID();
    failuresLeft = 2;
    await reactivate(workspaceId);
    const started = clock.now().getTime();

    await driver.runDue();
    let [, flaky] = await runsFor(workspaceId);
    expect(flaky).toMatchObject({
      status: "pending",
      attempts: 1,
      lastError: "downstream unavailable",
    });
    expect(flaky!.nextAttemptAt.getTime() - started).toBe(1_000);
    expect(await driver.runDue()).toBe(0); // not due yet

    clock.advance(1_000);
    await driver.runDue();
    [, flaky] = await runsFor(workspaceId);
    expect(flaky).toMatchObject({ status: "pending", attempts: 2 });
    expect(flaky!.nextAttemptAt.getTime() - clock.now().getTime()).toBe(2_000);

    clock.advance(2_000);
    await driver.runDue();
    [, flaky] = await runsFor(workspaceId);
    expect(flaky).toMatchObject({ status: "done", attempts: 3 });
    expect(await count(`flaky:${workspaceId}`)).toBe(1);
  });

  it("moves a run to dead letters after its last retry, and a replay applies it once", async () => {
    const workspaceId = randomUUID();
    failuresLeft = 10;
    await reactivate(workspaceId);
    for (let attempt = 0; attempt < 3; attempt++) {
      await driver.runDue();
      clock.advance(60_000);
    }
    const [, flaky] = await runsFor(workspaceId);
    expect(flaky).toMatchObject({ status: "dead", attempts: 3 });
    const [letter] = await runtime.db
      .select()
      .from(deadLetters)
      .where(and(eq(deadLetters.reaction, "test-flaky"), eq(deadLetters.workspaceId, workspaceId)));
    expect(letter).toMatchObject({
      eventName: "workspace/reactivated",
      attempts: 3,
      error: "downstream unavailable",
    });
    expect(await count(`flaky:${workspaceId}`)).toBe(0);

    const admin = { type: "user", userId: randomUUID() } as const;
    const run = (reactionId: string, wire: Parameters<typeof executeReaction>[2]) =>
      executeReaction(
        runtime.executeDeps,
        testBus.find((r) => r.id === reactionId)!,
        wire,
      );
    await expect(replayDeadLetter(runtime, letter!.id, admin, run)).rejects.toMatchObject({
      code: "conflict",
    });
    const [stillOpen] = await runtime.db
      .select()
      .from(deadLetters)
      .where(eq(deadLetters.id, letter!.id));
    expect(stillOpen).toMatchObject({ resolvedAt: null, replayError: "downstream unavailable" });

    failuresLeft = 0;
    expect(await replayDeadLetter(runtime, letter!.id, admin, run)).toEqual({ outcome: "handled" });
    expect(await count(`flaky:${workspaceId}`)).toBe(1);
    await expect(replayDeadLetter(runtime, letter!.id, admin, run)).rejects.toMatchObject({
      code: "conflict",
    });
    expect(await count(`flaky:${workspaceId}`)).toBe(1);
    const audit = await runtime.db.execute<{
      summary: { outcome: string | null; error: string | null };
      workspace_id: string | null;
    }>(
      sql`SELECT summary, workspace_id FROM audit_log
          WHERE command = 'events.replayDeadLetter' AND summary->>'id' = ${letter!.id} ORDER BY id`,
    );
    // Each replay is on the trail of the workspace whose event failed.
    expect(audit.map((row) => [row.summary.outcome, row.summary.error, row.workspace_id])).toEqual([
      [null, "downstream unavailable", workspaceId],
      ["handled", null, workspaceId],
    ]);
  });

  it("runs one event at a time per reaction and workspace, in order", async () => {
    const workspaceId = randomUUID();
    await reactivate(workspaceId);
    await reactivate(workspaceId);
    const other = randomUUID();
    await reactivate(other);

    // Two reactions × two workspaces may run now; the second event of the first workspace waits.
    expect(await driver.runDue()).toBe(4);
    const runs = await runsFor(workspaceId);
    expect(runs.filter((run) => run.status === "done")).toHaveLength(2);
    expect(runs.filter((run) => run.status === "pending")).toHaveLength(2);
    expect(await driver.runDue()).toBe(2);
    expect(await count(`reactivated:${workspaceId}`)).toBe(2);
  });

  it("keeps the lease of a long reaction alive while it runs", async () => {
    const slowBus: Reaction[] = [
      onEvent("usage/performance-alert", {
        id: "test-slow",
        description: "takes longer than its lease",
        async handle({ tx }) {
          await new Promise((resolve) => setTimeout(resolve, 400));
          await bump(tx, "slow");
        },
      }),
    ];
    // Leases are wall-clock here: the point is what happens while real time passes.
    const realDeps = { ...runtime.executeDeps, clock: { now: () => new Date() } };
    const slow = new LocalDriver(realDeps, slowBus, { leaseMs: 150 });
    const slowRelay = new Relay(runtime.db, slow.transport, clock, runtime.logger);
    await runtime.db.transaction((tx) =>
      writeEvents(
        tx,
        [event("usage/performance-alert", { metric: "p99", value: 2, threshold: 1 })],
        clock,
      ),
    );
    await slowRelay.drain();
    const watcher = new LocalDriver(realDeps, slowBus, { leaseMs: 150 });

    const running = slow.runDue();
    await new Promise((resolve) => setTimeout(resolve, 250));
    // Past the original lease: a second worker would take the run if the heartbeat had not renewed
    // it.
    expect(await watcher.runDue()).toBe(0);
    await running;
    expect(await count("slow")).toBe(1);
  });

  it("keeps serving other runs while a slow one holds its slot", async () => {
    let finishSlow: () => void = () => undefined;
    const slowDone = new Promise<void>((resolve) => (finishSlow = resolve));
    const poolBus: Reaction[] = [
      onEvent("usage/performance-alert", {
        id: "test-pool-slow",
        description: "waits until told",
        async handle() {
          await slowDone;
        },
      }),
      onEvent("workspace/reactivated", {
        id: "test-pool-fast",
        description: "counts",
        async handle({ tx, event: e }) {
          await bump(tx, `pool:${e.data.workspaceId}`);
        },
      }),
    ];
    const realDeps = { ...runtime.executeDeps, clock: { now: () => new Date() } };
    const pool = new LocalDriver(realDeps, poolBus, { concurrency: 2, pollIntervalMs: 20 });
    const poolRelay = new Relay(runtime.db, pool.transport, realDeps.clock, runtime.logger, {
      onPublished: () => pool.wake(),
    });
    pool.start();
    try {
      await runtime.db.transaction((tx) =>
        writeEvents(
          tx,
          [event("usage/performance-alert", { metric: "m", value: 2, threshold: 1 })],
          clock,
        ),
      );
      await poolRelay.drain();
      const workspaceId = randomUUID();
      for (let i = 0; i < 3; i++) {
        await runtime.db.transaction((tx) =>
          writeEvents(tx, [event("workspace/reactivated", { workspaceId: randomUUID() })], clock),
        );
      }
      await runtime.db.transaction((tx) =>
        writeEvents(tx, [event("workspace/reactivated", { workspaceId })], clock),
      );
      await poolRelay.drain();

      // The slow run is still waiting, yet every fast run gets done through the other slot.
      await expect.poll(() => count(`pool:${workspaceId}`), { timeout: 5_000 }).toBe(1);
    } finally {
      finishSlow();
      await pool.stop();
    }
  });

  it("takes back a run whose worker died holding it", async () => {
    const workspaceId = randomUUID();
    await reactivate(workspaceId);
    await runtime.db
      .update(reactionRuns)
      .set({ status: "running", attempts: 1, lockedUntil: new Date(clock.now().getTime() - 1) })
      .where(sql`${reactionRuns.event}->>'workspaceId' = ${workspaceId}`);

    expect(await driver.runDue()).toBe(2);
    expect(await count(`reactivated:${workspaceId}`)).toBe(1);
  });

  it("runs a cron reaction once per scheduled minute, even with two drivers", async () => {
    clock.set("2027-02-01T10:00:30Z");
    const first = new LocalDriver(runtime.executeDeps, testBus);
    const second = new LocalDriver(runtime.executeDeps, testBus);
    const before = await count("cron");

    clock.set("2027-02-01T10:12:00Z");
    expect(await first.enqueueCron()).toBe(2); // 10:05 and 10:10
    expect(await second.enqueueCron()).toBe(0);
    expect(await first.enqueueCron()).toBe(0);
    await first.runDue();
    await second.runDue();

    expect((await count("cron")) - before).toBe(2);
  });

  it("runs each cron once, at its latest due minute, after the clock jumps past an hour", async () => {
    clock.set("2027-03-01T08:00:30Z");
    const jumper = new LocalDriver(runtime.executeDeps, testBus);
    const before = await count("cron");

    // 40 days ahead: one run per missed five minutes would be 11,520 runs.
    clock.set("2027-04-10T08:03:10Z");
    expect(await jumper.enqueueCron()).toBe(1);
    const [queued] = await runtime.db
      .select()
      .from(reactionRuns)
      .where(eq(reactionRuns.eventId, "cron:test-every-five-minutes:2027-04-10T08:00:00.000Z"));
    expect(queued?.status).toBe("pending");
    await jumper.runDue();
    expect((await count("cron")) - before).toBe(1);

    // Back to minute by minute once the gap is short again.
    clock.set("2027-04-10T08:16:00Z");
    expect(await jumper.enqueueCron()).toBe(3); // 08:05, 08:10 and 08:15
  });
});
