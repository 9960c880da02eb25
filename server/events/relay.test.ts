import { randomUUID } from "node:crypto";

import { eq, inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { outbox } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { execute, defineCommand } from "@/server/commands";
import type { Runtime } from "@/server/runtime";
import { testRuntime } from "@/test/support/runtime";
import { z } from "zod";

import { event } from "./catalogue";
import { writeEvents } from "./outbox";
import type { WireEvent } from "./reactions";
import { Relay, type Transport } from "./relay";

const clock = new ManualClock();
let runtime: Runtime;
beforeAll(async () => {
  runtime = await testRuntime({ clock });
});
afterAll(async () => {
  await runtime.stop();
});

/** A transport that remembers what it was given, in order, across relays. */
function recorder(options: { delayMs?: number; failTimes?: number } = {}) {
  const sent: WireEvent[] = [];
  let failures = options.failTimes ?? 0;
  const transport: Transport = {
    name: "recorder",
    async publish(_tx, events) {
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      sent.push(...events);
      if (failures > 0) {
        failures -= 1;
        throw new Error("connection reset after send");
      }
    },
  };

  return { sent, transport };
}

async function emit(workspaceId: string, count: number) {
  await runtime.db.transaction(async (tx) => {
    await writeEvents(
      tx,
      Array.from({ length: count }, () => event("workspace/reactivated", { workspaceId })),
      clock,
    );
  });
}

/** Only this test's rows: other tests in the file share the outbox. */
async function unpublishedIds(ids: string[]) {
  const rows = await runtime.db
    .select({ id: outbox.id })
    .from(outbox)
    .where(sql`${inArray(outbox.id, ids)} AND ${outbox.publishedAt} IS NULL`);

  return rows.map((row) => row.id);
}

async function clearOutbox() {
  await runtime.db
    .update(outbox)
    .set({ publishedAt: clock.now() })
    .where(sql`${outbox.publishedAt} IS NULL`);
}

describe("writing events", () => {
  it("numbers each workspace's events without gaps, across transactions", async () => {
    const workspaceId = randomUUID();
    await emit(workspaceId, 2);
    await emit(workspaceId, 3);
    const rows = await runtime.db
      .select()
      .from(outbox)
      .where(eq(outbox.workspaceId, workspaceId))
      .orderBy(outbox.seq);

    expect(rows.map((row) => row.streamSeq)).toEqual([1, 2, 3, 4, 5]);
    expect(rows.every((row) => row.streamId === workspaceId && row.version === 1)).toBe(true);
  });

  it("numbers interleaved streams of one transaction in the order written, beside others", async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    await emit(a, 2);
    const interleaved = () =>
      runtime.db.transaction((tx) =>
        writeEvents(
          tx,
          [a, b, a, b, b].map((workspaceId) => event("workspace/reactivated", { workspaceId })),
          clock,
        ),
      );
    // Two such transactions at once take the two streams in the same order: no deadlock.
    const written = await Promise.all([interleaved(), interleaved()]);
    const rows = await runtime.db
      .select({ id: outbox.id, streamId: outbox.streamId, streamSeq: outbox.streamSeq })
      .from(outbox)
      .where(inArray(outbox.streamId, [a, b]))
      .orderBy(outbox.seq);
    const seqOf = new Map(rows.map((row) => [row.id, row.streamSeq]));

    for (const stream of [a, b]) {
      const seqs = rows.filter((row) => row.streamId === stream).map((row) => row.streamSeq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    }
    // Within each transaction, each stream's events keep the order they were written in.
    for (const ids of written) {
      const [a1, b1, a2, b2, b3] = ids.map((id) => seqOf.get(id)!);
      expect([a2! - a1!, b2! - b1!, b3! - b2!]).toEqual([1, 1, 1]);
    }
    expect(rows).toHaveLength(12);
  });

  it("leaves no event behind when the command's transaction rolls back", async () => {
    const workspaceId = randomUUID();
    const failing = defineCommand({
      name: "test.failing",
      input: z.object({}),
      async run({ tx }) {
        await writeEvents(tx, [event("workspace/reactivated", { workspaceId })], clock);
        throw new Error("rule broken after the event was written");
      },
    });
    await expect(
      execute(runtime, failing, {}, { actor: { type: "system", reason: "test" } }),
    ).rejects.toThrow();

    expect(
      await runtime.db.select().from(outbox).where(eq(outbox.workspaceId, workspaceId)),
    ).toEqual([]);
  });

  it("refuses data that does not match the catalogue", async () => {
    await expect(
      runtime.db.transaction((tx) =>
        writeEvents(
          tx,
          [{ name: "workspace/reactivated", data: { workspaceId: "not-a-uuid" } }],
          clock,
        ),
      ),
    ).rejects.toThrow(/does not match its schema/);
  });
});

describe("the relay", () => {
  it("publishes each committed event once, in commit order per workspace", async () => {
    await clearOutbox();
    const a = randomUUID();
    const b = randomUUID();
    await emit(a, 3);
    await emit(b, 2);
    await emit(a, 1);
    const { sent, transport } = recorder();
    const relay = new Relay(runtime.db, transport, clock, runtime.logger, { batchSize: 2 });

    expect(await relay.drain()).toBe(6);
    expect(sent.filter((e) => e.workspaceId === a).map((e) => e.streamSeq)).toEqual([1, 2, 3, 4]);
    expect(sent.filter((e) => e.workspaceId === b).map((e) => e.streamSeq)).toEqual([1, 2]);
    expect(await relay.drain()).toBe(0);
  });

  it("sends the same ids again after a crash between send and mark", async () => {
    await clearOutbox();
    const workspaceId = randomUUID();
    await emit(workspaceId, 3);
    const ids = (
      await runtime.db.select().from(outbox).where(eq(outbox.workspaceId, workspaceId))
    ).map((r) => r.id);
    const { sent, transport } = recorder({ failTimes: 1 });
    const relay = new Relay(runtime.db, transport, clock, runtime.logger);

    await expect(relay.publishBatch()).rejects.toThrow("connection reset");
    expect(await unpublishedIds(ids)).toHaveLength(3);
    const [failed] = await runtime.db.select().from(outbox).where(eq(outbox.id, ids[0]!));
    expect(failed).toMatchObject({ attempts: 1, lastError: "connection reset after send" });

    expect(await relay.drain()).toBe(3);
    expect(sent.map((e) => e.id)).toEqual([...ids, ...ids]);
    expect(await unpublishedIds(ids)).toEqual([]);
  });

  it("publishes each row once and in stream order with relays side by side", async () => {
    await clearOutbox();
    const streams = Array.from({ length: 5 }, () => randomUUID());
    for (let round = 0; round < 8; round++) {
      for (const workspaceId of streams) await emit(workspaceId, 5);
    }
    const { sent, transport } = recorder({ delayMs: 3 });
    const relays = Array.from(
      { length: 3 },
      () => new Relay(runtime.db, transport, clock, runtime.logger, { batchSize: 7 }),
    );

    const counts = await Promise.all(relays.map((relay) => relay.drain()));
    // A relay may stop while another holds rows; one last drain picks up anything left.
    counts.push(await relays[0]!.drain());

    expect(counts.reduce((sum, n) => sum + n, 0)).toBe(200);
    expect(new Set(sent.map((e) => e.id)).size).toBe(200);
    expect(sent).toHaveLength(200);
    for (const workspaceId of streams) {
      const order = sent.filter((e) => e.workspaceId === workspaceId).map((e) => e.streamSeq);
      expect(order).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    }
  });

  it("wakes on demand and on its timer", async () => {
    await clearOutbox();
    const workspaceId = randomUUID();
    const { sent, transport } = recorder();
    const relay = new Relay(runtime.db, transport, clock, runtime.logger, { intervalMs: 50 });
    relay.start();
    try {
      await emit(workspaceId, 1);
      relay.wake();
      await expect.poll(() => sent.length, { timeout: 2_000 }).toBe(1);
      // No wake this time: the timer finds it.
      await emit(workspaceId, 1);
      await expect.poll(() => sent.length, { timeout: 2_000 }).toBe(2);
    } finally {
      await relay.stop();
    }
  });
});
