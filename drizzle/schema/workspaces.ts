import { sql } from "drizzle-orm";
import {
  char,
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

import { users } from "./auth";
import { createdAt, timestamptz } from "./columns";

/**
 * How one feature call is priced in credits:
 *   credits = max(minimumCredits, baseCredits + ceil(inputBytes / bytesPerUnit) * creditsPerUnit)
 * Partial units round up. See server/credits/pricing.ts.
 */
export interface FeaturePrice {
  featureCode: string;
  name: string;
  baseCredits: number;
  bytesPerUnit: number;
  creditsPerUnit: number;
  minimumCredits: number;
}

export const overagePolicy = pgEnum("overage_policy", ["hard_stop", "soft_cap", "auto_top_up"]);

export const tiers = pgTable(
  "tiers",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    code: text("code").notNull(),
    version: integer("version").notNull().default(1),
    name: text("name").notNull(),
    currency: char("currency", { length: 3 }).notNull(),
    monthlyPriceMinor: integer("monthly_price_minor").notNull(),
    monthlyCredits: integer("monthly_credits").notNull(),
    signupBonusCredits: integer("signup_bonus_credits").notNull().default(0),
    /** A balance strictly below this many credits is "low". */
    lowBalanceThreshold: integer("low_balance_threshold").notNull(),
    overagePolicy: overagePolicy("overage_policy").notNull().default("hard_stop"),
    /** soft_cap: how many credits past a zero balance a workspace may consume in one period. */
    overageCapCredits: integer("overage_cap_credits").notNull().default(0),
    /** The price of overage: overageUnitPriceMinor per started block of overageUnitCredits. */
    overageUnitCredits: integer("overage_unit_credits").notNull().default(1_000),
    overageUnitPriceMinor: integer("overage_unit_price_minor").notNull().default(0),
    /**
     * Rollover at period end: unused allowance carries over up to a cap, given in credits or
     * as a percentage of the allowance (credits win when both are set; neither means none).
     */
    rolloverCapCredits: integer("rollover_cap_credits"),
    rolloverCapPercent: integer("rollover_cap_percent"),
    /** Carried credits expire this many periods after the period they were carried into starts. */
    rolloverExpiryPeriods: integer("rollover_expiry_periods").notNull().default(1),
    priceTable: jsonb("price_table").$type<FeaturePrice[]>().notNull(),
    createdAt: createdAt(),
  },
  (table) => [unique("tiers_code_version_unique").on(table.code, table.version)],
);

export const workspaceStatus = pgEnum("workspace_status", ["active", "suspended", "cancelled"]);

export const workspaces = pgTable("workspaces", {
  id: uuid("id").primaryKey().defaultRandom(),
  slug: text("slug").notNull().unique(),
  name: text("name").notNull(),
  tierId: uuid("tier_id")
    .notNull()
    .references(() => tiers.id),
  status: workspaceStatus("status").notNull().default("active"),
  /** Set while suspended: when, and the reason its members are shown. Cleared on reactivation. */
  suspendedAt: timestamptz("suspended_at"),
  suspensionReason: text("suspension_reason"),
  createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
  createdAt: createdAt(),
});

/** Ranked from most to least powerful; see server/auth/roles.ts. */
export const workspaceRole = pgEnum("workspace_role", [
  "owner",
  "admin",
  "billing",
  "member",
  "viewer",
]);

export const workspaceMembers = pgTable(
  "workspace_members",
  {
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: workspaceRole("role").notNull(),
    createdAt: createdAt(),
  },
  (table) => [
    primaryKey({ columns: [table.workspaceId, table.userId] }),
    index("workspace_members_user_idx").on(table.userId),
  ],
);

export const apiKeys = pgTable(
  "api_keys",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** The first characters of the key, shown so people can tell keys apart. */
    prefix: text("prefix").notNull(),
    /** SHA-256 of the whole key; the key itself is shown once and never stored. */
    keyHash: text("key_hash").notNull().unique(),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    /** What the key may do on the metering API: usage:write, balance:read. */
    scopes: text("scopes")
      .array()
      .notNull()
      .default(sql`ARRAY['usage:write','balance:read']`),
    lastUsedAt: timestamptz("last_used_at"),
    revokedAt: timestamptz("revoked_at"),
  },
  (table) => [index("api_keys_workspace_idx").on(table.workspaceId)],
);
