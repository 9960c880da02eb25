import { sql } from "drizzle-orm";

import { reactionRuns } from "@/drizzle/schema";
import type { Tx } from "@/server/db/client";
import { recordDeadLetter } from "@/server/events/dead-letters";
import { storable } from "@/server/text";
import type { Transport } from "@/server/events/relay";
import type { WireEvent } from "@/server/events/reactions";

import { dueMinutes, lastDueMinute, parseCron, type CronSchedule } from "./cron";
import {
  concurrencyKey,
  cronWireEvent,
  executeReaction,
  type ExecuteDeps,
  type Reaction,
} from "./reaction";

export interface LocalDriverOptions {
  /** Runs executed at once. */
  concurrency?: number;
  /**
   * How long a claim lasts without a heartbeat. A running reaction renews it
   * every third of this, so only a dead worker's runs expire; they are
   * claimed again within this long. Taking over a run that was in fact still
   * alive is safe: the second attempt waits on the inbox row and finds it handled.
   */
  leaseMs?: number;
  /** First retry delay; doubles per attempt up to maxBackoffMs. */
  backoffBaseMs?: number;
  maxBackoffMs?: number;
  pollIntervalMs?: number;
}

/**
 * A gap between two cron checks longer than this (the platform clock was
 * moved forward, or the process slept) runs each cron once, at its latest
 * due minute, instead of once per missed minute: every cron reaction sweeps
 * whatever is due by its clock, so one run catches up.
 */
export const CRON_CATCH_UP_MS = 60 * 60_000;

interface RunRow extends Record<string, unknown> {
  id: string | number;
  event_id: string;
  reaction: string;
  attempts: number;
  event: WireEvent;
}

/**
 * Runs the event bus table in-process when no Inngest server is configured.
 *
 * The relay publishes an event by inserting one `reaction_runs` row per
 * subscribed reaction, in the same transaction that marks the outbox row
 * published, so nothing is lost between the two. Workers claim due runs with
 * SKIP LOCKED, one at a time per (reaction, concurrency key); a failed run is
 * retried with exponential backoff and, after its last retry, moved to dead
 * letters. Cron reactions get one run per scheduled minute, deduplicated by
 * the run's unique (event id, reaction) key.
 */
export class LocalDriver {
  readonly transport: Transport;
  private readonly byEvent = new Map<string, Reaction[]>();
  private readonly byId = new Map<string, Reaction>();
  private readonly crons: { reaction: Reaction; schedule: CronSchedule }[] = [];
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly backoffBaseMs: number;
  private readonly maxBackoffMs: number;
  private readonly pollIntervalMs: number;
  private lastCronCheck: Date;
  private readonly inFlight = new Set<Promise<void>>();
  private looping: Promise<void> | undefined;
  private waiting: (() => void) | undefined;
  private stopped = true;

  constructor(
    private readonly deps: ExecuteDeps,
    bus: readonly Reaction[],
    options: LocalDriverOptions = {},
  ) {
    for (const reaction of bus) {
      if (this.byId.has(reaction.id)) throw new Error(`Duplicate reaction id ${reaction.id}`);
      this.byId.set(reaction.id, reaction);
      if (reaction.kind === "event") {
        this.byEvent.set(reaction.event, [...(this.byEvent.get(reaction.event) ?? []), reaction]);
      } else {
        this.crons.push({ reaction, schedule: parseCron(reaction.cron) });
      }
    }
    this.concurrency = options.concurrency ?? 4;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.backoffBaseMs = options.backoffBaseMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 10 * 60_000;
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.lastCronCheck = deps.clock.now();

    this.transport = {
      name: "in-process",
      publish: (tx, events) => this.enqueue(tx, events),
    };
  }

  reaction(id: string): Reaction | undefined {
    return this.byId.get(id);
  }

  private async enqueue(tx: Tx, events: WireEvent[]): Promise<void> {
    const now = this.deps.clock.now();
    const rows = events.flatMap((event) =>
      (this.byEvent.get(event.name) ?? []).map((reaction) => ({
        eventId: event.id,
        reaction: reaction.id,
        concurrencyKey: concurrencyKey(reaction, event),
        event: event as unknown as Record<string, unknown>,
        nextAttemptAt: now,
      })),
    );
    if (rows.length > 0) await tx.insert(reactionRuns).values(rows).onConflictDoNothing();
  }

  /**
   * Enqueues cron runs for every scheduled minute since the last check, up to the clock's now;
   * after a gap longer than CRON_CATCH_UP_MS, one run per cron at its latest due minute.
   */
  async enqueueCron(): Promise<number> {
    const now = this.deps.clock.now();
    const since = this.lastCronCheck;
    this.lastCronCheck = now;
    const collapse = now.getTime() - since.getTime() > CRON_CATCH_UP_MS;
    const rows = this.crons.flatMap(({ reaction, schedule }) =>
      (collapse
        ? [lastDueMinute(schedule, since, now)].filter((minute) => minute !== undefined)
        : dueMinutes(schedule, since, now)
      ).map((minute) => {
        const event = cronWireEvent(reaction.id, minute);
        return {
          eventId: event.id,
          reaction: reaction.id,
          concurrencyKey: concurrencyKey(reaction, event),
          event: event as unknown as Record<string, unknown>,
          nextAttemptAt: now,
        };
      }),
    );
    if (rows.length === 0) return 0;
    const inserted = await this.deps.db
      .insert(reactionRuns)
      .values(rows)
      .onConflictDoNothing()
      .returning({ id: reactionRuns.id });

    return inserted.length;
  }

  /** Claims due runs (at most one per reaction and concurrency key) and runs them. */
  /** Claims due runs and waits for all of them: one round, for tests and drains. */
  async runDue(): Promise<number> {
    const claimed = await this.claim(this.concurrency);
    await Promise.all(claimed.map((run) => this.runOne(run)));

    return claimed.length;
  }

  /** Claims up to `limit` due runs, at most one per reaction and concurrency key. */
  private async claim(limit: number): Promise<RunRow[]> {
    const now = this.deps.clock.now().toISOString();
    const lease = new Date(this.deps.clock.now().getTime() + this.leaseMs).toISOString();
    // A run whose lease ran out belongs to a worker that died: make it claimable again.
    await this.deps.db.execute(sql`
      UPDATE reaction_runs
      SET status = 'pending', locked_until = NULL, updated_at = ${now}::timestamptz
      WHERE status = 'running' AND locked_until < ${now}::timestamptz`);

    const claimed = await this.deps.db.execute<RunRow>(sql`
      WITH due AS (
        SELECT DISTINCT ON (r.reaction, r.concurrency_key) r.id
        FROM reaction_runs r
        WHERE r.status = 'pending' AND r.next_attempt_at <= ${now}::timestamptz
          AND NOT EXISTS (
            SELECT 1 FROM reaction_runs busy
            WHERE busy.status = 'running'
              AND busy.reaction = r.reaction
              AND busy.concurrency_key = r.concurrency_key
          )
        ORDER BY r.reaction, r.concurrency_key, r.id
      ), picked AS (
        SELECT id FROM reaction_runs
        WHERE id IN (SELECT id FROM due) AND status = 'pending'
        ORDER BY id
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED
      )
      UPDATE reaction_runs SET status = 'running', attempts = attempts + 1,
        locked_until = ${lease}::timestamptz, updated_at = ${now}::timestamptz
      WHERE id IN (SELECT id FROM picked)
      RETURNING id, event_id, reaction, attempts, event`);

    return [...claimed];
  }

  private async runOne(run: RunRow): Promise<void> {
    const reaction = this.byId.get(run.reaction);
    const log = this.deps.logger.child({
      reaction: run.reaction,
      eventId: run.event_id,
      attempt: run.attempts,
    });
    const heartbeat = setInterval(() => {
      const until = new Date(this.deps.clock.now().getTime() + this.leaseMs).toISOString();
      this.deps.db
        .execute(
          sql`
          UPDATE reaction_runs SET locked_until = ${until}::timestamptz
          WHERE id = ${run.id} AND status = 'running'`,
        )
        .catch((error: unknown) =>
          log.warn({ err: error }, "could not renew a reaction run's lease"),
        );
    }, this.leaseMs / 3);
    heartbeat.unref();
    try {
      if (!reaction) throw new Error(`No reaction ${run.reaction} in the event bus table`);
      await executeReaction(this.deps, reaction, run.event);
      await this.deps.db.execute(sql`
        UPDATE reaction_runs SET status = 'done', locked_until = NULL, last_error = NULL,
          updated_at = ${this.deps.clock.now().toISOString()}::timestamptz
        WHERE id = ${run.id}`);
    } catch (error) {
      await this.fail(run, reaction, error, log);
    } finally {
      clearInterval(heartbeat);
    }
  }

  private async fail(
    run: RunRow,
    reaction: Reaction | undefined,
    error: unknown,
    log: ExecuteDeps["logger"],
  ): Promise<void> {
    // Errors may quote input (a NUL, a lone surrogate) that the database cannot store.
    const message = storable(error instanceof Error ? error.message : String(error));
    const now = this.deps.clock.now();
    const nowText = now.toISOString();
    const retries = reaction?.retries ?? 0;

    if (run.attempts > retries) {
      await this.deps.db.transaction(async (tx) => {
        await tx.execute(sql`
          UPDATE reaction_runs SET status = 'dead', locked_until = NULL, last_error = ${message},
            updated_at = ${nowText}::timestamptz
          WHERE id = ${run.id}`);
        await recordDeadLetter(tx, this.deps.clock, {
          reaction: run.reaction,
          event: run.event,
          error: message,
          attempts: run.attempts,
        });
      });
      log.error({ err: error }, "reaction failed after its last retry; moved to dead letters");
      return;
    }

    const delay = Math.min(this.maxBackoffMs, this.backoffBaseMs * 2 ** (run.attempts - 1));
    await this.deps.db.execute(sql`
      UPDATE reaction_runs SET status = 'pending', locked_until = NULL, last_error = ${message},
        next_attempt_at = ${new Date(now.getTime() + delay).toISOString()}::timestamptz,
        updated_at = ${nowText}::timestamptz
      WHERE id = ${run.id}`);
    log.warn({ err: error, retryInMs: delay }, "reaction failed; will retry");
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.looping = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.looping;
    await Promise.all(this.inFlight);
  }

  /** New runs were queued: claim them now rather than at the next poll. */
  wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }

  private nap(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.pollIntervalMs);
      timer.unref();
      this.waiting = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * A pool of `concurrency` slots: whenever one is free, claim a due run
   * into it. A slow run (a webhook to a receiver that takes its time) holds
   * only its own slot; the others keep serving every workspace.
   */
  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.enqueueCron();
        const free = this.concurrency - this.inFlight.size;
        const claimed = free > 0 ? await this.claim(free) : [];
        for (const run of claimed) {
          const running: Promise<void> = this.runOne(run).finally(() => {
            this.inFlight.delete(running);
            this.wake();
          });
          this.inFlight.add(running);
        }
        if (claimed.length > 0 && this.inFlight.size < this.concurrency) continue;
      } catch (error) {
        this.deps.logger.error({ err: error }, "in-process driver loop failed");
      }
      await this.nap();
    }
  }
}
