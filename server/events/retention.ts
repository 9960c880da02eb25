import { sql } from "drizzle-orm";

import type { CronHandler } from "./reactions";

/**
 * How long the backbone's bookkeeping is kept. Inbox rows must outlive any
 * redelivery of their event (Inngest deduplicates for 24 hours; the relay
 * only resends unpublished rows), so 90 days is generous. Dead letters and
 * unpublished outbox rows are never pruned.
 */
export const retention = {
  finishedRunsDays: 7,
  publishedEventsDays: 90,
  inboxDays: 90,
  /** Rows deleted per table per run, so one run never holds long locks. */
  batch: 5_000,
};

const DAY_MS = 24 * 60 * 60 * 1000;

/** Hourly: deletes finished reaction runs, old published events and old inbox rows. */
export const pruneEventTables: CronHandler = async ({ tx, tick, log }) => {
  const at = tick.scheduledFor.getTime();
  const before = (days: number) => new Date(at - days * DAY_MS).toISOString();

  const runs = await tx.execute(sql`
    DELETE FROM reaction_runs WHERE id IN (
      SELECT id FROM reaction_runs
      WHERE status = 'done' AND updated_at < ${before(retention.finishedRunsDays)}::timestamptz
      LIMIT ${retention.batch})`);
  const events = await tx.execute(sql`
    DELETE FROM outbox WHERE id IN (
      SELECT id FROM outbox
      WHERE published_at < ${before(retention.publishedEventsDays)}::timestamptz
      LIMIT ${retention.batch})`);
  const inbox = await tx.execute(sql`
    DELETE FROM event_inbox WHERE (reaction, event_id) IN (
      SELECT reaction, event_id FROM event_inbox
      WHERE handled_at < ${before(retention.inboxDays)}::timestamptz
      LIMIT ${retention.batch})`);

  log.info({ runs: runs.count, events: events.count, inbox: inbox.count }, "pruned event tables");
};
