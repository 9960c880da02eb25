import { and, desc, eq, gt, gte, lt, sql } from "drizzle-orm";

import {
  creditBalances,
  creditGrants,
  creditHolds,
  creditLedgerEntries,
  creditPeriods,
  ledgerEntryKind,
  overageRecords,
  tiers,
  usageRecords,
  workspaces,
} from "@/drizzle/schema";
import type { Db } from "@/server/db/client";

import { forecastDepletion } from "./forecast";
import { drawOrder } from "./ledger";
import { overagePeriodStart } from "./overage";
import { rolloverOf } from "./rollover";

export type LedgerEntryKind = (typeof ledgerEntryKind.enumValues)[number];

const DAY_MS = 86_400_000;
/** The burn rate behind the forecast is the last week's consumption. */
export const FORECAST_WINDOW_MS = 7 * DAY_MS;

/**
 * The balance, where it sits (each live grant in the order consumption draws
 * it) and what is reserved by open holds.
 */
export async function balanceSummary(db: Db, workspaceId: string) {
  const [[balance], grants, [held]] = await Promise.all([
    db
      .select({
        balance: creditBalances.balance,
        belowThreshold: creditBalances.belowThreshold,
        threshold: tiers.lowBalanceThreshold,
        tierName: tiers.name,
        updatedAt: creditBalances.updatedAt,
      })
      .from(creditBalances)
      .innerJoin(workspaces, eq(workspaces.id, creditBalances.workspaceId))
      .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
      .where(eq(creditBalances.workspaceId, workspaceId)),
    db
      .select({
        id: creditGrants.id,
        source: creditGrants.source,
        amount: creditGrants.amount,
        remaining: creditGrants.remaining,
        expiresAt: creditGrants.expiresAt,
        purchaseId: creditGrants.purchaseId,
        reason: creditGrants.reason,
        createdAt: creditGrants.createdAt,
      })
      .from(creditGrants)
      .where(and(eq(creditGrants.workspaceId, workspaceId), gt(creditGrants.remaining, 0)))
      .orderBy(...drawOrder),
    db
      .select({
        credits: sql<number>`coalesce(sum(${creditHolds.amount}), 0)::int`,
        count: sql<number>`count(*)::int`,
      })
      .from(creditHolds)
      .where(and(eq(creditHolds.workspaceId, workspaceId), eq(creditHolds.status, "active"))),
  ]);

  return {
    balance: balance?.balance ?? 0,
    belowThreshold: balance?.belowThreshold ?? false,
    threshold: balance?.threshold ?? 0,
    tierName: balance?.tierName ?? null,
    updatedAt: balance?.updatedAt ?? null,
    /** True once the initial allocation has run: the dashboard waits for it. */
    allocated: grants.length > 0 || (balance?.balance ?? 0) > 0,
    grants,
    /** Credits reserved by open holds; already out of the balance until settled. */
    held: { credits: held?.credits ?? 0, holds: held?.count ?? 0 },
  };
}

/**
 * The balance summary plus when it runs out at the last week's rate and
 * when the open period ends (the next allowance arrives then).
 */
export async function balanceDetail(db: Db, workspaceId: string, now: Date) {
  const [summary, [burn], [period]] = await Promise.all([
    balanceSummary(db, workspaceId),
    db
      .select({ credits: sql<string>`coalesce(sum(${usageRecords.credits}), 0)::bigint` })
      .from(usageRecords)
      .where(
        and(
          eq(usageRecords.workspaceId, workspaceId),
          eq(usageRecords.outcome, "consumed"),
          gte(usageRecords.createdAt, new Date(now.getTime() - FORECAST_WINDOW_MS)),
          lt(usageRecords.createdAt, now),
        ),
      ),
    db
      .select({ startsAt: creditPeriods.startsAt, endsAt: creditPeriods.endsAt })
      .from(creditPeriods)
      .where(and(eq(creditPeriods.workspaceId, workspaceId), eq(creditPeriods.status, "open")))
      .limit(1),
  ]);
  const forecast = forecastDepletion({
    now,
    grants: summary.grants,
    consumedInWindow: Number(burn?.credits ?? 0),
    windowMs: FORECAST_WINDOW_MS,
  });

  return { ...summary, forecast, period: period ?? null };
}

export interface HistoryFilters {
  limit: number;
  /** Entries with an id below this one (the previous page's cursor). */
  before?: number;
  kinds?: LedgerEntryKind[];
  featureCode?: string;
  apiKeyId?: string;
  from?: Date;
  to?: Date;
}

/**
 * Ledger entries, newest first, keyset-paginated by entry id, filtered by
 * kind, feature (of the consumption or hold an entry belongs to), API key
 * and a [from, to) time range.
 */
export async function ledgerHistory(db: Db, workspaceId: string, options: HistoryFilters) {
  const feature = sql<
    string | null
  >`coalesce(${usageRecords.featureCode}, ${creditHolds.featureCode})`;
  const rows = await db
    .select({
      id: creditLedgerEntries.id,
      kind: creditLedgerEntries.kind,
      amount: creditLedgerEntries.amount,
      balanceAfter: creditLedgerEntries.balanceAfter,
      reason: creditLedgerEntries.reason,
      actorType: creditLedgerEntries.actorType,
      actorId: creditLedgerEntries.actorId,
      grantId: creditLedgerEntries.grantId,
      grantSource: creditGrants.source,
      featureCode: feature,
      idempotencyKey: creditLedgerEntries.idempotencyKey,
      createdAt: creditLedgerEntries.createdAt,
    })
    .from(creditLedgerEntries)
    .innerJoin(creditGrants, eq(creditGrants.id, creditLedgerEntries.grantId))
    .leftJoin(usageRecords, eq(usageRecords.id, creditLedgerEntries.usageRecordId))
    .leftJoin(creditHolds, eq(creditHolds.id, creditLedgerEntries.holdId))
    .where(
      and(
        eq(creditLedgerEntries.workspaceId, workspaceId),
        options.before === undefined ? undefined : lt(creditLedgerEntries.id, options.before),
        options.kinds?.length
          ? sql`${creditLedgerEntries.kind} IN (${sql.join(
              options.kinds.map((kind) => sql`${kind}`),
              sql`, `,
            )})`
          : undefined,
        options.featureCode === undefined ? undefined : sql`${feature} = ${options.featureCode}`,
        options.apiKeyId === undefined
          ? undefined
          : and(
              eq(creditLedgerEntries.actorType, "api_key"),
              eq(creditLedgerEntries.actorId, options.apiKeyId),
            ),
        options.from === undefined ? undefined : gte(creditLedgerEntries.createdAt, options.from),
        options.to === undefined ? undefined : lt(creditLedgerEntries.createdAt, options.to),
      ),
    )
    .orderBy(desc(creditLedgerEntries.id))
    .limit(options.limit + 1);

  return {
    entries: rows.slice(0, options.limit),
    nextCursor: rows.length > options.limit ? rows[options.limit - 1]?.id : undefined,
  };
}

/**
 * Consumption per feature and UTC day over the last `days` days (today
 * included), zero days filled in, for the usage chart. Refused calls are
 * counted beside, never added to the credits.
 */
export async function usageByDay(db: Db, workspaceId: string, now: Date, days: number) {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const since = new Date(today - (days - 1) * DAY_MS);
  const day = sql<string>`to_char(${usageRecords.createdAt} AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;
  const rows = await db
    .select({
      day,
      featureCode: usageRecords.featureCode,
      credits: sql<number>`coalesce(sum(${usageRecords.credits}) FILTER (WHERE ${usageRecords.outcome} = 'consumed'), 0)::bigint`,
      calls: sql<number>`count(*) FILTER (WHERE ${usageRecords.outcome} = 'consumed')::int`,
      refused: sql<number>`count(*) FILTER (WHERE ${usageRecords.outcome} <> 'consumed')::int`,
      bytes: sql<number>`coalesce(sum(${usageRecords.inputBytes}) FILTER (WHERE ${usageRecords.outcome} = 'consumed'), 0)::bigint`,
    })
    .from(usageRecords)
    .where(and(eq(usageRecords.workspaceId, workspaceId), gte(usageRecords.createdAt, since)))
    .groupBy(day, usageRecords.featureCode)
    .orderBy(day, usageRecords.featureCode);

  const features = [...new Set(rows.map((row) => row.featureCode))].sort();
  const dayList = Array.from({ length: days }, (_, index) =>
    new Date(since.getTime() + index * DAY_MS).toISOString().slice(0, 10),
  );
  const cell = new Map(rows.map((row) => [`${row.day}|${row.featureCode}`, row]));

  return {
    features,
    days: dayList.map((date) => ({
      date,
      byFeature: features.map((featureCode) => {
        const row = cell.get(`${date}|${featureCode}`);

        return {
          featureCode,
          credits: Number(row?.credits ?? 0),
          calls: row?.calls ?? 0,
          refused: row?.refused ?? 0,
          bytes: Number(row?.bytes ?? 0),
        };
      }),
    })),
    totals: features.map((featureCode) => ({
      featureCode,
      credits: rows
        .filter((row) => row.featureCode === featureCode)
        .reduce((sum, row) => sum + Number(row.credits), 0),
      calls: rows
        .filter((row) => row.featureCode === featureCode)
        .reduce((sum, row) => sum + row.calls, 0),
    })),
  };
}

/**
 * What the open period would carry over if it ended now, and why: the
 * allowance still unused, the carried credits still live, and the tier's cap.
 */
export async function rolloverEligibility(db: Db, workspaceId: string) {
  const [row] = await db
    .select({ period: creditPeriods, tier: tiers })
    .from(creditPeriods)
    .innerJoin(workspaces, eq(workspaces.id, creditPeriods.workspaceId))
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .where(and(eq(creditPeriods.workspaceId, workspaceId), eq(creditPeriods.status, "open")))
    .limit(1);
  if (!row) return null;
  const { period, tier } = row;
  const [[unused], [carried]] = await Promise.all([
    db
      .select({ credits: sql<number>`coalesce(sum(${creditGrants.remaining}), 0)::int` })
      .from(creditGrants)
      .where(
        and(
          eq(creditGrants.workspaceId, workspaceId),
          eq(creditGrants.periodId, period.id),
          eq(creditGrants.source, "tier_allocation"),
        ),
      ),
    db
      .select({ credits: sql<number>`coalesce(sum(${creditGrants.remaining}), 0)::int` })
      .from(creditGrants)
      .where(
        and(
          eq(creditGrants.workspaceId, workspaceId),
          eq(creditGrants.source, "rollover"),
          gt(creditGrants.remaining, 0),
          gt(creditGrants.expiresAt, period.endsAt),
        ),
      ),
  ]);
  const outcome = rolloverOf({
    allowance: period.allowance,
    unused: unused?.credits ?? 0,
    carriedLive: carried?.credits ?? 0,
    capCredits: tier.rolloverCapCredits,
    capPercent: tier.rolloverCapPercent,
  });

  return {
    periodEndsAt: period.endsAt,
    allowance: period.allowance,
    unused: unused?.credits ?? 0,
    carriedLive: carried?.credits ?? 0,
    expiresAfterPeriods: tier.rolloverExpiryPeriods,
    ...outcome,
  };
}

/** The tier's overage policy and how much of this cycle's overage cap is used. */
export async function overageStatus(db: Db, workspaceId: string, now: Date) {
  const periodStart = await overagePeriodStart(db, workspaceId, now);
  const [[tier], [used]] = await Promise.all([
    db
      .select({ policy: tiers.overagePolicy, capCredits: tiers.overageCapCredits })
      .from(workspaces)
      .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
      .where(eq(workspaces.id, workspaceId)),
    db
      .select({
        credits: sql<number>`coalesce(sum(${overageRecords.credits}), 0)::int`,
        count: sql<number>`count(*)::int`,
      })
      .from(overageRecords)
      .where(
        and(
          eq(overageRecords.workspaceId, workspaceId),
          eq(overageRecords.periodStart, periodStart),
        ),
      ),
  ]);

  return {
    policy: tier?.policy ?? "hard_stop",
    capCredits: tier?.policy === "soft_cap" ? (tier.capCredits ?? 0) : 0,
    usedCredits: used?.credits ?? 0,
    calls: used?.count ?? 0,
    cycleStartsAt: periodStart,
  };
}

export async function recentUsage(db: Db, workspaceId: string, limit = 20) {
  return db
    .select({
      id: usageRecords.id,
      featureCode: usageRecords.featureCode,
      inputBytes: usageRecords.inputBytes,
      credits: usageRecords.credits,
      outcome: usageRecords.outcome,
      apiKeyId: usageRecords.apiKeyId,
      createdAt: usageRecords.createdAt,
    })
    .from(usageRecords)
    .where(eq(usageRecords.workspaceId, workspaceId))
    .orderBy(desc(usageRecords.createdAt), desc(usageRecords.id))
    .limit(limit);
}
