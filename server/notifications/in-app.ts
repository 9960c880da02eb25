import { and, desc, eq, inArray, isNull, sql } from "drizzle-orm";

import { notifications, workspaceMembers } from "@/drizzle/schema";
import type { Clock } from "@/server/clock";
import type { Db, DbOrTx } from "@/server/db/client";
import type { WorkspaceRole } from "@/server/auth/roles";

export interface InAppNotice {
  workspaceId: string | null;
  type: string;
  title: string;
  body: string;
  link: string | null;
  /** Per user: the notice is stored once per (dedupeKey, user). */
  dedupeKey: string;
  createdAt: Date;
}

/** The members of a workspace who hold one of the roles. */
export async function membersWithRoles(db: DbOrTx, workspaceId: string, roles: readonly WorkspaceRole[]) {
  return db
    .select({ userId: workspaceMembers.userId })
    .from(workspaceMembers)
    .where(and(eq(workspaceMembers.workspaceId, workspaceId), inArray(workspaceMembers.role, [...roles])));
}

export async function notifyUsers(db: DbOrTx, userIds: readonly string[], notice: InAppNotice): Promise<number> {
  if (userIds.length === 0) return 0;
  const inserted = await db
    .insert(notifications)
    .values(
      userIds.map((userId) => ({
        userId,
        workspaceId: notice.workspaceId,
        type: notice.type,
        title: notice.title,
        body: notice.body,
        link: notice.link,
        dedupeKey: `${notice.dedupeKey}:${userId}`,
        createdAt: notice.createdAt,
      })),
    )
    .onConflictDoNothing({ target: notifications.dedupeKey })
    .returning({ id: notifications.id });

  return inserted.length;
}

export async function listNotifications(db: Db, userId: string, limit = 20) {
  const [items, unread] = await Promise.all([
    db
      .select()
      .from(notifications)
      .where(eq(notifications.userId, userId))
      .orderBy(desc(notifications.createdAt), desc(notifications.id))
      .limit(limit),
    db
      .select({ count: sql<number>`count(*)::int` })
      .from(notifications)
      .where(and(eq(notifications.userId, userId), isNull(notifications.readAt))),
  ]);

  return { items, unread: unread[0]?.count ?? 0 };
}

export async function markNotificationsRead(
  db: DbOrTx,
  clock: Clock,
  userId: string,
  ids: readonly string[] | "all",
): Promise<number> {
  const conditions = [eq(notifications.userId, userId), isNull(notifications.readAt)];
  if (ids !== "all") conditions.push(inArray(notifications.id, [...ids]));
  const updated = await db
    .update(notifications)
    .set({ readAt: clock.now() })
    .where(and(...conditions))
    .returning({ id: notifications.id });

  return updated.length;
}
