import { and, asc, desc, eq, gt, lt, sql } from "drizzle-orm";

import {
  creditBalances,
  creditGrants,
  creditLedgerEntries,
  tiers,
  usageRecords,
  workspaces,
} from "@/drizzle/schema";
import type { Db } from "@/server/db/client";

export async function balanceSummary(db: Db, workspaceId: string) {
  const [[balance], grants] = await Promise.all([
    db
      .select({
        balance: creditBalances.balance,
        belowThreshold: creditBalances.belowThreshold,
        threshold: tiers.lowBalanceThreshold,
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
        createdAt: creditGrants.createdAt,
      })
      .from(creditGrants)
      .where(and(eq(creditGrants.workspaceId, workspaceId), gt(creditGrants.remaining, 0)))
      .orderBy(
        asc(creditGrants.priority),
        sql`${creditGrants.expiresAt} ASC NULLS LAST`,
        asc(creditGrants.createdAt),
      ),
  ]);

  return {
    balance: balance?.balance ?? 0,
    belowThreshold: balance?.belowThreshold ?? false,
    threshold: balance?.threshold ?? 0,
    updatedAt: balance?.updatedAt ?? null,
    /** True once the initial allocation has run: the dashboard waits for it. */
    allocated: grants.length > 0 || (balance?.balance ?? 0) > 0,
    grants,
  };
}

/** Ledger entries, newest first, keyset-paginated by entry id. */
export async function ledgerHistory(
  db: Db,
  workspaceId: string,
  options: { limit: number; before?: number },
) {
  const rows = await db
    .select({
      id: creditLedgerEntries.id,
      kind: creditLedgerEntries.kind,
      amount: creditLedgerEntries.amount,
      balanceAfter: creditLedgerEntries.balanceAfter,
      reason: creditLedgerEntries.reason,
      actorType: creditLedgerEntries.actorType,
      createdAt: creditLedgerEntries.createdAt,
    })
    .from(creditLedgerEntries)
    .where(
      and(
        eq(creditLedgerEntries.workspaceId, workspaceId),
        options.before === undefined ? undefined : lt(creditLedgerEntries.id, options.before),
      ),
    )
    .orderBy(desc(creditLedgerEntries.id))
    .limit(options.limit + 1);

  return {
    entries: rows.slice(0, options.limit),
    nextCursor: rows.length > options.limit ? rows[options.limit - 1]?.id : undefined,
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
