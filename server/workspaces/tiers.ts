import { and, asc, desc, eq, gte, lt, lte, sql } from "drizzle-orm";
import { z } from "zod";

import {
  creditPeriods,
  quotaExceedances,
  tiers,
  usageRecords,
  workspaces,
  type FeatureQuota,
  type TierFeature,
} from "@/drizzle/schema";
import { defineCommand } from "@/server/commands";
import type { DbOrTx, Tx } from "@/server/db/client";
import { AppError } from "@/server/errors";
import { event } from "@/server/events/catalogue";
import type { ReactionHandler } from "@/server/events/reactions";

/**
 * The rules of pricing tiers, in one place: what a valid tier definition is,
 * how versions are published and offered, which portal and API features a
 * tier turns on, and how its quotas are counted.
 *
 * A tier is identified by its code (`pro`) and a version. A version is never
 * edited once written: a change is a new version, which new workspaces get,
 * while existing workspaces stay on the version they have.
 */

/** The largest value an integer column holds. */
const MAX_INT = 2_147_483_647;

/** The tier a workspace starts on when none is chosen; one version of it is always on offer. */
export const DEFAULT_TIER_CODE = "free";

export const TIER_FEATURES = [
  "api_keys",
  "webhooks",
  "transfers",
  "auto_top_up",
  "holds",
] as const satisfies readonly TierFeature[];

/** How each feature reads in messages and on the editor. */
export const tierFeatureLabels: Record<TierFeature, string> = {
  api_keys: "API keys",
  webhooks: "Webhook endpoints",
  transfers: "Credit transfers",
  auto_top_up: "Auto top-up",
  holds: "Holds on the metering API",
};

function whole(what: string, min = 0) {
  const message = `Enter ${what} as a whole number of at least ${min}`;

  return z
    .number({ error: message })
    .int(message)
    .min(min, message)
    .max(MAX_INT, `Keep ${what} under ${MAX_INT.toLocaleString("en-US")}`);
}

const currencyCode = z
  .string({ error: "Enter a currency code" })
  .trim()
  .regex(/^[A-Z]{3}$/, "Use a three-letter ISO currency code in capitals, such as USD");

const featureCode = z
  .string({ error: "Enter a feature code" })
  .trim()
  .regex(
    /^[a-z0-9]+(?:[-_][a-z0-9]+)*$/,
    "Use lowercase letters, digits and single hyphens, such as image-generate",
  )
  .max(60, "Feature codes are at most 60 characters");

export const tierCodeSchema = z
  .string({ error: "Enter a code" })
  .trim()
  .toLowerCase()
  .min(2, "Codes have at least 2 characters")
  .max(40, "Codes are at most 40 characters")
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, "Use lowercase letters, digits and single hyphens");

export const featurePriceSchema = z.object({
  featureCode,
  name: z
    .string({ error: "Name the feature" })
    .trim()
    .min(1, "Name the feature")
    .max(80, "Names are at most 80 characters"),
  baseCredits: whole("the base credits"),
  bytesPerUnit: whole("the bytes per unit", 1),
  creditsPerUnit: whole("the credits per unit"),
  minimumCredits: whole("the minimum credits"),
});

export const featureQuotaSchema = z.object({
  featureCode,
  period: z.enum(["day", "month"], { error: "Choose day or month" }),
  maxCalls: whole("the most calls", 1),
});

export const tierPriceSchema = z.object({
  currency: currencyCode,
  monthlyPriceMinor: whole("the monthly price"),
  seatPriceMinor: whole("the seat price"),
  overageUnitPriceMinor: whole("the overage price"),
});

/**
 * Everything a tier version says. The editor sends all of it for every new
 * version: nothing is copied from the previous version implicitly.
 */
const tierFields = z.object({
  name: z
    .string({ error: "Name the tier" })
    .trim()
    .min(1, "Name the tier")
    .max(60, "Names are at most 60 characters"),
  currency: currencyCode,
  monthlyPriceMinor: whole("the monthly price"),
  monthlyCredits: whole("the monthly credits"),
  signupBonusCredits: whole("the signup bonus"),
  lowBalanceThreshold: whole("the low-balance threshold"),
  overagePolicy: z.enum(["hard_stop", "soft_cap", "auto_top_up"], {
    error: "Choose hard stop, soft cap or auto top-up",
  }),
  overageCapCredits: whole("the overage cap"),
  overageUnitCredits: whole("the overage unit", 1),
  overageUnitPriceMinor: whole("the overage price"),
  rolloverCapCredits: whole("the rollover cap").nullable(),
  rolloverCapPercent: z
    .number({ error: "Enter a percentage from 0 to 100" })
    .int("Enter a percentage from 0 to 100")
    .min(0, "Enter a percentage from 0 to 100")
    .max(100, "Enter a percentage from 0 to 100")
    .nullable(),
  rolloverExpiryPeriods: whole("the rollover expiry", 1),
  priceTable: z
    .array(featurePriceSchema)
    .min(1, "Price at least one feature")
    .max(100, "At most 100 features"),
  // TODO: seats are priced and limited here, but nothing counts or bills them yet.
  includedSeats: whole("the included seats", 1),
  seatPriceMinor: whole("the price per extra seat"),
  maxSeats: whole("the most seats", 1).nullable(),
  otherPrices: z.array(tierPriceSchema).max(20, "At most 20 other currencies"),
  quotas: z.array(featureQuotaSchema).max(100, "At most 100 quotas"),
  features: z
    .array(z.enum(TIER_FEATURES, { error: `Features are ${TIER_FEATURES.join(", ")}` }))
    .transform((chosen) => TIER_FEATURES.filter((feature) => chosen.includes(feature))),
  apiRatePerSecond: whole("the requests per second", 1).nullable(),
  apiRateBurst: whole("the burst", 1).nullable(),
});

/** The rules between fields; each issue names the field a form shows it beside. */
function checkTier(tier: z.output<typeof tierFields>, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: "custom", path, message });

  const priced = new Set<string>();
  tier.priceTable.forEach((row, index) => {
    if (priced.has(row.featureCode)) {
      issue(["priceTable", index, "featureCode"], `${row.featureCode} is priced twice`);
    }
    priced.add(row.featureCode);
  });

  const quotaKeys = new Set<string>();
  tier.quotas.forEach((quota, index) => {
    if (!priced.has(quota.featureCode)) {
      issue(
        ["quotas", index, "featureCode"],
        `${quota.featureCode} is not in the price table; a quota needs a priced feature`,
      );
    }
    const key = `${quota.featureCode}:${quota.period}`;
    if (quotaKeys.has(key)) {
      issue(
        ["quotas", index, "period"],
        `${quota.featureCode} already has a ${quota.period} quota`,
      );
    }
    quotaKeys.add(key);
  });

  const currencies = new Set<string>([tier.currency]);
  tier.otherPrices.forEach((price, index) => {
    if (currencies.has(price.currency)) {
      issue(["otherPrices", index, "currency"], `The tier is already priced in ${price.currency}`);
    }
    currencies.add(price.currency);
  });

  if (tier.rolloverCapCredits !== null && tier.rolloverCapPercent !== null) {
    issue(["rolloverCapPercent"], "Give the rollover cap in credits or as a percentage, not both");
  }
  if (tier.overagePolicy === "soft_cap" && tier.overageCapCredits < 1) {
    issue(["overageCapCredits"], "A soft cap needs a cap of at least 1 credit");
  }
  if (tier.overagePolicy === "auto_top_up" && !tier.features.includes("auto_top_up")) {
    issue(["features"], "The auto top-up overage policy needs the auto top-up feature");
  }
  if (tier.maxSeats !== null && tier.maxSeats < tier.includedSeats) {
    issue(["maxSeats"], `The most seats cannot be below the ${tier.includedSeats} included`);
  }
  if ((tier.apiRatePerSecond === null) !== (tier.apiRateBurst === null)) {
    issue(
      [tier.apiRatePerSecond === null ? "apiRatePerSecond" : "apiRateBurst"],
      "Set both the rate and the burst, or neither for the server's default",
    );
  }
}

export const tierDefinitionSchema = tierFields.superRefine(checkTier);

export type TierDefinition = z.output<typeof tierDefinitionSchema>;
export type TierDefinitionInput = z.input<typeof tierDefinitionSchema>;

/** A tier row, or what of it the helpers below need. */
type TierRow = typeof tiers.$inferSelect;

/**
 * The tier's prices in a currency: its own currency's columns, or one of its
 * other prices. A currency it is not priced in is an invalid_request naming
 * the ones it is.
 */
export function tierPrice(
  tier: Pick<
    TierRow,
    | "name"
    | "currency"
    | "monthlyPriceMinor"
    | "seatPriceMinor"
    | "overageUnitPriceMinor"
    | "otherPrices"
  >,
  currency: string,
): {
  currency: string;
  monthlyPriceMinor: number;
  seatPriceMinor: number;
  overageUnitPriceMinor: number;
} {
  const wanted = currency.trim().toUpperCase();
  if (wanted === tier.currency) {
    return {
      currency: tier.currency,
      monthlyPriceMinor: tier.monthlyPriceMinor,
      seatPriceMinor: tier.seatPriceMinor,
      overageUnitPriceMinor: tier.overageUnitPriceMinor,
    };
  }
  const other = tier.otherPrices.find((price) => price.currency === wanted);
  if (!other) {
    const offered = [tier.currency, ...tier.otherPrices.map((price) => price.currency)];
    throw new AppError(
      "invalid_request",
      `The ${tier.name} tier is not priced in ${wanted}; it is priced in ${offered.join(", ")}`,
      { field: "currency", details: { currencies: offered } },
    );
  }

  return { ...other };
}

export function tierHasFeature(
  tier: { features: readonly TierFeature[] },
  feature: TierFeature,
): boolean {
  return tier.features.includes(feature);
}

/**
 * The refusal for a feature the workspace's tier lacks: names the feature,
 * the tier, and the tiers on offer that include it.
 */
export async function featureNotInTier(
  db: DbOrTx,
  tierName: string,
  feature: TierFeature,
): Promise<AppError> {
  const including = (await offeredTiers(db))
    .filter((tier) => tierHasFeature(tier, feature))
    .map((tier) => tier.name);
  const label = tierFeatureLabels[feature];

  return new AppError(
    "feature_not_in_tier",
    `${label} are not part of the ${tierName} tier; ` +
      (including.length > 0
        ? `they come with ${listOf(including)}`
        : "no tier on offer includes them"),
    { details: { feature, tier: tierName, includedIn: including } },
  );
}

function listOf(names: string[]): string {
  return names.length < 2
    ? (names[0] ?? "")
    : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/**
 * The one check of a tier feature for portal commands: throws
 * feature_not_in_tier unless the workspace's tier has it. The metering API
 * checks the features cached with the key instead (server/api/metering.ts),
 * so its hot path makes no query. The portal's pages disable the same
 * actions beforehand (components/workspaces/read-only.tsx tierFeatureReason).
 */
export async function requireTierFeature(
  tx: DbOrTx,
  workspaceId: string,
  feature: TierFeature,
): Promise<void> {
  const [tier] = await tx
    .select({ name: tiers.name, features: tiers.features })
    .from(workspaces)
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .where(eq(workspaces.id, workspaceId));
  if (!tier) throw new AppError("not_found", "Workspace not found");
  if (!tierHasFeature(tier, feature)) throw await featureNotInTier(tx, tier.name, feature);
}

// Queries

/**
 * The tiers new workspaces can be created on: per code, the latest version
 * that is not archived; cheapest first.
 */
export async function offeredTiers(db: DbOrTx): Promise<TierRow[]> {
  const rows = await db
    .selectDistinctOn([tiers.code])
    .from(tiers)
    .where(sql`${tiers.archivedAt} IS NULL`)
    .orderBy(asc(tiers.code), desc(tiers.version));

  return rows.sort(
    (a, b) => a.monthlyPriceMinor - b.monthlyPriceMinor || a.code.localeCompare(b.code),
  );
}

/** The version of `code` new workspaces get, or undefined when none is offered. */
export async function offeredTier(db: DbOrTx, code: string): Promise<TierRow | undefined> {
  const [row] = await db
    .select()
    .from(tiers)
    .where(and(eq(tiers.code, code), sql`${tiers.archivedAt} IS NULL`))
    .orderBy(desc(tiers.version))
    .limit(1);

  return row;
}

/**
 * Platform admins: every code with all its versions (newest first) and how
 * many workspaces are on each; codes in order of their offered price.
 */
export async function tierCatalogue(db: DbOrTx) {
  const rows = await db
    .select({
      tier: tiers,
      // Spelled out: drizzle leaves the column of a one-table query unqualified.
      workspaceCount: sql<number>`(SELECT count(*)::int FROM workspaces w
        WHERE w.tier_id = "tiers"."id" AND w.status <> 'deleted')`,
    })
    .from(tiers)
    .orderBy(asc(tiers.code), desc(tiers.version));

  const codes = new Map<
    string,
    { code: string; versions: (TierRow & { workspaceCount: number })[] }
  >();
  for (const { tier, workspaceCount } of rows) {
    const entry = codes.get(tier.code) ?? { code: tier.code, versions: [] };
    entry.versions.push({ ...tier, workspaceCount });
    codes.set(tier.code, entry);
  }

  return [...codes.values()]
    .map((entry) => ({
      ...entry,
      offered: entry.versions.find((version) => version.archivedAt === null) ?? null,
      latest: entry.versions[0]!,
      workspaceCount: entry.versions.reduce((sum, version) => sum + version.workspaceCount, 0),
    }))
    .sort(
      (a, b) =>
        (a.offered ?? a.latest).monthlyPriceMinor - (b.offered ?? b.latest).monthlyPriceMinor ||
        a.code.localeCompare(b.code),
    );
}

// Commands

export const createTierInput = tierFields.extend({ code: tierCodeSchema }).superRefine(checkTier);
export const publishTierVersionInput = createTierInput;
export const archiveTierInput = z.object({ tierId: z.uuid(), archived: z.boolean() });

async function insertVersion(
  tx: Tx,
  code: string,
  version: number,
  definition: TierDefinition,
  createdBy: string | null,
  createdAt: Date,
) {
  const [row] = await tx
    .insert(tiers)
    .values({ ...definition, code, version, createdBy, createdAt })
    .onConflictDoNothing({ target: [tiers.code, tiers.version] })
    .returning({ id: tiers.id, code: tiers.code, version: tiers.version });

  return row;
}

/** A new tier: a code not used before, at version 1. */
export const createTier = defineCommand({
  name: "tiers.create",
  input: createTierInput,
  async run({ tx, actor, clock }, input) {
    const { code, ...definition } = input;
    const row = await insertVersion(
      tx,
      code,
      1,
      definition,
      actor.type === "user" ? actor.userId : null,
      clock.now(),
    );
    if (!row) {
      throw new AppError(
        "conflict",
        `There is already a tier with the code "${code}"; publish a new version of it instead`,
        { field: "code" },
      );
    }

    return { result: row, audit: { tierId: row.id, code, version: 1, definition } };
  },
});

/**
 * The next version of an existing tier, from the whole definition the editor
 * sends. No tier row is changed: workspaces on earlier versions keep them,
 * and new workspaces get this one. Two admins publishing at once both get a
 * version: a lock per code is held while the next number is taken.
 */
export const publishTierVersion = defineCommand({
  name: "tiers.publishVersion",
  input: publishTierVersionInput,
  async run({ tx, actor, clock }, input) {
    const { code, ...definition } = input;
    // Serialises publishers of one code; the query after it sees the version the last one wrote.
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`tiers:${code}`}))`);
    const [latest] = await tx
      .select({ version: tiers.version })
      .from(tiers)
      .where(eq(tiers.code, code))
      .orderBy(desc(tiers.version))
      .limit(1);
    if (!latest) {
      throw new AppError("not_found", `There is no tier "${code}" to publish a version of`, {
        field: "code",
      });
    }
    const row = await insertVersion(
      tx,
      code,
      latest.version + 1,
      definition,
      actor.type === "user" ? actor.userId : null,
      clock.now(),
    );
    if (!row) {
      throw new AppError("conflict", "Another version was published meanwhile; reload and retry");
    }

    return {
      result: row,
      audit: { tierId: row.id, code, version: row.version, definition },
    };
  },
});

/**
 * Archives a version (offered to no new workspace; its workspaces keep it)
 * or offers it again. Nothing of what the version says changes.
 */
export const archiveTier = defineCommand({
  name: "tiers.archive",
  input: archiveTierInput,
  async run({ tx, clock }, input) {
    const [row] = await tx
      .update(tiers)
      .set({ archivedAt: input.archived ? clock.now() : null })
      .where(eq(tiers.id, input.tierId))
      .returning({
        id: tiers.id,
        code: tiers.code,
        version: tiers.version,
        name: tiers.name,
        archivedAt: tiers.archivedAt,
      });
    if (!row) throw new AppError("not_found", "No such tier version", { field: "tierId" });
    if (row.code === DEFAULT_TIER_CODE && !(await offeredTier(tx, row.code))) {
      throw new AppError(
        "conflict",
        `${row.name} is the tier new workspaces start on: publish another version of it before ` +
          `archiving this one`,
        { field: "tierId" },
      );
    }

    return {
      result: row,
      audit: { tierId: row.id, code: row.code, version: row.version, archived: input.archived },
    };
  },
});

// Quotas

export interface QuotaUsage extends FeatureQuota {
  /** Calls of the feature consumed in the period so far. */
  used: number;
  periodStart: Date;
  periodEnd: Date;
  exceeded: boolean;
}

const DAY_MS = 86_400_000;

/**
 * The period of a quota at `at`: the UTC day, or the workspace's credit
 * period (the latest one started by then; before the first one exists, from
 * the workspace's creation for a month).
 */
async function quotaPeriod(
  db: DbOrTx,
  workspaceId: string,
  period: FeatureQuota["period"],
  at: Date,
): Promise<{ start: Date; end: Date }> {
  if (period === "day") {
    const start = new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);

    return { start, end: new Date(start.getTime() + DAY_MS) };
  }
  const [credit] = await db
    .select({ start: creditPeriods.startsAt, end: creditPeriods.endsAt })
    .from(creditPeriods)
    .where(and(eq(creditPeriods.workspaceId, workspaceId), lte(creditPeriods.startsAt, at)))
    .orderBy(desc(creditPeriods.sequence))
    .limit(1);
  if (credit) return credit;
  const [workspace] = await db
    .select({ createdAt: workspaces.createdAt })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId));
  const start = workspace?.createdAt ?? at;
  const end = new Date(start);
  end.setUTCMonth(end.getUTCMonth() + 1);

  return { start, end };
}

/**
 * Consumed calls per feature of a workspace in [start, end): what quotas
 * count. Finalized holds are calls too (their usage records are consumed).
 */
export async function callsByFeature(
  db: DbOrTx,
  workspaceId: string,
  period: { start: Date; end: Date },
  featureCode?: string,
): Promise<Record<string, number>> {
  const rows = await db
    .select({ featureCode: usageRecords.featureCode, used: sql<number>`count(*)::int` })
    .from(usageRecords)
    .where(
      and(
        eq(usageRecords.workspaceId, workspaceId),
        featureCode === undefined ? undefined : eq(usageRecords.featureCode, featureCode),
        eq(usageRecords.outcome, "consumed"),
        gte(usageRecords.createdAt, period.start),
        lt(usageRecords.createdAt, period.end),
      ),
    )
    .groupBy(usageRecords.featureCode);

  return Object.fromEntries(rows.map((row) => [row.featureCode, row.used]));
}

/**
 * Used against allowed, per quota, for the period that contains `at`
 * (usually the clock's now). The quotas are the workspace's tier's unless
 * `quotas` is given: e.g. another tier's, to check whether the workspace's
 * usage fits it. Quotas never block consumption; see the README's Tiers.
 */
export async function quotaUsage(
  db: DbOrTx,
  workspaceId: string,
  at: Date,
  quotas?: readonly FeatureQuota[],
): Promise<QuotaUsage[]> {
  let list = quotas;
  if (!list) {
    const [tier] = await db
      .select({ quotas: tiers.quotas })
      .from(workspaces)
      .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
      .where(eq(workspaces.id, workspaceId));
    list = tier?.quotas ?? [];
  }
  const usage: QuotaUsage[] = [];
  for (const quota of list) {
    const period = await quotaPeriod(db, workspaceId, quota.period, at);
    const used =
      (await callsByFeature(db, workspaceId, period, quota.featureCode))[quota.featureCode] ?? 0;
    usage.push({
      ...quota,
      used,
      periodStart: period.start,
      periodEnd: period.end,
      exceeded: used > quota.maxCalls,
    });
  }

  return usage;
}

/**
 * credits/consumed → the quota check: for each quota of the workspace's tier
 * on a feature this transaction consumed, counts the period's calls and,
 * past the quota, emits usage/quota-exceeded. A row per workspace, feature,
 * period kind and period start makes that once per period and quota, however
 * many consumptions race past it and however often this runs.
 */
export const checkQuotas: ReactionHandler<"credits/consumed"> = async ({ tx, event: consumed }) => {
  const workspaceId = consumed.data.workspaceId;
  const [tier] = await tx
    .select({ quotas: tiers.quotas })
    .from(workspaces)
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .where(eq(workspaces.id, workspaceId));
  const features = new Set(consumed.data.features.map((feature) => feature.featureCode));
  const relevant = (tier?.quotas ?? []).filter((quota) => features.has(quota.featureCode));
  if (relevant.length === 0) return;

  const usage = await quotaUsage(tx, workspaceId, consumed.occurredAt, relevant);
  const drafts = [];
  for (const quota of usage) {
    if (!quota.exceeded) continue;
    const [claimed] = await tx
      .insert(quotaExceedances)
      .values({
        workspaceId,
        featureCode: quota.featureCode,
        period: quota.period,
        periodStart: quota.periodStart,
        maxCalls: quota.maxCalls,
        used: quota.used,
        eventId: consumed.id,
      })
      .onConflictDoNothing()
      .returning({ workspaceId: quotaExceedances.workspaceId });
    if (!claimed) continue;
    drafts.push(
      event("usage/quota-exceeded", {
        workspaceId,
        featureCode: quota.featureCode,
        periodStart: quota.periodStart.toISOString(),
        quota: quota.maxCalls,
        used: quota.used,
      }),
    );
  }

  return drafts;
};
