import { and, eq } from "drizzle-orm";

import { notificationDeliveries } from "@/drizzle/schema";
import type { CronHandler, ReactionHandler } from "@/server/events/reactions";

import { nextRetryDelay } from "./retry";

/** notifications/created → the first attempt of each pending email and webhook delivery. */
export const dispatchNotification: ReactionHandler<"notifications/created"> = async ({
  tx,
  event,
  deps,
}) => {
  const pending = await tx
    .select({ id: notificationDeliveries.id })
    .from(notificationDeliveries)
    .where(
      and(
        eq(notificationDeliveries.notificationId, event.data.notificationId),
        eq(notificationDeliveries.status, "pending"),
      ),
    );
  // In this reaction's transaction: no second connection per run, and the attempts commit with
  // the inbox row, so a crash before the commit makes them again (at least once, never lost).
  for (const delivery of pending) await deps.notifier.attempt(delivery.id, tx);
};

/**
 * notifications/failed → the next attempt's time from the channel's retry
 * schedule, or, after the last, the delivery fails for good: its dead
 * letter, listed for admins to retry by hand.
 */
export const scheduleRetry: ReactionHandler<"notifications/failed"> = async ({
  tx,
  event,
  deps,
  log,
}) => {
  const [delivery] = await tx
    .select()
    .from(notificationDeliveries)
    .where(eq(notificationDeliveries.id, event.data.deliveryId))
    .for("update");
  // A later attempt (or a manual retry) has moved on since this failure.
  if (!delivery || delivery.status !== "pending" || delivery.attempts !== event.data.attempt)
    return;

  const now = deps.clock.now();
  const delay = nextRetryDelay(delivery.channel, delivery.attempts);
  if (delay === null) {
    await tx
      .update(notificationDeliveries)
      .set({ status: "failed", nextAttemptAt: null, updatedAt: now })
      .where(eq(notificationDeliveries.id, delivery.id));
    log.error(
      { deliveryId: delivery.id, channel: delivery.channel, attempts: delivery.attempts },
      "delivery failed after its last retry",
    );
    return;
  }
  await tx
    .update(notificationDeliveries)
    .set({ nextAttemptAt: new Date(now.getTime() + delay), updatedAt: now })
    .where(eq(notificationDeliveries.id, delivery.id));
};

/** Every minute: the deliveries whose retry is due. */
export const retryDueDeliveries: CronHandler = async ({ deps }) => {
  await deps.notifier.sweepDue();
};
