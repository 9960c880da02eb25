import { and, desc, eq, isNull, sql } from "drizzle-orm";

import { z } from "zod";

import { deadLetters } from "@/drizzle/schema";
import type { Actor } from "@/server/actor";
import type { Clock } from "@/server/clock";
import { defineCommand, execute, type CommandRuntime } from "@/server/commands";
import type { Db, DbOrTx } from "@/server/db/client";
import { AppError } from "@/server/errors";
import { storable } from "@/server/text";

import type { Outcome, WireEvent } from "./reactions";

export interface DeadLetterInput {
  reaction: string;
  event: WireEvent;
  error: string;
  attempts: number;
}

/**
 * Records a run that failed after its last retry; a later failure of the same pair reopens the row.
 */
export async function recordDeadLetter(
  db: DbOrTx,
  clock: Clock,
  input: DeadLetterInput,
): Promise<void> {
  const now = clock.now();
  await db
    .insert(deadLetters)
    .values({
      reaction: input.reaction,
      eventId: input.event.id,
      eventName: input.event.name,
      workspaceId: input.event.workspaceId,
      event: input.event as unknown as Record<string, unknown>,
      error: storable(input.error).slice(0, 4000),
      attempts: input.attempts,
      failedAt: now,
    })
    .onConflictDoUpdate({
      target: [deadLetters.eventId, deadLetters.reaction],
      set: {
        error: storable(input.error).slice(0, 4000),
        attempts: sql`${deadLetters.attempts} + ${input.attempts}`,
        failedAt: now,
        resolvedAt: null,
        resolvedBy: null,
      },
    });
}

export async function listDeadLetters(
  db: Db,
  options: { includeResolved?: boolean; limit?: number } = {},
) {
  return db
    .select()
    .from(deadLetters)
    .where(options.includeResolved ? undefined : isNull(deadLetters.resolvedAt))
    .orderBy(desc(deadLetters.failedAt))
    .limit(options.limit ?? 100);
}

const settleReplay = defineCommand({
  name: "events.replayDeadLetter",
  input: z.object({
    id: z.uuid(),
    outcome: z.enum(["handled", "duplicate"]).nullable(),
    error: z.string().nullable(),
  }),
  async run({ tx, actor, clock }, input) {
    if (input.error === null) {
      await tx
        .update(deadLetters)
        .set({
          resolvedAt: clock.now(),
          resolvedBy: actor.type === "user" ? actor.userId : null,
          replayError: null,
        })
        .where(and(eq(deadLetters.id, input.id), isNull(deadLetters.resolvedAt)));
    } else {
      await tx
        .update(deadLetters)
        .set({ replayError: input.error.slice(0, 4000) })
        .where(eq(deadLetters.id, input.id));
    }
    // The audit entry belongs to the workspace whose event failed, so its admin page shows it.
    const [letter] = await tx
      .select({ workspaceId: deadLetters.workspaceId })
      .from(deadLetters)
      .where(eq(deadLetters.id, input.id));

    return { result: null, workspaceId: letter?.workspaceId ?? null };
  },
});

/**
 * Runs a dead-lettered reaction again, now, through the same inbox as every
 * run, so a reaction that did commit cannot apply twice. The outcome is
 * recorded on the row and in the audit log; on failure the row stays open
 * with the new error.
 */
export async function replayDeadLetter(
  runtime: CommandRuntime,
  id: string,
  actor: Actor,
  run: (reactionId: string, event: WireEvent) => Promise<Outcome>,
): Promise<{ outcome: Outcome }> {
  const [row] = await runtime.db.select().from(deadLetters).where(eq(deadLetters.id, id));
  if (!row) throw new AppError("not_found", "No dead letter with that id");
  if (row.resolvedAt)
    throw new AppError("conflict", "This dead letter was already replayed successfully");

  let outcome: Outcome;
  try {
    outcome = await run(row.reaction, row.event as unknown as WireEvent);
  } catch (error) {
    // Errors may quote input (a NUL, a lone surrogate) that the database cannot store.
    const message = storable(error instanceof Error ? error.message : String(error));
    await execute(runtime, settleReplay, { id, outcome: null, error: message }, { actor });
    throw new AppError("conflict", `Replay failed again: ${message}`, {
      details: { deadLetterId: id },
    });
  }
  await execute(runtime, settleReplay, { id, outcome, error: null }, { actor });

  return { outcome };
}
