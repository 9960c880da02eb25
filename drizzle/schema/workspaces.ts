import { sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  char,
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

/**
 * The most calls of one feature a workspace may make in one period (its
 * credit period for "month", the UTC day for "day"). Crossing it emits
 * usage/quota-exceeded once per period and quota.
 */
export interface FeatureQuota {
  featureCode: string;
  period: "day" | "month";
  maxCalls: number;
}

/** A tier's price in a currency other than its own (`currency`): all integer minor units. */
export interface TierPrice {
  currency: string;
  monthlyPriceMinor: number;
  seatPriceMinor: number;
  overageUnitPriceMinor: number;
}

/** Portal and API features a tier turns on; see server/workspaces/tiers.ts. */
export type TierFeature = "api_keys" | "webhooks" | "transfers" | "auto_top_up" | "holds";

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
    /** Seats (members, owner included) the monthly price covers; each extra costs seatPriceMinor. */
    includedSeats: integer("included_seats").notNull().default(1),
    seatPriceMinor: integer("seat_price_minor").notNull().default(0),
    /** The most seats a workspace on this tier may have; null means no limit. */
    maxSeats: integer("max_seats"),
    /** The same tier priced in other currencies; `currency` and its columns are the first. */
    otherPrices: jsonb("other_prices")
      .$type<TierPrice[]>()
      .notNull()
      .default(sql`'[]'::jsonb`),
    quotas: jsonb("quotas")
      .$type<FeatureQuota[]>()
      .notNull()
      .default(sql`'[]'::jsonb`),
    features: jsonb("features")
      .$type<TierFeature[]>()
      .notNull()
      .default(sql`'[]'::jsonb`),
    /** Metering API requests per second per key, and the burst; null means the server's default. */
    apiRatePerSecond: integer("api_rate_per_second"),
    apiRateBurst: integer("api_rate_burst"),
    /** An archived version is offered to no new workspace; its customers stay on it. */
    archivedAt: timestamptz("archived_at"),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
  },
  (table) => [unique("tiers_code_version_unique").on(table.code, table.version)],
);

export const workspaceStatus = pgEnum("workspace_status", [
  "active",
  "suspended",
  "cancelled",
  "deleted",
]);

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
  /** A cancellation at period end: the workspace stays usable until then. Cleared if withdrawn. */
  cancelAt: timestamptz("cancel_at"),
  /** When the workspace became cancelled (read-only), and when its data is purged. */
  cancelledAt: timestamptz("cancelled_at"),
  purgeAfter: timestamptz("purge_after"),
  cancellationReason: text("cancellation_reason"),
  deletedAt: timestamptz("deleted_at"),
  /** A downgrade waiting for the period end; cancellable until then. */
  scheduledTierId: uuid("scheduled_tier_id").references((): AnyPgColumn => tiers.id),
  scheduledTierAt: timestamptz("scheduled_tier_at"),
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

/**
 * An invitation to join a workspace: the link carries a random token whose
 * SHA-256 is stored here. It expires, can be revoked, and is accepted once.
 */
export const workspaceInvites = pgTable(
  "workspace_invites",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    role: workspaceRole("role").notNull(),
    tokenHash: text("token_hash").notNull().unique(),
    invitedBy: uuid("invited_by").references(() => users.id, { onDelete: "set null" }),
    expiresAt: timestamptz("expires_at").notNull(),
    acceptedAt: timestamptz("accepted_at"),
    acceptedBy: uuid("accepted_by").references(() => users.id, { onDelete: "set null" }),
    revokedAt: timestamptz("revoked_at"),
    createdAt: createdAt(),
  },
  (table) => [
    index("workspace_invites_workspace_idx").on(table.workspaceId),
    // One open invitation per address and workspace; a new one replaces it.
    uniqueIndex("workspace_invites_open_idx")
      .on(table.workspaceId, table.email)
      .where(sql`${table.acceptedAt} IS NULL AND ${table.revokedAt} IS NULL`),
  ],
);
