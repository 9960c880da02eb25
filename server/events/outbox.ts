import { randomUUID } from "node:crypto";

import { sql } from "drizzle-orm";

import { outbox } from "@/drizzle/schema";
import type { Clock } from "@/server/clock";
import type { Tx } from "@/server/db/client";

import { catalogue, objectOf, workspaceOf, type EventDraft } from "./catalogue";

export const GLOBAL_STREAM = "global";

export interface OutboxMeta {
  causationId?: string | null;
  requestId?: string | null;
}

/**
 * Writes events to the outbox inside the caller's transaction. Call it last
 * in the transaction: it locks each stream's row in event_streams until the
 * commit, so within a stream the relay sees events in commit order and
 * stream sequence numbers have no gaps.
 */
export async function writeEvents(
  tx: Tx,
  drafts: readonly EventDraft[],
  clock: Clock,
  meta: OutboxMeta = {},
): Promise<string[]> {
  if (drafts.length === 0) return [];

  const occurredAt = clock.now();
  const validated = drafts.map((draft) => {
    const definition = catalogue[draft.name];
    const parsed = definition.schema.safeParse(draft.data);
    if (!parsed.success) {
      // A programming error, not bad user input: the emitting code broke the catalogue's contract.
      throw new Error(`Event ${draft.name} does not match its schema: ${parsed.error.message}`);
    }
    const workspaceId = workspaceOf(draft);

    return {
      id: draft.id,
      name: draft.name,
      version: definition.version,
      data: parsed.data as Record<string, unknown>,
      workspaceId,
      streamId: workspaceId ?? GLOBAL_STREAM,
      object: objectOf(draft.name, parsed.data),
    };
  });

  // Lock streams in a fixed order so two transactions never wait on each other in a cycle.
  const counts = new Map<string, number>();
  for (const draft of validated) counts.set(draft.streamId, (counts.get(draft.streamId) ?? 0) + 1);
  const nextSeq = new Map<string, number>();
  for (const streamId of [...counts.keys()].sort()) {
    const count = counts.get(streamId) ?? 0;
    const rows = await tx.execute<{ last_seq: string }>(sql`
      INSERT INTO event_streams (stream_id, last_seq) VALUES (${streamId}, ${count})
      ON CONFLICT (stream_id) DO UPDATE SET last_seq = event_streams.last_seq + ${count}
      RETURNING last_seq`);
    nextSeq.set(streamId, Number(rows[0]?.last_seq) - count + 1);
  }

  const rows = validated.map((draft) => {
    const streamSeq = nextSeq.get(draft.streamId) ?? 1;
    nextSeq.set(draft.streamId, streamSeq + 1);

    return {
      id: draft.id ?? randomUUID(),
      name: draft.name,
      version: draft.version,
      workspaceId: draft.workspaceId,
      streamId: draft.streamId,
      streamSeq,
      objectType: draft.object.type,
      objectId: draft.object.id,
      data: draft.data,
      occurredAt,
      causationId: meta.causationId ?? null,
      requestId: meta.requestId ?? null,
    };
  });
  await tx.insert(outbox).values(rows);

  return rows.map((row) => row.id);
}
