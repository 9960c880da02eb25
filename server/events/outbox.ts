import { randomUUID } from "node:crypto";

import { sql, type SQL } from "drizzle-orm";

import { outbox } from "@/drizzle/schema";
import type { Clock } from "@/server/clock";
import type { Tx } from "@/server/db/client";

import { catalogue, objectOf, workspaceOf, type EventDraft } from "./catalogue";

export const GLOBAL_STREAM = "global";

export interface OutboxMeta {
  causationId?: string | null;
  requestId?: string | null;
  /**
   * The request each draft came from, by position, when one transaction
   * serves several requests (group commit); overrides `requestId`.
   */
  requestIds?: readonly (string | null)[];
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
  const built = eventsStatement(drafts, clock, meta);
  if (!built) return [];
  await tx.execute(built.statement);

  return built.ids;
}

/**
 * The statement writeEvents runs, built without touching the database: the
 * drafts are checked against the catalogue here, so a caller that sends it
 * together with other statements (group commit) learns of a bad draft before
 * anything is sent. Null when there is nothing to write.
 */
export function eventsStatement(
  drafts: readonly EventDraft[],
  clock: Clock,
  meta: OutboxMeta = {},
): { statement: SQL; ids: string[] } | null {
  if (drafts.length === 0) return null;

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

  // One statement claims each stream's next positions and inserts the rows, so writing events costs
  // one round trip. Streams are claimed in a fixed order (the upsert takes their rows in the order
  // listed) so two transactions never wait on each other in a cycle; the rows stay locked until the
  // commit, so within a stream the relay sees events in commit order, without gaps.
  const counts = new Map<string, number>();
  const rows = validated.map((draft, index) => {
    const position = (counts.get(draft.streamId) ?? 0) + 1;
    counts.set(draft.streamId, position);

    return {
      id: draft.id ?? randomUUID(),
      name: draft.name,
      version: draft.version,
      workspace_id: draft.workspaceId,
      stream_id: draft.streamId,
      position,
      object_type: draft.object.type,
      object_id: draft.object.id,
      data: draft.data,
      causation_id: meta.causationId ?? null,
      request_id: (meta.requestIds ? meta.requestIds[index] : meta.requestId) ?? null,
    };
  });
  const streams = [...counts].map(([stream_id, count]) => ({ stream_id, count }));
  // Rows travel as one JSON parameter: building a multi-row VALUES list costs more than the insert
  // itself once a transaction writes hundreds of events (group commit, batches). A row's position
  // in its stream is the stream's new last_seq less the rows that follow it in this transaction;
  // inserted in stream order, so the outbox's seq follows each stream's order.
  const statement = sql`
    WITH wanted AS (
      SELECT * FROM json_to_recordset(${JSON.stringify(streams)}::json)
        AS s(stream_id text, count bigint)
    ), claimed AS (
      INSERT INTO event_streams (stream_id, last_seq)
      SELECT stream_id, count FROM wanted ORDER BY stream_id
      ON CONFLICT (stream_id) DO UPDATE SET last_seq = event_streams.last_seq + excluded.last_seq
      RETURNING stream_id, last_seq
    )
    INSERT INTO ${outbox} (id, name, version, workspace_id, stream_id, stream_seq, object_type,
      object_id, data, occurred_at, causation_id, request_id)
    SELECT r.id, r.name, r.version, r.workspace_id, r.stream_id,
      c.last_seq - w.count + r.position, r.object_type, r.object_id, r.data,
      ${occurredAt.toISOString()}::timestamptz, r.causation_id, r.request_id
    FROM json_to_recordset(${JSON.stringify(rows)}::json) AS r(id uuid, name text, version int,
      workspace_id uuid, stream_id text, position bigint, object_type text, object_id text,
      data jsonb, causation_id text, request_id text)
    JOIN claimed AS c ON c.stream_id = r.stream_id
    JOIN wanted AS w ON w.stream_id = r.stream_id
    ORDER BY r.stream_id, r.position`;

  return { statement, ids: rows.map((row) => row.id) };
}
