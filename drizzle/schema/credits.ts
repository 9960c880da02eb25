import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
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
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

import { createdAt, timestamptz } from "./columns";
import { workspaces } from "./workspaces";

/**
 * One row per workspace. Every change to a workspace's grants or ledger locks
 * this row first (SELECT ... FOR UPDATE), which serialises them and keeps
 * balance = sum of ledger entries = sum of grant remainders.
 */
export const creditBalances = pgTable(
  "credit_balances",
  {
    workspaceId: uuid("workspace_id")
      .primaryKey()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    balance: integer("balance").notNull().default(0),
    /** Auto top-up: buy a pack when the balance drops below this; null when it is off. */
    topUpThreshold: integer("top_up_threshold"),
    /** True after a top-up was asked for, until the balance is back at or above topUpThreshold. */
    belowTopUp: boolean("below_top_up").notNull().default(false),
    /**
     * True after credits/low-balance was emitted, until the balance is back at or above the
     * threshold.
     */
    belowThreshold: boolean("below_threshold").notNull().default(false),
    updatedAt: timestamptz("updated_at").notNull().defaultNow(),
  },
  (table) => [check("credit_balances_balance_nonnegative", sql`${table.balance} >= 0`)],
);

export const grantSource = pgEnum("grant_source", [
  "tier_allocation",
  "signup_bonus",
  "purchase",
  "promotion",
  "trial",
  "rollover",
  "adjustment",
  "transfer",
]);

export const creditGrants = pgTable(
  "credit_grants",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    source: grantSource("source").notNull(),
    amount: integer("amount").notNull(),
    remaining: integer("remaining").notNull(),
    /** Lower draws first. */
    priority: integer("priority").notNull().default(100),
    expiresAt: timestamptz("expires_at"),
    /**
     * What the grant came from, unique per workspace: a second grant for the same origin is
     * refused.
     */
    idempotencyKey: text("idempotency_key").notNull(),
    reason: text("reason").notNull(),
    /** The purchase a purchase grant came from. */
    purchaseId: uuid("purchase_id"),
    /** The allocation period a tier allocation or rollover grant belongs to. */
    periodId: uuid("period_id"),
    createdAt: createdAt(),
  },
  (table) => [
    unique("credit_grants_workspace_key_unique").on(table.workspaceId, table.idempotencyKey),
    index("credit_grants_live_idx")
      .on(table.workspaceId, table.priority, table.expiresAt)
      .where(sql`${table.remaining} > 0`),
    check("credit_grants_amount_positive", sql`${table.amount} > 0`),
    check(
      "credit_grants_remaining_range",
      sql`${table.remaining} >= 0 AND ${table.remaining} <= ${table.amount}`,
    ),
  ],
);

export const ledgerEntryKind = pgEnum("ledger_entry_kind", [
  "grant",
  "consume",
  "expire",
  "hold",
  "release",
  "transfer",
  "rollover",
  "refund",
  "adjustment",
]);

/** Append-only: corrections are new entries, never edits. */
export const creditLedgerEntries = pgTable(
  "credit_ledger_entries",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    grantId: uuid("grant_id")
      .notNull()
      .references(() => creditGrants.id),
    kind: ledgerEntryKind("kind").notNull(),
    /** Signed: positive adds credits, negative removes them. */
    amount: integer("amount").notNull(),
    balanceAfter: integer("balance_after").notNull(),
    reason: text("reason").notNull(),
    actorType: text("actor_type").$type<"user" | "api_key" | "system">().notNull(),
    actorId: text("actor_id"),
    idempotencyKey: text("idempotency_key"),
    usageRecordId: uuid("usage_record_id"),
    /** The hold a hold or release entry belongs to. */
    holdId: uuid("hold_id"),
    createdAt: createdAt(),
  },
  (table) => [index("credit_ledger_workspace_idx").on(table.workspaceId, table.id)],
);

/**
 * Stored results of idempotent requests, per workspace and scope. A replay
 * with the same key and the same request returns the stored response; the
 * same key with a different request is an idempotency_conflict.
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    scope: text("scope").notNull(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    responseStatus: integer("response_status").notNull(),
    responseBody: jsonb("response_body").$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
  },
  (table) => [primaryKey({ columns: [table.workspaceId, table.scope, table.key] })],
);

export const holdStatus = pgEnum("hold_status", ["active", "finalized", "released", "expired"]);

/**
 * Credits reserved for work whose cost is known only afterwards. Reserving
 * draws them from the grants (hold entries), so nothing else can spend them;
 * finalizing keeps the actual amount and releases the rest back to the grants
 * it came from; releasing, or expiring, gives everything back.
 */
export const creditHolds = pgTable(
  "credit_holds",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    amount: integer("amount").notNull(),
    status: holdStatus("status").notNull().default("active"),
    /** The credits kept when it was finalized. */
    finalAmount: integer("final_amount"),
    featureCode: text("feature_code"),
    idempotencyKey: text("idempotency_key"),
    /** What the request asked for, to tell a replay from a reused key. */
    requestHash: text("request_hash").notNull(),
    apiKeyId: uuid("api_key_id"),
    userId: uuid("user_id"),
    expiresAt: timestamptz("expires_at").notNull(),
    settledAt: timestamptz("settled_at"),
    createdAt: createdAt(),
  },
  (table) => [
    unique("credit_holds_workspace_key_unique").on(table.workspaceId, table.idempotencyKey),
    index("credit_holds_due_idx").on(table.expiresAt).where(sql`${table.status} = 'active'`),
    check("credit_holds_amount_positive", sql`${table.amount} > 0`),
  ],
);

/**
 * Credits consumed past a zero balance under a soft overage policy, per
 * period: billed on the period's invoice at the tier's overage price.
 */
export const overageRecords = pgTable(
  "overage_records",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    usageRecordId: uuid("usage_record_id").notNull(),
    credits: integer("credits").notNull(),
    periodStart: timestamptz("period_start").notNull(),
    createdAt: createdAt(),
  },
  (table) => [index("overage_records_period_idx").on(table.workspaceId, table.periodStart)],
);

export const periodStatus = pgEnum("credit_period_status", ["open", "closed"]);

/**
 * A workspace's allocation periods: monthly, anchored on the day the
 * workspace was created. Each opens with the tier's allowance, and closes by
 * rolling unused allowance over (up to the tier's cap) into the next.
 */
export const creditPeriods = pgTable(
  "credit_periods",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    /** The anchor the period bounds are computed from, and this period's index from it. */
    anchorAt: timestamptz("anchor_at").notNull(),
    sequence: integer("sequence").notNull(),
    startsAt: timestamptz("starts_at").notNull(),
    endsAt: timestamptz("ends_at").notNull(),
    allowance: integer("allowance").notNull(),
    status: periodStatus("status").notNull().default("open"),
    rolledOverCredits: integer("rolled_over_credits"),
    closedAt: timestamptz("closed_at"),
    createdAt: createdAt(),
  },
  (table) => [
    unique("credit_periods_workspace_sequence_unique").on(table.workspaceId, table.sequence),
    index("credit_periods_due_idx").on(table.endsAt).where(sql`${table.status} = 'open'`),
  ],
);

/** What customers can buy: an admin-defined number of credits at a price in one currency. */
export const creditPacks = pgTable(
  "credit_packs",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    name: text("name").notNull(),
    credits: integer("credits").notNull(),
    priceMinor: integer("price_minor").notNull(),
    currency: char("currency", { length: 3 }).notNull(),
    /** Archived packs are no longer offered; purchases keep pointing at them. */
    archivedAt: timestamptz("archived_at"),
    createdAt: createdAt(),
  },
  (table) => [
    check("credit_packs_credits_positive", sql`${table.credits} > 0`),
    check("credit_packs_price_positive", sql`${table.priceMinor} > 0`),
  ],
);

export const purchaseStatus = pgEnum("credit_purchase_status", [
  "pending",
  "paid",
  "failed",
  "cancelled",
]);

export const purchaseOrigin = pgEnum("credit_purchase_origin", ["checkout", "auto_top_up"]);

/**
 * One attempt to buy a pack. The pack's credits and price are copied in, so
 * a later edit of the pack changes nothing already sold. The grant is made
 * once, by whichever of the gateway's success events arrives first.
 */
export const creditPurchases = pgTable(
  "credit_purchases",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    packId: uuid("pack_id")
      .notNull()
      .references(() => creditPacks.id),
    credits: integer("credits").notNull(),
    amountMinor: integer("amount_minor").notNull(),
    currency: char("currency", { length: 3 }).notNull(),
    origin: purchaseOrigin("origin").notNull(),
    status: purchaseStatus("status").notNull().default("pending"),
    gateway: text("gateway").$type<"simulated" | "stripe">().notNull(),
    checkoutSessionId: text("checkout_session_id").unique(),
    checkoutUrl: text("checkout_url"),
    paymentIntentId: text("payment_intent_id").unique(),
    grantId: uuid("grant_id"),
    failureReason: text("failure_reason"),
    /** Credits and money refunded so far; never more than the unconsumed part. */
    refundedCredits: integer("refunded_credits").notNull().default(0),
    refundedMinor: integer("refunded_minor").notNull().default(0),
    userId: uuid("user_id"),
    createdAt: createdAt(),
    paidAt: timestamptz("paid_at"),
  },
  (table) => [
    index("credit_purchases_workspace_idx").on(table.workspaceId, table.createdAt),
    // At most one auto top-up in flight per workspace.
    uniqueIndex("credit_purchases_one_top_up_in_flight")
      .on(table.workspaceId)
      .where(sql`${table.origin} = 'auto_top_up' AND ${table.status} = 'pending'`),
  ],
);

export const refundStatus = pgEnum("credit_refund_status", ["pending", "succeeded", "failed"]);

/** Unused credits of one purchase given back for money, pro rata to what was paid. */
export const creditRefunds = pgTable(
  "credit_refunds",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    purchaseId: uuid("purchase_id")
      .notNull()
      .references(() => creditPurchases.id),
    credits: integer("credits").notNull(),
    amountMinor: integer("amount_minor").notNull(),
    currency: char("currency", { length: 3 }).notNull(),
    reason: text("reason").notNull(),
    status: refundStatus("status").notNull().default("pending"),
    gatewayRefundId: text("gateway_refund_id").unique(),
    failureReason: text("failure_reason"),
    userId: uuid("user_id"),
    createdAt: createdAt(),
    settledAt: timestamptz("settled_at"),
  },
  (table) => [index("credit_refunds_purchase_idx").on(table.purchaseId)],
);

/** A workspace's auto top-up: which pack to buy, below which balance, how often a month. */
export const autoTopUps = pgTable("auto_top_ups", {
  workspaceId: uuid("workspace_id")
    .primaryKey()
    .references(() => workspaces.id, { onDelete: "cascade" }),
  enabled: boolean("enabled").notNull().default(false),
  packId: uuid("pack_id")
    .notNull()
    .references(() => creditPacks.id),
  thresholdCredits: integer("threshold_credits").notNull(),
  monthlyLimit: integer("monthly_limit").notNull(),
  updatedAt: timestamptz("updated_at").notNull(),
});

/** Credits moved between two workspaces of the same owner: one balanced pair of entries. */
export const creditTransfers = pgTable("credit_transfers", {
  id: uuid("id").primaryKey().defaultRandom(),
  fromWorkspaceId: uuid("from_workspace_id")
    .notNull()
    .references(() => workspaces.id, { onDelete: "cascade" }),
  toWorkspaceId: uuid("to_workspace_id")
    .notNull()
    .references(() => workspaces.id, { onDelete: "cascade" }),
  credits: integer("credits").notNull(),
  reason: text("reason").notNull(),
  userId: uuid("user_id"),
  createdAt: createdAt(),
});
