import { and, asc, eq, gt, isNotNull, lte, sql } from "drizzle-orm";

import { creditBalances, creditGrants, creditLedgerEntries, grantSource } from "@/drizzle/schema";
import { actorRef, type Actor } from "@/server/actor";
import type { Clock } from "@/server/clock";
import type { DbOrTx, Tx } from "@/server/db/client";
import { AppError } from "@/server/errors";
import { event, type EventDraft } from "@/server/events/catalogue";

/**
 * The credit ledger. Every function here runs inside the caller's
 * transaction and starts by locking the workspace's credit_balances row, so
 * all changes to one workspace's credits are serialised and the invariant
 *
 *   balance = sum of ledger entries = sum of remaining on grants
 *
 * holds after every commit. Entries are append-only.
 */

export type GrantSource = (typeof grantSource.enumValues)[number];

export const MAX_CREDITS = 2_147_483_647;

interface LockedBalance {
  balance: number;
  belowThreshold: boolean;
}

export async function lockBalance(tx: Tx, workspaceId: string): Promise<LockedBalance> {
  const [row] = await tx
    .select({ balance: creditBalances.balance, belowThreshold: creditBalances.belowThreshold })
    .from(creditBalances)
    .where(eq(creditBalances.workspaceId, workspaceId))
    .for("update");
  if (!row) throw new AppError("not_found", "This workspace has no credit balance");

  return row;
}

/**
 * The low-balance flag flips on when the balance drops below the threshold
 * and off when it is back at or above it; `credits/low-balance` is emitted
 * only when it flips on, so once per downward crossing.
 */
export function lowBalanceTransition(wasBelow: boolean, balanceAfter: number, threshold: number) {
  const below = balanceAfter < threshold;

  return { below, crossedDown: below && !wasBelow };
}

async function saveBalance(
  tx: Tx,
  clock: Clock,
  workspaceId: string,
  balance: number,
  below: boolean,
) {
  await tx
    .update(creditBalances)
    .set({ balance, belowThreshold: below, updatedAt: clock.now() })
    .where(eq(creditBalances.workspaceId, workspaceId));
}

export interface GrantInput {
  workspaceId: string;
  source: GrantSource;
  amount: number;
  /** What the grant comes from; a second grant with the same key is not created. */
  idempotencyKey: string;
  reason: string;
  actor: Actor;
  priority?: number;
  expiresAt?: Date | null;
  lowBalanceThreshold: number;
}

export interface GrantResult {
  grantId: string;
  created: boolean;
  balanceAfter: number;
  events: EventDraft[];
}

export async function grantCredits(tx: Tx, clock: Clock, input: GrantInput): Promise<GrantResult> {
  if (!Number.isSafeInteger(input.amount) || input.amount <= 0 || input.amount > MAX_CREDITS) {
    throw new AppError("invalid_request", "A grant must be a positive whole number of credits", {
      field: "amount",
    });
  }
  const locked = await lockBalance(tx, input.workspaceId);

  const [grant] = await tx
    .insert(creditGrants)
    .values({
      workspaceId: input.workspaceId,
      source: input.source,
      amount: input.amount,
      remaining: input.amount,
      priority: input.priority ?? 100,
      expiresAt: input.expiresAt ?? null,
      idempotencyKey: input.idempotencyKey,
      reason: input.reason,
      createdAt: clock.now(),
    })
    .onConflictDoNothing({ target: [creditGrants.workspaceId, creditGrants.idempotencyKey] })
    .returning({ id: creditGrants.id });
  if (!grant) {
    const [existing] = await tx
      .select({ id: creditGrants.id })
      .from(creditGrants)
      .where(
        and(
          eq(creditGrants.workspaceId, input.workspaceId),
          eq(creditGrants.idempotencyKey, input.idempotencyKey),
        ),
      );

    return {
      grantId: existing?.id ?? "",
      created: false,
      balanceAfter: locked.balance,
      events: [],
    };
  }

  const balanceAfter = locked.balance + input.amount;
  if (balanceAfter > MAX_CREDITS) {
    throw new AppError("invalid_request", "The balance would exceed the largest supported amount", {
      field: "amount",
    });
  }
  const ref = actorRef(input.actor);
  await tx.insert(creditLedgerEntries).values({
    workspaceId: input.workspaceId,
    grantId: grant.id,
    kind: "grant",
    amount: input.amount,
    balanceAfter,
    reason: input.reason,
    actorType: ref.type,
    actorId: ref.id,
    idempotencyKey: input.idempotencyKey,
    createdAt: clock.now(),
  });
  const { below } = lowBalanceTransition(
    locked.belowThreshold,
    balanceAfter,
    input.lowBalanceThreshold,
  );
  await saveBalance(tx, clock, input.workspaceId, balanceAfter, below);

  return {
    grantId: grant.id,
    created: true,
    balanceAfter,
    events: [
      event("credits/allocated", {
        workspaceId: input.workspaceId,
        grantId: grant.id,
        source: input.source,
        credits: input.amount,
        balanceAfter,
        expiresAt: input.expiresAt?.toISOString() ?? null,
      }),
    ],
  };
}

/**
 * Zeroes grants whose expiry has passed, one `expire` entry each. Consumption
 * calls it first so expired credits are never drawn.
 */
async function expireDue(tx: Tx, clock: Clock, workspaceId: string, balance: number) {
  const now = clock.now();
  const due = await tx
    .select({ id: creditGrants.id, remaining: creditGrants.remaining })
    .from(creditGrants)
    .where(
      and(
        eq(creditGrants.workspaceId, workspaceId),
        gt(creditGrants.remaining, 0),
        isNotNull(creditGrants.expiresAt),
        lte(creditGrants.expiresAt, now),
      ),
    )
    .orderBy(asc(creditGrants.expiresAt), asc(creditGrants.id));

  const events: EventDraft[] = [];
  let current = balance;
  for (const grant of due) {
    current -= grant.remaining;
    await tx.update(creditGrants).set({ remaining: 0 }).where(eq(creditGrants.id, grant.id));
    await tx.insert(creditLedgerEntries).values({
      workspaceId,
      grantId: grant.id,
      kind: "expire",
      amount: -grant.remaining,
      balanceAfter: current,
      reason: "Grant expired",
      actorType: "system",
      actorId: null,
      createdAt: clock.now(),
    });
    events.push(
      event("credits/expired", {
        workspaceId,
        grantId: grant.id,
        credits: grant.remaining,
        balanceAfter: current,
      }),
    );
  }

  return { balance: current, events };
}

export interface DrawInput {
  workspaceId: string;
  amount: number;
  actor: Actor;
  reason: string;
  idempotencyKey: string | null;
  usageRecordId: string | null;
  lowBalanceThreshold: number;
}

export type DrawResult =
  | {
      ok: true;
      balanceBefore: number;
      balanceAfter: number;
      draws: { grantId: string; amount: number }[];
      events: EventDraft[];
    }
  | { ok: false; balance: number; events: EventDraft[] };

/**
 * Draws credits from live grants: lowest priority number first, then the
 * soonest expiry, then the oldest; grants that never expire go last within
 * their priority. One draw may span several grants, one entry per grant.
 * Refuses (ok: false) rather than overdraw.
 */
export async function drawCredits(tx: Tx, clock: Clock, input: DrawInput): Promise<DrawResult> {
  const locked = await lockBalance(tx, input.workspaceId);
  const expired = await expireDue(tx, clock, input.workspaceId, locked.balance);
  const balanceBefore = expired.balance;
  const events = [...expired.events];

  const settle = async (balance: number) => {
    const transition = lowBalanceTransition(
      locked.belowThreshold,
      balance,
      input.lowBalanceThreshold,
    );
    await saveBalance(tx, clock, input.workspaceId, balance, transition.below);
    if (transition.crossedDown) {
      events.push(
        event("credits/low-balance", {
          workspaceId: input.workspaceId,
          balance,
          threshold: input.lowBalanceThreshold,
        }),
      );
    }
  };

  if (balanceBefore < input.amount) {
    if (expired.events.length > 0) await settle(balanceBefore);

    return { ok: false, balance: balanceBefore, events };
  }

  const grants = await tx
    .select({ id: creditGrants.id, remaining: creditGrants.remaining })
    .from(creditGrants)
    .where(and(eq(creditGrants.workspaceId, input.workspaceId), gt(creditGrants.remaining, 0)))
    .orderBy(
      asc(creditGrants.priority),
      sql`${creditGrants.expiresAt} ASC NULLS LAST`,
      asc(creditGrants.createdAt),
      asc(creditGrants.id),
    );

  const ref = actorRef(input.actor);
  const draws: { grantId: string; amount: number }[] = [];
  let left = input.amount;
  let balance = balanceBefore;
  for (const grant of grants) {
    if (left === 0) break;
    const take = Math.min(left, grant.remaining);
    left -= take;
    balance -= take;
    draws.push({ grantId: grant.id, amount: take });
    await tx
      .update(creditGrants)
      .set({ remaining: sql`${creditGrants.remaining} - ${take}` })
      .where(eq(creditGrants.id, grant.id));
    await tx.insert(creditLedgerEntries).values({
      workspaceId: input.workspaceId,
      grantId: grant.id,
      kind: "consume",
      amount: -take,
      balanceAfter: balance,
      reason: input.reason,
      actorType: ref.type,
      actorId: ref.id,
      idempotencyKey: input.idempotencyKey,
      usageRecordId: input.usageRecordId,
      createdAt: clock.now(),
    });
  }
  if (left !== 0) {
    // The balance row said there was enough; the grants disagree. Never paper over that.
    throw new Error(
      `Ledger invariant broken for workspace ${input.workspaceId}: grants short by ${left}`,
    );
  }

  await settle(balance);

  return { ok: true, balanceBefore, balanceAfter: balance, draws, events };
}

export interface InvariantReport {
  balance: number;
  ledgerSum: number;
  grantSum: number;
  holds: boolean;
}

/** balance = sum of entries = sum of remaining on grants, read in one snapshot. */
export async function checkInvariant(db: DbOrTx, workspaceId: string): Promise<InvariantReport> {
  const rows = await db.execute<{
    balance: number | null;
    ledger_sum: string;
    grant_sum: string;
  }>(sql`
    SELECT
      (SELECT balance FROM credit_balances WHERE workspace_id = ${workspaceId}) AS balance,
      (SELECT coalesce(sum(amount), 0) FROM credit_ledger_entries
        WHERE workspace_id = ${workspaceId}) AS ledger_sum,
      (SELECT coalesce(sum(remaining), 0) FROM credit_grants
        WHERE workspace_id = ${workspaceId}) AS grant_sum`);
  const row = rows[0];
  const balance = Number(row?.balance ?? 0);
  const ledgerSum = Number(row?.ledger_sum ?? 0);
  const grantSum = Number(row?.grant_sum ?? 0);

  return { balance, ledgerSum, grantSum, holds: balance === ledgerSum && ledgerSum === grantSum };
}
