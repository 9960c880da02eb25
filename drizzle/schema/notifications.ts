import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  unique,
  uuid,
} from "drizzle-orm/pg-core";

import { users } from "./auth";
import { createdAt, timestamptz } from "./columns";
import { workspaces } from "./workspaces";

/**
 * One notification (a low balance, an invoice, a sign-in link) has one
 * delivery per channel and recipient; each delivery moves
 * pending → sent → delivered, or ends failed after its retries.
 */
export const notifications = pgTable(
  "notifications",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** A type from server/notifications/types.ts, e.g. "credits.low_balance". */
    type: text("type").notNull(),
    workspaceId: uuid("workspace_id").references(() => workspaces.id, { onDelete: "cascade" }),
    /**
     * The type's data, validated by its schema; templates and webhook payloads are made from it.
     */
    data: jsonb("data").$type<Record<string, unknown>>().notNull(),
    /** The in-app summary, rendered once when the notification is created. */
    title: text("title").notNull(),
    body: text("body").notNull(),
    link: text("link"),
    /** One source event (or request) never notifies twice. */
    dedupeKey: text("dedupe_key").notNull().unique(),
    /** What the notification is about; webhook receivers order events per object. */
    objectType: text("object_type").notNull(),
    objectId: text("object_id").notNull(),
    /**
     * The notifications/created event written with it: its stream position is the webhook sequence.
     */
    eventId: uuid("event_id").notNull(),
    createdAt: createdAt(),
  },
  (table) => [
    index("notifications_workspace_idx").on(table.workspaceId, table.createdAt),
    index("notifications_object_idx").on(table.objectType, table.objectId),
  ],
);

export const notificationChannel = pgEnum("notification_channel", ["email", "in_app", "webhook"]);
export const deliveryStatus = pgEnum("delivery_status", ["pending", "sent", "delivered", "failed"]);

export const notificationDeliveries = pgTable(
  "notification_deliveries",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    notificationId: uuid("notification_id")
      .notNull()
      .references(() => notifications.id, { onDelete: "cascade" }),
    channel: notificationChannel("channel").notNull(),
    /** Who or what receives it: a user id (in-app), an email address, or a webhook endpoint id. */
    recipient: text("recipient").notNull(),
    userId: uuid("user_id").references(() => users.id, { onDelete: "cascade" }),
    endpointId: uuid("endpoint_id").references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    status: deliveryStatus("status").notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    /**
     * When a pending delivery is next tried; null while a failure waits for its retry to be
     * scheduled.
     */
    nextAttemptAt: timestamptz("next_attempt_at"),
    lastError: text("last_error"),
    sentAt: timestamptz("sent_at"),
    deliveredAt: timestamptz("delivered_at"),
    /** In-app only. */
    readAt: timestamptz("read_at"),
    createdAt: createdAt(),
    updatedAt: timestamptz("updated_at").notNull().defaultNow(),
  },
  (table) => [
    unique("notification_deliveries_recipient_unique").on(
      table.notificationId,
      table.channel,
      table.recipient,
    ),
    index("notification_deliveries_inbox_idx")
      .on(table.userId, table.createdAt)
      .where(sql`${table.channel} = 'in_app'`),
    index("notification_deliveries_due_idx")
      .on(table.nextAttemptAt)
      .where(sql`${table.status} = 'pending'`),
    index("notification_deliveries_endpoint_idx").on(table.endpointId, table.createdAt),
  ],
);

/** A user's opt-outs, per type and channel. Security and billing notices ignore them. */
export const notificationPreferences = pgTable(
  "notification_preferences",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    type: text("type").notNull(),
    channel: notificationChannel("channel").notNull(),
    enabled: boolean("enabled").notNull(),
    updatedAt: timestamptz("updated_at").notNull(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.type, table.channel] })],
);

export const emailTransport = pgEnum("email_transport", ["mailbox", "smtp"]);
export const emailStatus = pgEnum("email_status", ["stored", "sent", "failed"]);

export interface EmailAttachmentRecord {
  filename: string;
  contentType: string;
  size: number;
}

/**
 * Every email Tally sends. Without SMTP_URL this table is the dev mailbox the
 * portal shows at /dev/mailbox; with it, a record of what went out.
 */
export const emailMessages = pgTable(
  "email_messages",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    type: text("type").notNull(),
    toAddress: text("to_address").notNull(),
    fromAddress: text("from_address").notNull(),
    subject: text("subject").notNull(),
    html: text("html").notNull(),
    text: text("text").notNull(),
    /** One event never sends the same email twice. */
    dedupeKey: text("dedupe_key").notNull().unique(),
    transport: emailTransport("transport").notNull(),
    status: emailStatus("status").notNull(),
    workspaceId: uuid("workspace_id").references(() => workspaces.id, { onDelete: "set null" }),
    deliveryId: uuid("delivery_id").references(() => notificationDeliveries.id, {
      onDelete: "set null",
    }),
    attachments: jsonb("attachments").$type<EmailAttachmentRecord[]>().notNull().default([]),
    createdAt: createdAt(),
    sentAt: timestamptz("sent_at"),
  },
  (table) => [index("email_messages_to_idx").on(table.toAddress, table.createdAt)],
);

export const webhookEndpointStatus = pgEnum("webhook_endpoint_status", ["enabled", "disabled"]);

/** Where a workspace wants its notifications posted, signed with the endpoint's secret. */
export const webhookEndpoints = pgTable(
  "webhook_endpoints",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    description: text("description").notNull().default(""),
    /** Notification types to send; ["*"] means every type that has a webhook channel. */
    eventTypes: text("event_types").array().notNull(),
    /** whsec_…: signs every payload (HMAC-SHA256); shown to workspace admins. */
    secret: text("secret").notNull(),
    status: webhookEndpointStatus("status").notNull().default("enabled"),
    /** Failed attempts since the last success; the endpoint is disabled past a limit. */
    consecutiveFailures: integer("consecutive_failures").notNull().default(0),
    disabledAt: timestamptz("disabled_at"),
    disabledReason: text("disabled_reason"),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    updatedAt: timestamptz("updated_at").notNull().defaultNow(),
  },
  (table) => [index("webhook_endpoints_workspace_idx").on(table.workspaceId)],
);

/** One HTTP request to an endpoint and what came back: the delivery log. */
export const webhookAttempts = pgTable(
  "webhook_attempts",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    deliveryId: uuid("delivery_id")
      .notNull()
      .references(() => notificationDeliveries.id, { onDelete: "cascade" }),
    endpointId: uuid("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    attempt: integer("attempt").notNull(),
    url: text("url").notNull(),
    requestHeaders: jsonb("request_headers").$type<Record<string, string>>().notNull(),
    requestBody: text("request_body").notNull(),
    /** Null when no response came (refused, timed out, blocked address). */
    responseStatus: integer("response_status"),
    /** The first 4 KiB. */
    responseBody: text("response_body"),
    error: text("error"),
    durationMs: integer("duration_ms").notNull(),
    createdAt: createdAt(),
  },
  (table) => [index("webhook_attempts_delivery_idx").on(table.deliveryId, table.id)],
);
