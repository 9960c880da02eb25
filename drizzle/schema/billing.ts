import { index, integer, pgTable, text, uuid } from "drizzle-orm/pg-core";

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
