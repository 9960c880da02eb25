import { boolean, jsonb, pgTable, text } from "drizzle-orm/pg-core";

import { createdAt, timestamptz } from "./columns";

/** Every Stripe (or simulated) webhook event, stored once by its id. */
export const stripeEvents = pgTable("stripe_events", {
  id: text("id").primaryKey(),
  type: text("type").notNull(),
  apiVersion: text("api_version"),
  livemode: boolean("livemode").notNull(),
  payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
  receivedAt: timestamptz("received_at").notNull(),
  processedAt: timestamptz("processed_at"),
});

/** Customers of the simulated gateway, so its ids survive restarts like Stripe's would. */
export const simulatedCustomers = pgTable("simulated_customers", {
  id: text("id").primaryKey(),
  idempotencyKey: text("idempotency_key").notNull().unique(),
  email: text("email"),
  name: text("name"),
  metadata: jsonb("metadata").$type<Record<string, string>>().notNull(),
  createdAt: createdAt(),
});
