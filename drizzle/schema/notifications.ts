import { index, pgEnum, pgTable, text, uuid } from "drizzle-orm/pg-core";

import { users } from "./auth";
import { createdAt, timestamptz } from "./columns";
import { workspaces } from "./workspaces";

export const emailTransport = pgEnum("email_transport", ["mailbox", "smtp"]);
export const emailStatus = pgEnum("email_status", ["stored", "sent", "failed"]);

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
    createdAt: createdAt(),
    sentAt: timestamptz("sent_at"),
  },
  (table) => [index("email_messages_to_idx").on(table.toAddress, table.createdAt)],
);

/** In-app notices shown under the bell. */
export const notifications = pgTable(
  "notifications",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    workspaceId: uuid("workspace_id").references(() => workspaces.id, { onDelete: "cascade" }),
    type: text("type").notNull(),
    title: text("title").notNull(),
    body: text("body").notNull(),
    link: text("link"),
    dedupeKey: text("dedupe_key").notNull().unique(),
    readAt: timestamptz("read_at"),
    createdAt: createdAt(),
  },
  (table) => [index("notifications_user_idx").on(table.userId, table.createdAt)],
);
