import { and, asc, eq, gt, inArray, isNotNull, isNull, lte, ne, or, sql } from "drizzle-orm";

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

export interface LockedBalance {
  workspaceId: string;
  balance: number;
  belowThreshold: boolean;
  topUpThreshold: number | null;
  belowTopUp: boolean;
}

/**
 * Takes the workspace's balance lock without reading the balance, or nothing
 * when it has none (the caller's next read says the workspace is missing).
 * Every consumption holds this lock while it reads the workspace's status and
 * draws, and status changes take it too, so the two never interleave.
 */
export async function takeBalanceLock(tx: Tx, workspaceId: string): Promise<void> {
  await tx.execute(
    sql`SELECT 1 FROM ${creditBalances} WHERE workspace_id = ${workspaceId} FOR UPDATE`,
  );
}

export async function lockBalance(tx: Tx, workspaceId: string): Promise<LockedBalance> {
  const [row] = await tx
    .select({
      workspaceId: creditBalances.workspaceId,
      balance: creditBalances.balance,
      belowThreshold: creditBalances.belowThreshold,
      topUpThreshold: creditBalances.topUpThreshold,
      belowTopUp: creditBalances.belowTopUp,
    })
    .from(creditBalances)
    .where(eq(creditBalances.workspaceId, workspaceId))
    .for("update");
  if (!row) throw new AppError("not_found", "This workspace has no credit balance");

  return row;
}

/**
 * The order a transaction that changes several workspaces locks their
 * balances in: by workspace id. Transfers and the sweeps follow it, so no two
 * of them wait on each other in a cycle.
 */
export function inLockOrder(a: { workspaceId: string }, b: { workspaceId: string }): number {
  return a.workspaceId < b.workspaceId ? -1 : a.workspaceId > b.workspaceId ? 1 : 0;
}

/** The low-balance threshold of the workspace's tier. */
export async function lowBalanceThresholdOf(db: DbOrTx, workspaceId: string): Promise<number> {
  const rows = await db.execute<{ threshold: number }>(sql`
    SELECT t.low_balance_threshold AS threshold
    FROM workspaces w JOIN tiers t ON t.id = w.tier_id
    WHERE w.id = ${workspaceId}`);

  return rows[0]?.threshold ?? 0;
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

export interface SettleOptions {
  /**
   * false: this change never buys credits (a refund: money asked back is no reason to buy
   * more); a drop below the auto top-up threshold then leaves the crossing to the next change.
   */
  topUp?: boolean;
}

/**
 * What settling `locked` at `balance` changes, without writing it: the two
 * threshold flags, and the events a downward crossing asks for:
 * `credits/low-balance` for the tier's threshold, `credits/top-up-due` for
 * the workspace's auto top-up threshold. Updates the snapshot in place, so
 * settling it again in the same transaction is exact. Consumption in groups
 * (group-commit.ts) settles many times in memory and writes the row once.
 */
export function settleSnapshot(
  locked: LockedBalance,
  balance: number,
  lowBalanceThreshold: number,
  options: SettleOptions = {},
): EventDraft[] {
  const low = lowBalanceTransition(locked.belowThreshold, balance, lowBalanceThreshold);
  let topUp =
    locked.topUpThreshold === null
      ? { below: false, crossedDown: false }
      : lowBalanceTransition(locked.belowTopUp, balance, locked.topUpThreshold);
  if (options.topUp === false && topUp.crossedDown) {
    // Not this crossing: the flag stays up, so the next movement below the threshold is one.
    topUp = { below: false, crossedDown: false };
  }
  locked.balance = balance;
  locked.belowThreshold = low.below;
  locked.belowTopUp = topUp.below;

  const events: EventDraft[] = [];
  if (low.crossedDown) {
    events.push(
      event("credits/low-balance", {
        workspaceId: locked.workspaceId,
        balance,
        threshold: lowBalanceThreshold,
      }),
    );
  }
  if (topUp.crossedDown && locked.topUpThreshold !== null) {
    events.push(
      event("credits/top-up-due", {
        workspaceId: locked.workspaceId,
        balance,
        threshold: locked.topUpThreshold,
      }),
    );
  }

  return events;
}

/**
 * Writes the new balance and its two threshold flags, and returns the events
 * a downward crossing asks for (settleSnapshot). Every change of a balance
 * ends here, so both fire once per crossing whatever moved the balance.
 */
export async function settleBalance(
  tx: Tx,
  clock: Clock,
  locked: LockedBalance,
  balance: number,
  lowBalanceThreshold: number,
  options: SettleOptions = {},
): Promise<EventDraft[]> {
  const events = settleSnapshot(locked, balance, lowBalanceThreshold, options);
  await tx
    .update(creditBalances)
    .set({
      balance,
      belowThreshold: locked.belowThreshold,
      belowTopUp: locked.belowTopUp,
      updatedAt: clock.now(),
    })
    .where(eq(creditBalances.workspaceId, locked.workspaceId));

  return events;
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
  purchaseId?: string | null;
  periodId?: string | null;
  /**
   * The entry that records the grant: `grant`, `rollover` / `transfer` for moved credits, or
   * `adjustment` for an admin's correction.
   */
  entryKind?: "grant" | "rollover" | "transfer" | "adjustment";
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
      purchaseId: input.purchaseId ?? null,
      periodId: input.periodId ?? null,
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
    kind: input.entryKind ?? "grant",
    amount: input.amount,
    balanceAfter,
    reason: input.reason,
    actorType: ref.type,
    actorId: ref.id,
    idempotencyKey: input.idempotencyKey,
    createdAt: clock.now(),
  });
  const settled = await settleBalance(tx, clock, locked, balanceAfter, input.lowBalanceThreshold);

  return {
    grantId: grant.id,
    created: true,
    balanceAfter,
    events: [
      ...settled,
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
async function expireDue(
  tx: Tx,
  clock: Clock,
  workspaceId: string,
  balance: number,
  closingPeriodId: string | null = null,
) {
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
        // An open period's allowance expires when the period closes, after rollover took its share.
        or(
          ne(creditGrants.source, "tier_allocation"),
          isNull(creditGrants.periodId),
          closingPeriodId ? eq(creditGrants.periodId, closingPeriodId) : undefined,
          sql`NOT EXISTS (SELECT 1 FROM credit_periods p
            WHERE p.id = ${creditGrants.periodId} AND p.status = 'open')`,
        ),
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
  /** What the draw is for: a consumption (the default), a hold, a debit adjustment or a transfer. */
  kind?: "consume" | "hold" | "adjustment" | "transfer" | "refund" | "rollover";
  holdId?: string | null;
  /** Draw only from these grants (a refund draws from its purchase's grant). */
  grantIds?: string[];
  /** false: this draw never sets off an auto top-up (see SettleOptions). */
  topUp?: boolean;
}

export interface Draw {
  grantId: string;
  amount: number;
  /** The grant's expiry, carried over by a transfer. */
  expiresAt: Date | null;
}

export type DrawResult =
  | {
      ok: true;
      balanceBefore: number;
      balanceAfter: number;
      draws: Draw[];
      events: EventDraft[];
    }
  | { ok: false; balance: number; events: EventDraft[] };

/** The order consumption draws grants in; see drawCredits. */
export const drawOrder = [
  asc(creditGrants.priority),
  sql`${creditGrants.expiresAt} ASC NULLS LAST`,
  asc(creditGrants.createdAt),
  // A period's allowance and the credits carried into it are made in the same moment and expire
  // together; the carried ones go first, since only what is left of the allowance can carry
  // over again. Without this the random id would decide.
  sql`${creditGrants.source} = 'tier_allocation' ASC`,
  asc(creditGrants.id),
];

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
    events.push(
      ...(await settleBalance(tx, clock, locked, balance, input.lowBalanceThreshold, {
        topUp: input.topUp,
      })),
    );
  };

  const restricted = input.grantIds !== undefined;
  let available = balanceBefore;
  if (restricted) {
    const [row] = await tx
      .select({ sum: sql<number>`coalesce(sum(${creditGrants.remaining}), 0)::int` })
      .from(creditGrants)
      .where(
        and(
          eq(creditGrants.workspaceId, input.workspaceId),
          inArray(creditGrants.id, input.grantIds ?? []),
        ),
      );
    available = Math.min(balanceBefore, row?.sum ?? 0);
  }
  if (available < input.amount) {
    if (expired.events.length > 0) await settle(balanceBefore);

    return { ok: false, balance: available, events };
  }

  const grants = await tx
    .select({
      id: creditGrants.id,
      remaining: creditGrants.remaining,
      expiresAt: creditGrants.expiresAt,
    })
    .from(creditGrants)
    .where(
      and(
        eq(creditGrants.workspaceId, input.workspaceId),
        gt(creditGrants.remaining, 0),
        restricted ? inArray(creditGrants.id, input.grantIds ?? []) : undefined,
      ),
    )
    .orderBy(...drawOrder);

  const ref = actorRef(input.actor);
  const draws: Draw[] = [];
  let left = input.amount;
  let balance = balanceBefore;
  for (const grant of grants) {
    if (left === 0) break;
    const take = Math.min(left, grant.remaining);
    left -= take;
    balance -= take;
    draws.push({ grantId: grant.id, amount: take, expiresAt: grant.expiresAt });
    await tx
      .update(creditGrants)
      .set({ remaining: sql`${creditGrants.remaining} - ${take}` })
      .where(eq(creditGrants.id, grant.id));
    await tx.insert(creditLedgerEntries).values({
      workspaceId: input.workspaceId,
      grantId: grant.id,
      kind: input.kind ?? "consume",
      amount: -take,
      balanceAfter: balance,
      reason: input.reason,
      actorType: ref.type,
      actorId: ref.id,
      idempotencyKey: input.idempotencyKey,
      usageRecordId: input.usageRecordId,
      holdId: input.holdId ?? null,
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

export interface ReturnInput {
  workspaceId: string;
  /** Credits to give back, each to the grant it was drawn from. */
  returns: { grantId: string; amount: number }[];
  actor: Actor;
  reason: string;
  holdId: string | null;
  lowBalanceThreshold: number;
}

/**
 * Gives drawn credits back to the grants they came from (a hold released,
 * or the unused part of a finalized one), one release entry per grant. A
 * grant that expired meanwhile expires the returned credits at once, so
 * nothing outlives its grant.
 */
export async function returnCredits(
  tx: Tx,
  clock: Clock,
  input: ReturnInput,
): Promise<{ balanceAfter: number; events: EventDraft[] }> {
  const locked = await lockBalance(tx, input.workspaceId);
  const ref = actorRef(input.actor);
  let balance = locked.balance;
  for (const back of input.returns) {
    if (back.amount <= 0) continue;
    balance += back.amount;
    await tx
      .update(creditGrants)
      .set({ remaining: sql`${creditGrants.remaining} + ${back.amount}` })
      .where(
        and(eq(creditGrants.id, back.grantId), eq(creditGrants.workspaceId, input.workspaceId)),
      );
    await tx.insert(creditLedgerEntries).values({
      workspaceId: input.workspaceId,
      grantId: back.grantId,
      kind: "release",
      amount: back.amount,
      balanceAfter: balance,
      reason: input.reason,
      actorType: ref.type,
      actorId: ref.id,
      holdId: input.holdId,
      createdAt: clock.now(),
    });
  }
  const expired = await expireDue(tx, clock, input.workspaceId, balance);
  const settled = await settleBalance(
    tx,
    clock,
    locked,
    expired.balance,
    input.lowBalanceThreshold,
  );

  return { balanceAfter: expired.balance, events: [...expired.events, ...settled] };
}

/**
 * Expires every grant of a workspace that is past its expiry (the expiry
 * cron's unit of work). Closing a period passes its id, which expires that
 * period's allowance too.
 */
export async function expireGrants(
  tx: Tx,
  clock: Clock,
  workspaceId: string,
  lowBalanceThreshold: number,
  closingPeriodId: string | null = null,
): Promise<EventDraft[]> {
  const locked = await lockBalance(tx, workspaceId);
  const expired = await expireDue(tx, clock, workspaceId, locked.balance, closingPeriodId);
  if (expired.events.length === 0) return [];

  return [
    ...expired.events,
    ...(await settleBalance(tx, clock, locked, expired.balance, lowBalanceThreshold)),
  ];
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
