import { sql } from "drizzle-orm";
import { char, index, integer, pgEnum, pgTable, text, unique, uuid } from "drizzle-orm/pg-core";

import { createdAt, timestamptz } from "./columns";
import { workspaces } from "./workspaces";

/** The workspace's customer at the payment gateway, created by the billing-setup reaction. */
export const billingCustomers = pgTable("billing_customers", {
  workspaceId: uuid("workspace_id")
    .primaryKey()
    .references(() => workspaces.id, { onDelete: "cascade" }),
  gateway: text("gateway").$type<"simulated" | "stripe">().notNull(),
  customerId: text("customer_id").notNull().unique(),
  createdAt: createdAt(),
});

export const billingAdjustmentKind = pgEnum("billing_adjustment_kind", [
  "proration_credit",
  "proration_charge",
  "cancellation_refund",
]);

/**
 * Money owed to or by a workspace outside its regular fee, waiting for the
 * next invoice: the lines of a prorated tier change, the refund of a
 * cancellation. Signed minor units: positive is charged, negative is owed to
 * the customer. The uninvoiced negative lines are the customer's credit
 * balance. A legal record: kept when the workspace is deleted.
 */
export const billingAdjustments = pgTable(
  "billing_adjustments",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id),
    currency: char("currency", { length: 3 }).notNull(),
    amountMinor: integer("amount_minor").notNull(),
    description: text("description").notNull(),
    kind: billingAdjustmentKind("kind").notNull(),
    /** The period the line prorates. */
    periodStart: timestamptz("period_start").notNull(),
    periodEnd: timestamptz("period_end").notNull(),
    /** The outbox event the line was recorded for: one line of each kind per event. */
    sourceEventId: text("source_event_id").notNull(),
    createdAt: createdAt(),
    /** Set when an invoice takes the line up (the billing issue). */
    invoicedAt: timestamptz("invoiced_at"),
  },
  (table) => [
    unique("billing_adjustments_event_kind_unique").on(table.sourceEventId, table.kind),
    index("billing_adjustments_open_idx")
      .on(table.workspaceId)
      .where(sql`${table.invoicedAt} IS NULL`),
  ],
);

/**
 * The seats a workspace had after each change of its members, for billing to
 * read: one row per workspace/collaborator-added or -removed event (the
 * source event's id is unique, so a redelivered event records nothing new).
 * Written by server/billing/seats.ts.
 */
export const seatChanges = pgTable(
  "seat_changes",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    /** Members after the change, the owner included. */
    seats: integer("seats").notNull(),
    /** When the change happened: the source event's time, not when it was recorded. */
    occurredAt: timestamptz("occurred_at").notNull(),
    sourceEventId: text("source_event_id").notNull().unique(),
    createdAt: createdAt(),
  },
  (table) => [index("seat_changes_workspace_idx").on(table.workspaceId, table.occurredAt)],
);
