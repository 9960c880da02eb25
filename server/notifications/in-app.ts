import { and, desc, eq, inArray, isNull, sql } from "drizzle-orm";

import { notificationDeliveries, notifications } from "@/drizzle/schema";
import type { Clock } from "@/server/clock";
import type { Db, DbOrTx } from "@/server/db/client";

/** A user's in-app notifications (the bell), newest first, with the unread count. */
export async function listInbox(db: Db, userId: string, limit = 20) {
  const mine = and(
    eq(notificationDeliveries.channel, "in_app"),
    eq(notificationDeliveries.userId, userId),
  );
  const [items, unread] = await Promise.all([
    db
      .select({
        id: notificationDeliveries.id,
        notificationId: notifications.id,
        type: notifications.type,
        workspaceId: notifications.workspaceId,
        title: notifications.title,
        body: notifications.body,
        link: notifications.link,
        readAt: notificationDeliveries.readAt,
        createdAt: notifications.createdAt,
      })
      .from(notificationDeliveries)
      .innerJoin(notifications, eq(notifications.id, notificationDeliveries.notificationId))
      .where(mine)
      .orderBy(desc(notificationDeliveries.createdAt), desc(notificationDeliveries.id))
      .limit(limit),
    db
      .select({ count: sql<number>`count(*)::int` })
      .from(notificationDeliveries)
      .where(and(mine, isNull(notificationDeliveries.readAt))),
  ]);

  return { items, unread: unread[0]?.count ?? 0 };
}

/** Marks the user's own in-app deliveries read; ids of other users' deliveries are ignored. */
export async function markInboxRead(
  db: DbOrTx,
  clock: Clock,
  userId: string,
  ids: readonly string[] | "all",
): Promise<number> {
  const conditions = [
    eq(notificationDeliveries.channel, "in_app"),
    eq(notificationDeliveries.userId, userId),
    isNull(notificationDeliveries.readAt),
  ];
  if (ids !== "all") conditions.push(inArray(notificationDeliveries.id, [...ids]));
  const updated = await db
    .update(notificationDeliveries)
    .set({ readAt: clock.now() })
    .where(and(...conditions))
    .returning({ id: notificationDeliveries.id });

  return updated.length;
}
