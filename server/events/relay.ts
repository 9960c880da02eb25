import { inArray, sql } from "drizzle-orm";

import { outbox } from "@/drizzle/schema";

import type { Clock } from "@/server/clock";
import type { Db, Tx } from "@/server/db/client";
import type { Logger } from "@/server/logger";
import { storable } from "@/server/text";

import type { WireEvent } from "./reactions";

/**
 * Where the relay hands published events: the in-process driver's queue or
 * Inngest. `publish` runs inside the claim transaction; if it throws, the
 * rows stay unpublished and are claimed again.
 */
export interface Transport {
  readonly name: string;
  publish(tx: Tx, events: WireEvent[]): Promise<void>;
}

export interface RelayOptions {
  batchSize?: number;
  /** Poll interval; the relay is also woken after every commit that wrote events. */
  intervalMs?: number;
  /** Called after a batch was published and committed. */
  onPublished?: (count: number) => void;
}

interface ClaimedRow extends Record<string, unknown> {
  id: string;
  name: string;
  version: number;
  workspace_id: string | null;
  stream_seq: string | number;
  object_type: string | null;
  object_id: string | null;
  occurred_at: Date | string;
  causation_id: string | null;
  data: Record<string, unknown>;
}

/**
 * Moves committed outbox rows to the transport.
 *
 * - Claims the oldest unpublished rows with FOR UPDATE SKIP LOCKED, so
 *   several relays (processes, or a test's drain beside the app) never send
 *   one row at the same moment.
 * - Keeps per-stream order: a row is left for later while an earlier row of
 *   its stream is unpublished and held by another relay.
 * - Survives a crash between send and mark: the claim transaction never
 *   committed, so the rows are sent again with the same ids, and both
 *   transports deduplicate by event id (Inngest by `id`, the local queue by
 *   its unique (event, reaction) key).
 */
export class Relay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private readonly batchSize: number;
  private readonly intervalMs: number;
  private readonly onPublished: (count: number) => void;

  constructor(
    private readonly db: Db,
    private readonly transport: Transport,
    private readonly clock: Clock,
    private readonly log: Logger,
    options: RelayOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 200;
    this.intervalMs = options.intervalMs ?? 1000;
    this.onPublished = options.onPublished ?? (() => undefined);
  }

  /** Claims one batch and publishes it. Returns how many events went out. */
  async publishBatch(): Promise<number> {
    let claimedIds: string[] = [];
    try {
      const published = await this.db.transaction(async (tx) => {
        const rows = await tx.execute<ClaimedRow>(sql`
          WITH candidates AS (
            SELECT id, seq, stream_id FROM outbox
            WHERE published_at IS NULL
            ORDER BY seq
            LIMIT ${this.batchSize}
            FOR UPDATE SKIP LOCKED
          )
          SELECT o.id, o.name, o.version, o.workspace_id, o.stream_seq, o.object_type, o.object_id,
                 o.occurred_at, o.causation_id, o.data
          FROM outbox o JOIN candidates c ON c.id = o.id
          WHERE NOT EXISTS (
            SELECT 1 FROM outbox earlier
            WHERE earlier.published_at IS NULL
              AND earlier.stream_id = c.stream_id
              AND earlier.seq < c.seq
              AND earlier.id NOT IN (SELECT id FROM candidates)
          )
          ORDER BY o.seq`);
        if (rows.length === 0) return 0;
        claimedIds = rows.map((row) => row.id);

        const events = rows.map(toWireEvent);
        await this.transport.publish(tx, events);
        await tx
          .update(outbox)
          .set({
            publishedAt: this.clock.now(),
            attempts: sql`${outbox.attempts} + 1`,
            lastError: null,
          })
          .where(inArray(outbox.id, claimedIds));

        return rows.length;
      });
      if (published > 0) this.onPublished(published);

      return published;
    } catch (error) {
      if (claimedIds.length > 0) await this.recordFailure(claimedIds, error);
      throw error;
    }
  }

  /** Publishes until nothing is left that this relay can claim. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const published = await this.publishBatch();
      total += published;
      if (published === 0) return total;
    }
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Called after a commit that wrote events. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.loop().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.schedule(this.again ? 0 : this.intervalMs);
        this.again = false;
      });
    }, delayMs);
    this.timer.unref();
  }

  private async loop(): Promise<void> {
    try {
      await this.drain();
    } catch (error) {
      this.log.error(
        { err: error, transport: this.transport.name },
        "relay could not publish events",
      );
    }
  }

  private async recordFailure(ids: string[], error: unknown): Promise<void> {
    // Errors may quote input (a NUL, a lone surrogate) that the database cannot store.
    const message = storable(error instanceof Error ? error.message : String(error));
    try {
      await this.db
        .update(outbox)
        .set({ attempts: sql`${outbox.attempts} + 1`, lastError: message.slice(0, 2000) })
        .where(inArray(outbox.id, ids));
    } catch (recordError) {
      this.log.warn({ err: recordError }, "relay could not record a publish failure");
    }
  }
}

function toWireEvent(row: ClaimedRow): WireEvent {
  return {
    id: row.id,
    name: row.name,
    version: Number(row.version),
    workspaceId: row.workspace_id,
    streamSeq: Number(row.stream_seq),
    object: { type: row.object_type ?? "unknown", id: row.object_id ?? row.id },
    occurredAt: new Date(row.occurred_at).toISOString(),
    causationId: row.causation_id,
    data: row.data,
  };
}
