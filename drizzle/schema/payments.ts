import { sql } from "drizzle-orm";
import {
  boolean,
  char,
  check,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  unique,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

import { invoices } from "./billing";
import { createdAt, timestamptz } from "./columns";
import { creditPurchases } from "./credits";
import { workspaces } from "./workspaces";

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
 * The simulated gateway's other objects (checkout sessions, payment and setup
 * intents, charges, refunds, disputes, saved cards) and the webhook events it
 * has yet to deliver, Stripe-shaped in `data`, each at most once per
 * idempotency key.
 */
export const simulatedObjects = pgTable("simulated_objects", {
  id: text("id").primaryKey(),
  type: text("type")
    .$type<
      | "checkout.session"
      | "payment_intent"
      | "setup_intent"
      | "charge"
      | "refund"
      | "dispute"
      | "payment_method"
      | "event"
    >()
    .notNull(),
  idempotencyKey: text("idempotency_key").unique(),
  data: jsonb("data").$type<Record<string, unknown>>().notNull(),
  createdAt: createdAt(),
});

export const paymentKind = pgEnum("payment_kind", ["invoice", "purchase"]);

export const paymentStatus = pgEnum("payment_status", [
  "pending",
  "processing",
  "succeeded",
  "failed",
]);

/**
 * One attempt to take money at the gateway: an invoice's charge (each
 * dunning retry is its own row, numbered by `attempt`) or a credit purchase's
 * payment. The idempotency key it was charged under is derived from what it is
 * for (`invoice:<invoiceId>:<attempt>`, `purchase:<purchaseId>`), so a
 * repeated reaction finds the row and the gateway finds the charge. A legal
 * record: kept when the workspace is deleted.
 */
export const payments = pgTable(
  "payments",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id),
    kind: paymentKind("kind").notNull(),
    invoiceId: uuid("invoice_id").references(() => invoices.id),
    purchaseId: uuid("purchase_id").references(() => creditPurchases.id),
    gateway: text("gateway").$type<"simulated" | "stripe">().notNull(),
    /** 1 for the first charge of an invoice, 2… for each retry; 1 for a purchase. */
    attempt: integer("attempt").notNull().default(1),
    /** What started it: the cycle's request, a dunning retry, a new card, the customer's button. */
    trigger: text("trigger")
      .$type<
        | "invoice_issued"
        | "dunning_retry"
        | "card_updated"
        | "customer"
        | "checkout"
        | "auto_top_up"
      >()
      .notNull(),
    idempotencyKey: text("idempotency_key").notNull().unique(),
    paymentIntentId: text("payment_intent_id").unique(),
    chargeId: text("charge_id"),
    status: paymentStatus("status").notNull().default("pending"),
    amountMinor: integer("amount_minor").notNull(),
    currency: char("currency", { length: 3 }).notNull(),
    amountRefundedMinor: integer("amount_refunded_minor").notNull().default(0),
    failureCode: text("failure_code"),
    failureMessage: text("failure_message"),
    /** The card the charge used as the gateway named it ("Visa •••• 4242"); null when unknown. */
    paymentMethodLabel: text("payment_method_label"),
    createdAt: createdAt(),
    settledAt: timestamptz("settled_at"),
  },
  (table) => [
    index("payments_workspace_idx").on(table.workspaceId, table.createdAt),
    index("payments_created_idx").on(table.createdAt),
    index("payments_charge_idx").on(table.chargeId),
    uniqueIndex("payments_invoice_attempt").on(table.invoiceId, table.attempt),
    uniqueIndex("payments_one_per_purchase").on(table.purchaseId),
    check("payments_amount_positive", sql`${table.amountMinor} > 0`),
    check(
      "payments_refund_within_amount",
      sql`${table.amountRefundedMinor} between 0 and ${table.amountMinor}`,
    ),
    check(
      "payments_names_what_it_pays",
      sql`(${table.kind} = 'invoice') = (${table.invoiceId} IS NOT NULL) AND (${table.kind} = 'purchase') = (${table.purchaseId} IS NOT NULL)`,
    ),
  ],
);

export const paymentRefundStatus = pgEnum("payment_refund_status", [
  "pending",
  "succeeded",
  "failed",
]);

/**
 * Money given back at the gateway, whoever started it: a credit refund
 * (`credit_refund_id`), a cancellation's unused fee (`adjustment_id`), or a
 * refund made at the gateway itself and learnt from charge.refunded
 * (`origin` gateway). Each gateway refund is recorded once, by its id.
 */
export const paymentRefunds = pgTable(
  "payment_refunds",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id),
    paymentId: uuid("payment_id")
      .notNull()
      .references(() => payments.id),
    origin: text("origin").$type<"credit_refund" | "cancellation" | "gateway">().notNull(),
    creditRefundId: uuid("credit_refund_id").unique(),
    adjustmentId: uuid("adjustment_id").unique(),
    invoiceId: uuid("invoice_id").references(() => invoices.id),
    gatewayRefundId: text("gateway_refund_id").unique(),
    amountMinor: integer("amount_minor").notNull(),
    currency: char("currency", { length: 3 }).notNull(),
    reason: text("reason").notNull(),
    status: paymentRefundStatus("status").notNull().default("pending"),
    failureReason: text("failure_reason"),
    createdAt: createdAt(),
    settledAt: timestamptz("settled_at"),
  },
  (table) => [
    index("payment_refunds_workspace_idx").on(table.workspaceId, table.createdAt),
    index("payment_refunds_payment_idx").on(table.paymentId),
    check("payment_refunds_amount_positive", sql`${table.amountMinor} > 0`),
  ],
);

export const disputeOutcome = pgEnum("dispute_outcome", ["open", "won", "lost"]);

/**
 * A chargeback on one payment. Opening it claws back the unspent credits the
 * payment bought (a purchase's); what was already spent is the shortfall.
 * Winning it reinstates what was clawed back. Each step happens once: the
 * counters say what has been done.
 */
export const disputes = pgTable(
  "disputes",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    gatewayDisputeId: text("gateway_dispute_id").notNull().unique(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id),
    paymentId: uuid("payment_id")
      .notNull()
      .references(() => payments.id),
    chargeId: text("charge_id"),
    amountMinor: integer("amount_minor").notNull(),
    currency: char("currency", { length: 3 }).notNull(),
    reason: text("reason"),
    /** The gateway's own status (needs_response, under_review, won, lost, …), as last reported. */
    gatewayStatus: text("gateway_status").notNull(),
    outcome: disputeOutcome("outcome").notNull().default("open"),
    clawedBackCredits: integer("clawed_back_credits").notNull().default(0),
    /** Credits the payment bought that were already spent when the dispute opened. */
    shortfallCredits: integer("shortfall_credits").notNull().default(0),
    reinstatedCredits: integer("reinstated_credits").notNull().default(0),
    openedAt: timestamptz("opened_at").notNull(),
    closedAt: timestamptz("closed_at"),
    createdAt: createdAt(),
  },
  (table) => [index("disputes_workspace_idx").on(table.workspaceId, table.openedAt)],
);

export const dunningStatus = pgEnum("dunning_status", [
  /** Retries are scheduled. */
  "retrying",
  /** Every retry failed: the workspace is suspended until the invoice is paid. */
  "exhausted",
  /** The invoice was paid. */
  "recovered",
  /** Collection stopped: the workspace was cancelled, or the invoice voided or written off. */
  "stopped",
]);

/**
 * One unpaid invoice being chased. A cron reaction picks the cases whose
 * `next_attempt_at` has come, retries the charge and moves the time to the
 * next step of the schedule copied in at opening (`retry_days`, days after
 * the first failure).
 */
export const dunningCases = pgTable(
  "dunning_cases",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id),
    invoiceId: uuid("invoice_id")
      .notNull()
      .unique()
      .references(() => invoices.id),
    status: dunningStatus("status").notNull().default("retrying"),
    retryDays: jsonb("retry_days").$type<number[]>().notNull(),
    /** Charges made so far, the first one included. */
    attempts: integer("attempts").notNull().default(1),
    nextAttemptAt: timestamptz("next_attempt_at"),
    lastFailureCode: text("last_failure_code"),
    lastFailureMessage: text("last_failure_message"),
    warnedAt: timestamptz("warned_at"),
    /** When dunning suspended the workspace; a recovery reactivates only a suspension it made. */
    suspendedAt: timestamptz("suspended_at"),
    openedAt: timestamptz("opened_at").notNull(),
    closedAt: timestamptz("closed_at"),
    closeReason: text("close_reason"),
  },
  (table) => [
    index("dunning_cases_due_idx")
      .on(table.nextAttemptAt)
      .where(sql`${table.status} = 'retrying'`),
    index("dunning_cases_workspace_idx").on(table.workspaceId, table.openedAt),
  ],
);

/** One pass of the daily reconciliation over a window of gateway activity. */
export const reconciliationRuns = pgTable("reconciliation_runs", {
  id: uuid("id").primaryKey().defaultRandom(),
  gateway: text("gateway").$type<"simulated" | "stripe">().notNull(),
  windowStart: timestamptz("window_start").notNull(),
  windowEnd: timestamptz("window_end").notNull(),
  /** Objects compared: the gateway's, and Tally's own records the gateway's lists did not name. */
  checked: integer("checked").notNull().default(0),
  driftsFound: integer("drifts_found").notNull().default(0),
  startedAt: timestamptz("started_at").notNull(),
  finishedAt: timestamptz("finished_at"),
});

export const driftKind = pgEnum("reconciliation_drift_kind", [
  /** A paid purchase at the gateway whose credits were never granted. */
  "missing_grant",
  /** Money taken at the gateway that no Tally payment or invoice accounts for. */
  "payment_without_invoice",
  /** A refund at the gateway that Tally's ledger does not hold. */
  "refund_not_in_ledger",
  /** A dispute at the gateway Tally has not recorded. */
  "dispute_not_recorded",
  /** Tally and the gateway disagree on a payment's status or amount, or the gateway has no such payment. */
  "status_mismatch",
  /** A refund in Tally's ledger (with a gateway refund id) that the gateway does not hold. */
  "refund_not_at_gateway",
  /** A dispute Tally recorded that the gateway does not hold. */
  "dispute_not_at_gateway",
]);

export const driftStatus = pgEnum("reconciliation_drift_status", ["open", "repaired", "dismissed"]);

/**
 * A difference between Tally and the gateway, found by a reconciliation run
 * and kept until an admin repairs or dismisses it. Found once per kind and
 * gateway object, however many runs see it.
 */
export const reconciliationDrifts = pgTable(
  "reconciliation_drifts",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    runId: uuid("run_id")
      .notNull()
      .references(() => reconciliationRuns.id),
    kind: driftKind("kind").notNull(),
    gatewayObjectId: text("gateway_object_id").notNull(),
    workspaceId: uuid("workspace_id").references(() => workspaces.id),
    paymentId: uuid("payment_id").references(() => payments.id),
    amountMinor: integer("amount_minor"),
    currency: char("currency", { length: 3 }),
    /** What was seen on each side, for the admin page. */
    details: jsonb("details").$type<Record<string, unknown>>().notNull(),
    status: driftStatus("status").notNull().default("open"),
    foundAt: timestamptz("found_at").notNull(),
    resolvedAt: timestamptz("resolved_at"),
    resolvedBy: uuid("resolved_by"),
    resolution: text("resolution"),
  },
  (table) => [
    unique("reconciliation_drifts_once").on(table.kind, table.gatewayObjectId),
    index("reconciliation_drifts_status_idx").on(table.status, table.foundAt),
  ],
);
