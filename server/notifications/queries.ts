import { render } from "@react-email/render";
import { and, desc, eq, sql, type SQL } from "drizzle-orm";

import {
  emailMessages,
  notificationDeliveries,
  notificationPreferences,
  notifications,
} from "@/drizzle/schema";
import type { Db } from "@/server/db/client";

import { isMandatory, redactedData } from "./definition";
import { notificationType, notificationTypes } from "./types";

/** The dev mailbox: emails stored instead of sent, newest first. */
export async function listMailbox(db: Db, options: { to?: string; limit?: number } = {}) {
  return db
    .select({
      id: emailMessages.id,
      type: emailMessages.type,
      to: emailMessages.toAddress,
      subject: emailMessages.subject,
      text: emailMessages.text,
      html: emailMessages.html,
      attachments: emailMessages.attachments,
      createdAt: emailMessages.createdAt,
    })
    .from(emailMessages)
    .where(options.to ? eq(emailMessages.toAddress, options.to.toLowerCase()) : undefined)
    .orderBy(desc(emailMessages.createdAt))
    .limit(options.limit ?? 50);
}

export interface HistoryFilter {
  workspaceId?: string;
  type?: string;
  channel?: "email" | "in_app" | "webhook";
  status?: "pending" | "sent" | "delivered" | "failed";
  /** A user id, an email address or a webhook endpoint id. */
  recipient?: string;
  /**
   * Where the previous page ended: its last delivery's creation time and id (keyset pagination).
   */
  cursor?: { createdAt: Date; id: string };
  limit?: number;
}

/** Deliveries with their notification, newest first: the history views, portal and admin. */
export async function deliveryHistory(db: Db, filter: HistoryFilter) {
  const conditions: SQL[] = [];
  if (filter.workspaceId) conditions.push(eq(notifications.workspaceId, filter.workspaceId));
  if (filter.type) conditions.push(eq(notifications.type, filter.type));
  if (filter.channel) conditions.push(eq(notificationDeliveries.channel, filter.channel));
  if (filter.status) conditions.push(eq(notificationDeliveries.status, filter.status));
  if (filter.recipient)
    conditions.push(eq(notificationDeliveries.recipient, filter.recipient.toLowerCase()));
  if (filter.cursor) {
    // Deliveries of one notification share their creation time: the id breaks the tie.
    conditions.push(
      sql`(${notificationDeliveries.createdAt}, ${notificationDeliveries.id})
        < (${filter.cursor.createdAt.toISOString()}::timestamptz, ${filter.cursor.id}::uuid)`,
    );
  }
  const limit = filter.limit ?? 50;

  const rows = await db
    .select({
      id: notificationDeliveries.id,
      notificationId: notifications.id,
      type: notifications.type,
      workspaceId: notifications.workspaceId,
      title: notifications.title,
      channel: notificationDeliveries.channel,
      recipient: notificationDeliveries.recipient,
      status: notificationDeliveries.status,
      attempts: notificationDeliveries.attempts,
      nextAttemptAt: notificationDeliveries.nextAttemptAt,
      lastError: notificationDeliveries.lastError,
      createdAt: notificationDeliveries.createdAt,
      deliveredAt: notificationDeliveries.deliveredAt,
    })
    .from(notificationDeliveries)
    .innerJoin(notifications, eq(notifications.id, notificationDeliveries.notificationId))
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(desc(notificationDeliveries.createdAt), desc(notificationDeliveries.id))
    .limit(limit + 1);

  const last = rows.length > limit ? rows[limit - 1] : undefined;

  return {
    items: rows.slice(0, limit),
    nextCursor: last ? { createdAt: last.createdAt, id: last.id } : undefined,
  };
}

/** One notification with every delivery: its status across channels. */
export async function notificationStatus(db: Db, notificationId: string) {
  const [notification] = await db
    .select()
    .from(notifications)
    .where(eq(notifications.id, notificationId));
  if (!notification) return undefined;
  const deliveries = await db
    .select()
    .from(notificationDeliveries)
    .where(eq(notificationDeliveries.notificationId, notificationId))
    .orderBy(notificationDeliveries.channel, notificationDeliveries.recipient);

  return {
    ...notification,
    data: redactedData(notificationType(notification.type), notification.data),
    deliveries,
  };
}

/**
 * Each type a user could receive, on which channels, whether it can be turned off, and their
 * setting.
 */
export async function preferencesOf(db: Db, user: { id: string; isPlatformAdmin: boolean }) {
  const rows = await db
    .select()
    .from(notificationPreferences)
    .where(eq(notificationPreferences.userId, user.id));
  const off = new Set(
    rows.filter((row) => !row.enabled).map((row) => `${row.type}:${row.channel}`),
  );

  return notificationTypes
    .filter((definition) => definition.audience !== "address")
    .filter((definition) => definition.audience !== "platform_admins" || user.isPlatformAdmin)
    .filter((definition) => definition.channels.some((channel) => channel !== "webhook"))
    .map((definition) => ({
      type: definition.type,
      label: definition.label,
      description: definition.description,
      category: definition.category,
      mandatory: isMandatory(definition),
      channels: (["email", "in_app"] as const)
        .filter((channel) => definition.channels.includes(channel))
        .map((channel) => ({
          channel,
          enabled: isMandatory(definition) || !off.has(`${definition.type}:${channel}`),
        })),
    }));
}

/** Every type rendered from its sample data: subject, HTML, text and the in-app summary. */
export async function templatePreviews(appUrl: string, types?: readonly string[]) {
  const chosen = types
    ? notificationTypes.filter((definition) => types.includes(definition.type))
    : notificationTypes;

  return Promise.all(
    chosen.map(async (definition) => {
      const email = definition.email(definition.sample, { appUrl });
      const [html, text] = await Promise.all([
        render(email.element),
        render(email.element, { plainText: true }),
      ]);

      return {
        type: definition.type,
        label: definition.label,
        description: definition.description,
        category: definition.category,
        audience: definition.audience,
        channels: [...definition.channels],
        trigger: definition.trigger?.event ?? null,
        sample: definition.sample,
        inApp: definition.inApp(definition.sample),
        subject: email.subject,
        html,
        text,
      };
    }),
  );
}
