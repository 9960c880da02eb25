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

/**
 * The simulated gateway's other objects (checkout sessions, payment intents,
 * refunds, saved cards) and the webhook events it has yet to deliver, Stripe-shaped in
 * `data`, each at most once per idempotency key.
 */
export const simulatedObjects = pgTable("simulated_objects", {
  id: text("id").primaryKey(),
  type: text("type")
    .$type<"checkout.session" | "payment_intent" | "refund" | "payment_method" | "event">()
    .notNull(),
  idempotencyKey: text("idempotency_key").unique(),
  data: jsonb("data").$type<Record<string, unknown>>().notNull(),
  createdAt: createdAt(),
});
