import { and, eq, lt, max } from "drizzle-orm";

import { notificationDeliveries, notifications, outbox } from "@/drizzle/schema";
import type { Tx } from "@/server/db/client";

/**
 * The body of every outgoing webhook. `sequence` is the position of the
 * notification's event in its workspace's event stream: it only grows, with
 * gaps. `previous_sequence` is the sequence of the previous notification
 * about the same object sent to the same endpoint (null if none, or if it
 * is older than the event retention window). A receiver that already holds
 * a later sequence for the object drops the delivery as stale; one that has
 * not seen `previous_sequence` knows an earlier event is still to come (or
 * was lost) and can wait or fetch the object.
 */
export interface WebhookPayload {
  id: string;
  type: string;
  created_at: string;
  workspace_id: string | null;
  sequence: number | null;
  previous_sequence: number | null;
  object: { type: string; id: string };
  data: Record<string, unknown>;
}

export async function webhookPayload(
  tx: Tx,
  endpointId: string,
  notification: {
    id: string;
    type: string;
    workspaceId: string | null;
    createdAt: Date;
    objectType: string;
    objectId: string;
    eventId: string;
    data: Record<string, unknown>;
  },
): Promise<WebhookPayload> {
  const [created] = await tx
    .select({ streamId: outbox.streamId, streamSeq: outbox.streamSeq })
    .from(outbox)
    .where(eq(outbox.id, notification.eventId));
  let previous: number | null = null;
  if (created) {
    const [row] = await tx
      .select({ seq: max(outbox.streamSeq) })
      .from(notificationDeliveries)
      .innerJoin(notifications, eq(notifications.id, notificationDeliveries.notificationId))
      .innerJoin(outbox, eq(outbox.id, notifications.eventId))
      .where(
        and(
          eq(notificationDeliveries.endpointId, endpointId),
          eq(notifications.objectType, notification.objectType),
          eq(notifications.objectId, notification.objectId),
          eq(outbox.streamId, created.streamId),
          lt(outbox.streamSeq, created.streamSeq),
        ),
      );
    previous = row?.seq ?? null;
  }

  return {
    id: notification.id,
    type: notification.type,
    created_at: notification.createdAt.toISOString(),
    workspace_id: notification.workspaceId,
    sequence: created?.streamSeq ?? null,
    previous_sequence: previous,
    object: { type: notification.objectType, id: notification.objectId },
    data: notification.data,
  };
}
