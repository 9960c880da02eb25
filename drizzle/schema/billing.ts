import { pgTable, text, uuid } from "drizzle-orm/pg-core";

import { createdAt } from "./columns";
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
