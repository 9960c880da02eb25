import { and, asc, eq, isNotNull, lte } from "drizzle-orm";

import { notificationDeliveries, notifications } from "@/drizzle/schema";
import type { CronHandler, ReactionHandler } from "@/server/events/reactions";

import { dueEvent } from "./notify";
import { nextRetryDelay } from "./retry";

/**
 * notifications/delivery-due → one attempt at one delivery. Each delivery is
 * its own run, so a slow receiver holds back only its own delivery; the
 * attempt's events are written when the run commits.
 */
export const sendDelivery: ReactionHandler<"notifications/delivery-due"> = async ({
  tx,
  event,
  deps,
}) => {
  const { events } = await deps.notifier.attempt(event.data.deliveryId, tx);

  return events;
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

/** How many due deliveries one sweep hands out; the next minute takes the rest. */
const SWEEP_BATCH = 500;

/** Every minute: a notifications/delivery-due event for each delivery whose retry is due. */
export const retryDueDeliveries: CronHandler = async ({ tx, deps }) => {
  const due = await tx
    .select({
      id: notificationDeliveries.id,
      channel: notificationDeliveries.channel,
      notificationId: notificationDeliveries.notificationId,
      workspaceId: notifications.workspaceId,
    })
    .from(notificationDeliveries)
    .innerJoin(notifications, eq(notifications.id, notificationDeliveries.notificationId))
    .where(
      and(
        eq(notificationDeliveries.status, "pending"),
        isNotNull(notificationDeliveries.nextAttemptAt),
        lte(notificationDeliveries.nextAttemptAt, deps.clock.now()),
      ),
    )
    .orderBy(asc(notificationDeliveries.nextAttemptAt))
    .limit(SWEEP_BATCH)
    .for("update", { of: notificationDeliveries, skipLocked: true });
  for (const delivery of due) {
    // Handed out: not due again until a failure schedules the next attempt.
    await tx
      .update(notificationDeliveries)
      .set({ nextAttemptAt: null })
      .where(eq(notificationDeliveries.id, delivery.id));
  }

  return due.map((delivery) => dueEvent(delivery.workspaceId, delivery.notificationId, delivery));
};
