import { sql } from "drizzle-orm";

import type { CronHandler } from "@/server/events/reactions";

/**
 * How long an Idempotency-Key is remembered. A retry within this window gets
 * the stored answer; after it, the same key starts a new request. Stripe
 * keeps keys for 24 hours; Tally keeps them longer for slow retry queues.
 */
export const IDEMPOTENCY_KEY_DAYS = 30;
const BATCH = 5_000;

/** Daily: forgets idempotency keys older than IDEMPOTENCY_KEY_DAYS, in batches. */
export const pruneIdempotencyKeys: CronHandler = async ({ tx, tick, log }) => {
  const before = new Date(tick.scheduledFor.getTime() - IDEMPOTENCY_KEY_DAYS * 24 * 60 * 60 * 1000);
  const deleted = await tx.execute(sql`
    DELETE FROM idempotency_keys WHERE (workspace_id, scope, key) IN (
      SELECT workspace_id, scope, key FROM idempotency_keys
      WHERE created_at < ${before.toISOString()}::timestamptz
      LIMIT ${BATCH})`);
  log.info({ deleted: deleted.count }, "pruned idempotency keys");
};
