import { randomUUID } from "node:crypto";

import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { deadLetters, eventInbox, outbox, reactionRuns } from "@/drizzle/schema";
import { cronWireEvent } from "@/inngest/reaction";
import { ManualClock } from "@/server/clock";
import type { Runtime } from "@/server/runtime";
import { testRuntime } from "@/test/support/runtime";

import { event } from "./catalogue";
import { writeEvents } from "./outbox";

const clock = new ManualClock("2027-06-01T00:00:00Z");
let runtime: Runtime;
beforeAll(async () => {
  runtime = await testRuntime({ clock });
});
afterAll(async () => {
  await runtime.stop();
});

describe("the events-prune cron reaction", () => {
  it("deletes old bookkeeping, keeps recent rows, unpublished events, dead letters", async () => {
    const old = new Date("2027-01-01T00:00:00Z");
    const recent = new Date("2027-05-31T00:00:00Z");
    const oldWorkspace = randomUUID();
    const pendingWorkspace = randomUUID();
    await runtime.db.transaction(async (tx) => {
      await writeEvents(tx, [event("workspace/reactivated", { workspaceId: oldWorkspace })], clock);
      await writeEvents(
        tx,
        [event("workspace/reactivated", { workspaceId: pendingWorkspace })],
        clock,
      );
    });
    await runtime.db
      .update(outbox)
      .set({ publishedAt: old })
      .where(eq(outbox.workspaceId, oldWorkspace));
    await runtime.db.insert(eventInbox).values([
      { reaction: "r", eventId: "old", handledAt: old },
      { reaction: "r", eventId: "recent", handledAt: recent },
    ]);
    await runtime.db.insert(reactionRuns).values([
      {
        eventId: "old",
        reaction: "r",
        concurrencyKey: "k",
        event: {},
        status: "done",
        nextAttemptAt: old,
        updatedAt: old,
      },
      {
        eventId: "recent",
        reaction: "r",
        concurrencyKey: "k",
        event: {},
        status: "done",
        nextAttemptAt: recent,
        updatedAt: recent,
      },
      {
        eventId: "stuck",
        reaction: "r",
        concurrencyKey: "k",
        event: {},
        status: "dead",
        nextAttemptAt: old,
        updatedAt: old,
      },
    ]);
    await runtime.db.insert(deadLetters).values({
      reaction: "r",
      eventId: "stuck",
      eventName: "workspace/reactivated",
      event: {},
      error: "x",
      attempts: 5,
      failedAt: old,
    });

    const scheduledFor = new Date("2027-06-01T00:17:00Z");
    await runtime.runReaction("events-prune", cronWireEvent("events-prune", scheduledFor));

    const ids = async (query: Promise<{ id: string }[]>) =>
      (await query).map((row) => row.id).sort();
    expect(
      await runtime.db.select().from(outbox).where(eq(outbox.workspaceId, oldWorkspace)),
    ).toEqual([]);
    expect(
      await runtime.db.select().from(outbox).where(eq(outbox.workspaceId, pendingWorkspace)),
    ).toHaveLength(1);
    expect(
      await ids(
        runtime.db
          .select({ id: eventInbox.eventId })
          .from(eventInbox)
          .where(sql`${eventInbox.reaction} = 'r'`),
      ),
    ).toEqual(["recent"]);
    expect(await ids(runtime.db.select({ id: reactionRuns.eventId }).from(reactionRuns))).toEqual([
      "recent",
      "stuck",
    ]);
    expect(await runtime.db.select().from(deadLetters)).toHaveLength(1);
  });
});
