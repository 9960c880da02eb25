import { sql } from "drizzle-orm";
import {
  bigint,
  date,
  index,
  integer,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  uuid,
} from "drizzle-orm/pg-core";

import { createdAt, timestamptz } from "./columns";
import { workspaces } from "./workspaces";

export const usageOutcome = pgEnum("usage_outcome", ["consumed", "rejected"]);

/**
 * One row per consumption attempt: the raw material of usage analytics, and
 * the stored answer to a consumption's Idempotency-Key (a replay within the
 * key's lifetime is answered from this row; consume.ts).
 */
export const usageRecords = pgTable(
  "usage_records",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    featureCode: text("feature_code").notNull(),
    inputBytes: bigint("input_bytes", { mode: "number" }).notNull(),
    units: integer("units").notNull(),
    credits: integer("credits").notNull(),
    outcome: usageOutcome("outcome").notNull(),
    apiKeyId: uuid("api_key_id"),
    userId: uuid("user_id"),
    idempotencyKey: text("idempotency_key"),
    /** The balance the consumption answered with: after the draw, or unchanged when refused. */
    balanceAfter: integer("balance_after"),
    /** Of `credits`, how many went past a zero balance as overage. */
    overageCredits: integer("overage_credits").notNull().default(0),
    /** The hold whose finalization this records; such rows never answer a consumption's key. */
    holdId: uuid("hold_id"),
    createdAt: createdAt(),
  },
  (table) => [
    index("usage_records_workspace_idx").on(table.workspaceId, table.createdAt),
    index("usage_records_idempotency_idx")
      .on(table.workspaceId, table.idempotencyKey)
      .where(sql`${table.idempotencyKey} IS NOT NULL AND ${table.holdId} IS NULL`),
  ],
);

/** Counters kept by analytics reactions, per UTC day. */
export const dailyMetrics = pgTable(
  "daily_metrics",
  {
    day: date("day", { mode: "string" }).notNull(),
    metric: text("metric").notNull(),
    value: bigint("value", { mode: "number" }).notNull().default(0),
  },
  (table) => [primaryKey({ columns: [table.day, table.metric] })],
);

/**
 * A feature quota a workspace went over in one period: at most one row per
 * workspace, feature, period kind and period start, so usage/quota-exceeded
 * is emitted once per period and quota however many checks race past it.
 */
export const quotaExceedances = pgTable(
  "quota_exceedances",
  {
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    featureCode: text("feature_code").notNull(),
    period: text("period").$type<"day" | "month">().notNull(),
    periodStart: timestamptz("period_start").notNull(),
    /** The quota and the calls counted when it was found exceeded. */
    maxCalls: integer("max_calls").notNull(),
    used: integer("used").notNull(),
    /** The credits/consumed event whose check found it. */
    eventId: text("event_id").notNull(),
    createdAt: createdAt(),
  },
  (table) => [
    primaryKey({
      columns: [table.workspaceId, table.featureCode, table.period, table.periodStart],
    }),
  ],
);
