import { sql } from "drizzle-orm";
import {
  bigint,
  char,
  check,
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

import { createdAt, timestamptz } from "./columns";
import { tiers, workspaces } from "./workspaces";

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
  /** Extra seats added or removed within a period, prorated like a tier change. */
  "seat_proration",
  /** What an invoice's credits left over after its charges: owed back on the next invoice. */
  "credit_carried_forward",
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
    /** Set when an invoice takes the line up, with that invoice. */
    invoicedAt: timestamptz("invoiced_at"),
    invoiceId: uuid("invoice_id"),
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

export const subscriptionStatus = pgEnum("subscription_status", [
  "trialing",
  "active",
  "past_due",
  "suspended",
  "cancelled",
]);

/**
 * One per workspace: what it pays for and when. The tier (and any change
 * scheduled for the period's end) lives on the workspace; the subscription
 * holds the billing side: currency, anchor, the current period, the seats
 * billed and the saved payment method. Periods are those of
 * server/billing/periods.ts, anchored at `anchor_at` (the workspace's
 * creation), the same periods credits are allocated in.
 */
export const subscriptions = pgTable(
  "subscriptions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .unique()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    status: subscriptionStatus("status").notNull().default("active"),
    currency: char("currency", { length: 3 }).notNull(),
    /** Periods start at this instant plus whole months; its day of month is the anchor day. */
    anchorAt: timestamptz("anchor_at").notNull(),
    /** The current period: its number (1 is the first) and bounds, [start, end). */
    periodSequence: integer("period_sequence").notNull().default(1),
    currentPeriodStart: timestamptz("current_period_start").notNull(),
    currentPeriodEnd: timestamptz("current_period_end").notNull(),
    /** Seats billed this period, the owner included; the tier's included seats are free. */
    seats: integer("seats").notNull().default(1),
    /** The gateway's saved payment method (pm_...), and how to show it ("Visa ending 4242"). */
    paymentMethodRef: text("payment_method_ref"),
    paymentMethodLabel: text("payment_method_label"),
    trialEndsAt: timestamptz("trial_ends_at"),
    createdAt: createdAt(),
    updatedAt: timestamptz("updated_at").notNull().defaultNow(),
  },
  (table) => [
    index("subscriptions_period_end_idx").on(table.currentPeriodEnd),
    check(
      "subscriptions_period_order",
      sql`${table.currentPeriodStart} < ${table.currentPeriodEnd}`,
    ),
  ],
);

export const billingCycleStatus = pgEnum("billing_cycle_status", [
  "started",
  "usage_collected",
  "invoiced",
  "payment_requested",
  "completed",
]);

/**
 * One billing cycle per subscription and ended period: the chain of steps
 * that bills it (server/billing/cycles.ts). The unique period keeps a
 * workspace from being billed twice for a period, however often and from
 * wherever the sweep runs; `status` is the last step done, so a step that
 * runs again does nothing and an interrupted cycle resumes where it stopped.
 */
export const billingCycles = pgTable(
  "billing_cycles",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    subscriptionId: uuid("subscription_id")
      .notNull()
      .references(() => subscriptions.id, { onDelete: "cascade" }),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    /** The period that ended: its number and bounds. */
    sequence: integer("sequence").notNull(),
    periodStart: timestamptz("period_start").notNull(),
    periodEnd: timestamptz("period_end").notNull(),
    status: billingCycleStatus("status").notNull().default("started"),
    /** The tier of the period that ended, and the next period's (null when none follows). */
    tierId: uuid("tier_id")
      .notNull()
      .references(() => tiers.id),
    nextTierId: uuid("next_tier_id").references(() => tiers.id),
    /** Collected usage: overage credits of the ended period, seats for the next. */
    overageCredits: integer("overage_credits"),
    seats: integer("seats"),
    invoiceId: uuid("invoice_id"),
    startedAt: timestamptz("started_at").notNull(),
    updatedAt: timestamptz("updated_at").notNull(),
    completedAt: timestamptz("completed_at"),
  },
  (table) => [
    unique("billing_cycles_subscription_sequence_unique").on(table.subscriptionId, table.sequence),
    unique("billing_cycles_workspace_period_unique").on(table.workspaceId, table.periodStart),
    index("billing_cycles_unfinished_idx")
      .on(table.updatedAt)
      .where(sql`${table.status} <> 'completed'`),
  ],
);

export const invoiceStatus = pgEnum("invoice_status", [
  "draft",
  "open",
  "paid",
  "void",
  "uncollectible",
]);

/** What an invoice bills: a cycle, a credit pack purchase, or an upgrade's prorated net. */
export const invoiceKind = pgEnum("invoice_kind", ["subscription", "purchase", "proration"]);

/** Who the invoice is from and to, as printed, frozen when it leaves draft. */
export interface InvoiceParty {
  name: string;
  email?: string | null;
  lines?: string[];
  taxId?: string | null;
}

/**
 * Invoices. All amounts are integer minor units in `currency`; the total is
 * the sum of the rounded lines plus tax. A draft has no number; finalizing
 * gives it the next number of its year (INV-2027-000042), never reused.
 * Legal records: kept when the workspace is deleted.
 */
export const invoices = pgTable(
  "invoices",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id),
    kind: invoiceKind("kind").notNull(),
    status: invoiceStatus("status").notNull().default("draft"),
    /** INV-<year>-<six digits>, set when the invoice leaves draft. */
    number: text("number").unique(),
    currency: char("currency", { length: 3 }).notNull(),
    /** The cycle or purchase the invoice bills: one invoice each. */
    cycleId: uuid("cycle_id").unique(),
    purchaseId: uuid("purchase_id").unique(),
    /** Any other source (an upgrade's event), one invoice each. */
    sourceKey: text("source_key").unique(),
    periodStart: timestamptz("period_start"),
    periodEnd: timestamptz("period_end"),
    subtotalMinor: integer("subtotal_minor").notNull().default(0),
    discountMinor: integer("discount_minor").notNull().default(0),
    /** Tax rate in basis points (2000 = 20%), and the tax it gave. */
    taxRateBps: integer("tax_rate_bps").notNull().default(0),
    taxMinor: integer("tax_minor").notNull().default(0),
    totalMinor: integer("total_minor").notNull().default(0),
    amountDueMinor: integer("amount_due_minor").notNull().default(0),
    amountPaidMinor: integer("amount_paid_minor").notNull().default(0),
    /** Money given back at the gateway against this invoice's payments. */
    amountRefundedMinor: integer("amount_refunded_minor").notNull().default(0),
    seller: jsonb("seller").$type<InvoiceParty>(),
    buyer: jsonb("buyer").$type<InvoiceParty>(),
    createdAt: createdAt(),
    finalizedAt: timestamptz("finalized_at"),
    dueAt: timestamptz("due_at"),
    paidAt: timestamptz("paid_at"),
    voidedAt: timestamptz("voided_at"),
    voidReason: text("void_reason"),
    uncollectibleAt: timestamptz("uncollectible_at"),
  },
  (table) => [
    index("invoices_workspace_idx").on(table.workspaceId, table.createdAt),
    index("invoices_status_idx").on(table.status, table.createdAt),
    check(
      "invoices_number_when_final",
      sql`(${table.status} = 'draft') = (${table.number} IS NULL)`,
    ),
  ],
);

export const invoiceLineKind = pgEnum("invoice_line_kind", [
  "tier_fee",
  "seats",
  "overage",
  "proration",
  "purchase",
  "discount",
  /** A credit balance from an earlier invoice, applied after tax. */
  "credit_applied",
  "credit_carried_forward",
]);

/** An invoice's lines, in order; each states how its amount was rounded. */
export const invoiceLines = pgTable(
  "invoice_lines",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    invoiceId: uuid("invoice_id")
      .notNull()
      .references(() => invoices.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    kind: invoiceLineKind("kind").notNull(),
    description: text("description").notNull(),
    quantity: integer("quantity").notNull().default(1),
    unitAmountMinor: integer("unit_amount_minor"),
    amountMinor: integer("amount_minor").notNull(),
    /** How the amount was rounded, in words: "exact", "half-even to the minor unit". */
    rounding: text("rounding").notNull(),
    periodStart: timestamptz("period_start"),
    periodEnd: timestamptz("period_end"),
    /** The billing adjustment the line takes up, if any. */
    adjustmentId: uuid("adjustment_id").unique(),
  },
  (table) => [unique("invoice_lines_position_unique").on(table.invoiceId, table.position)],
);

/** The last invoice number given out in each year; finalizing takes the next under a row lock. */
export const invoiceNumbers = pgTable(
  "invoice_numbers",
  {
    year: integer("year").notNull(),
    lastNumber: integer("last_number").notNull(),
  },
  (table) => [primaryKey({ columns: [table.year] })],
);

/**
 * The platform clock's offset from real time, for time travel in the
 * embedded default (server/clock.ts): one row, moved forward only.
 */
export const clockOffsets = pgTable(
  "clock_offsets",
  {
    id: integer("id").primaryKey().default(1),
    offsetMs: bigint("offset_ms", { mode: "number" }).notNull().default(0),
    updatedAt: timestamptz("updated_at").notNull().defaultNow(),
  },
  (table) => [check("clock_offsets_single_row", sql`${table.id} = 1`)],
);
