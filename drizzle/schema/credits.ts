import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
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
