import { eq } from "drizzle-orm";
import type { PgTable, PgColumn } from "drizzle-orm/pg-core";

import {
  apiKeys,
  autoTopUps,
  creditBalances,
  creditGrants,
  creditHolds,
  creditLedgerEntries,
  creditPeriods,
  emailMessages,
  idempotencyKeys,
  notifications,
  overageRecords,
  quotaExceedances,
  usageRecords,
  webhookEndpoints,
  workspaceInvites,
  workspaceMembers,
} from "@/drizzle/schema";
import type { Tx } from "@/server/db/client";

/**
 * What deleting a workspace removes, in an order its foreign keys allow
 * (ledger entries point at grants). The workspace row itself stays, as a
 * tombstone (status deleted, slug freed), so the records kept below still
 * name it:
 *
 * - kept as legal records: the audit log, billing adjustments, seat changes,
 *   invoices and their lines, the subscription and its billing cycles,
 *   credit purchases and refunds (payments), the gateway customer;
 * - kept for the other side: credit transfers, which the receiving or
 *   sending workspace still lists;
 * - kept as history: the outbox's events and daily metrics (counts only).
 *
 * Everything else the workspace owns goes. Deleting what is already gone
 * deletes nothing, so running it twice is harmless.
 */
const purged: { name: string; table: PgTable; workspaceId: PgColumn }[] = [
  {
    name: "ledgerEntries",
    table: creditLedgerEntries,
    workspaceId: creditLedgerEntries.workspaceId,
  },
  { name: "holds", table: creditHolds, workspaceId: creditHolds.workspaceId },
  { name: "grants", table: creditGrants, workspaceId: creditGrants.workspaceId },
  { name: "balance", table: creditBalances, workspaceId: creditBalances.workspaceId },
  { name: "periods", table: creditPeriods, workspaceId: creditPeriods.workspaceId },
  { name: "idempotencyKeys", table: idempotencyKeys, workspaceId: idempotencyKeys.workspaceId },
  { name: "overage", table: overageRecords, workspaceId: overageRecords.workspaceId },
  { name: "usageRecords", table: usageRecords, workspaceId: usageRecords.workspaceId },
  {
    name: "quotaExceedances",
    table: quotaExceedances,
    workspaceId: quotaExceedances.workspaceId,
  },
  { name: "autoTopUp", table: autoTopUps, workspaceId: autoTopUps.workspaceId },
  { name: "apiKeys", table: apiKeys, workspaceId: apiKeys.workspaceId },
  // Their delivery attempts go with them (ON DELETE CASCADE).
  { name: "webhookEndpoints", table: webhookEndpoints, workspaceId: webhookEndpoints.workspaceId },
  // Their deliveries go with them (ON DELETE CASCADE).
  { name: "notifications", table: notifications, workspaceId: notifications.workspaceId },
  { name: "emails", table: emailMessages, workspaceId: emailMessages.workspaceId },
  { name: "invites", table: workspaceInvites, workspaceId: workspaceInvites.workspaceId },
  { name: "members", table: workspaceMembers, workspaceId: workspaceMembers.workspaceId },
];

/** Purges a deleted workspace's data; returns how many rows went from each table. */
export async function purgeWorkspaceData(
  tx: Tx,
  workspaceId: string,
): Promise<Record<string, number>> {
  const removed: Record<string, number> = {};
  for (const { name, table, workspaceId: column } of purged) {
    const result = await tx.delete(table).where(eq(column, workspaceId));
    removed[name] = result.count;
  }

  return removed;
}
