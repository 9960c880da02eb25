import { and, asc, eq, gt, ne, sql } from "drizzle-orm";

import { creditGrants, creditPeriods, tiers, workspaces } from "@/drizzle/schema";
import type { Actor } from "@/server/actor";
import { periodBounds } from "@/server/billing/periods";
import type { Clock } from "@/server/clock";
import type { Tx } from "@/server/db/client";
import { event, type EventDraft } from "@/server/events/catalogue";

import { drawCredits, expireGrants, grantCredits, lockBalance, type LockedBalance } from "./ledger";
import { rolloverOf } from "./rollover";

/**
 * Allocation periods: each workspace's credits run in monthly periods
 * anchored on the moment it was created (see billing/periods.ts for the
 * anchor rule). A period opens with the tier's allowance, which expires when
 * the period closes; closing first carries unused allowance into the next
 * period as a rollover grant, up to the tier's cap.
 *
 * Periods are closed by the billing cycle of the same period
 * (billing/cycle-completed), not by a sweep of their own.
 */

/** Tier allowances draw first, rollovers with them by expiry; bonuses and purchases after. */
export const ALLOWANCE_PRIORITY = 100;

type Tier = typeof tiers.$inferSelect;
type Period = typeof creditPeriods.$inferSelect;

const system = (reason: string): Actor => ({ type: "system", reason });

/** Opens period `sequence` and grants its allowance, expiring at the period's end. */
async function openPeriod(
  tx: Tx,
  clock: Clock,
  workspaceId: string,
  anchorAt: Date,
  sequence: number,
  tier: Tier,
): Promise<{ period: Period; events: EventDraft[] }> {
  const bounds = periodBounds(anchorAt, sequence);
  await tx
    .insert(creditPeriods)
    .values({
      workspaceId,
      anchorAt,
      sequence,
      startsAt: bounds.startsAt,
      endsAt: bounds.endsAt,
      allowance: tier.monthlyCredits,
      createdAt: clock.now(),
    })
    .onConflictDoNothing();
  const [period] = await tx
    .select()
    .from(creditPeriods)
    .where(and(eq(creditPeriods.workspaceId, workspaceId), eq(creditPeriods.sequence, sequence)));
  if (!period) throw new Error(`Period ${sequence} of workspace ${workspaceId} vanished`);

  const events: EventDraft[] = [];
  if (period.allowance > 0) {
    const allowance = await grantCredits(tx, clock, {
      workspaceId,
      source: "tier_allocation",
      amount: period.allowance,
      idempotencyKey: `tier-allocation:${period.id}`,
      reason: `${tier.name} tier allowance, period ${sequence}`,
      actor: system("period allocation"),
      priority: ALLOWANCE_PRIORITY,
      expiresAt: period.endsAt,
      periodId: period.id,
      lowBalanceThreshold: tier.lowBalanceThreshold,
    });
    events.push(...allowance.events);
  }

  return { period, events };
}

const isThresholdEvent = (draft: EventDraft) =>
  draft.name === "credits/low-balance" || draft.name === "credits/top-up-due";

/**
 * A close moves credits in several steps (carry, expiry, new allowance), and
 * the balance between them is no balance anyone sees: a crossing is judged
 * from where the whole close starts and ends, not from each step.
 */
function crossingsOfClose(
  workspaceId: string,
  before: Pick<LockedBalance, "belowThreshold" | "belowTopUp">,
  after: LockedBalance,
  lowBalanceThreshold: number,
): EventDraft[] {
  const events: EventDraft[] = [];
  if (after.belowThreshold && !before.belowThreshold) {
    events.push(
      event("credits/low-balance", {
        workspaceId,
        balance: after.balance,
        threshold: lowBalanceThreshold,
      }),
    );
  }
  if (after.belowTopUp && !before.belowTopUp && after.topUpThreshold !== null) {
    events.push(
      event("credits/top-up-due", {
        workspaceId,
        balance: after.balance,
        threshold: after.topUpThreshold,
      }),
    );
  }

  return events;
}

/** The first period of a new workspace, anchored on its creation. */
export async function openFirstPeriod(
  tx: Tx,
  clock: Clock,
  workspaceId: string,
  tier: Tier,
): Promise<EventDraft[]> {
  const [workspace] = await tx
    .select({ createdAt: workspaces.createdAt })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId));
  if (!workspace) throw new Error(`Workspace ${workspaceId} not found`);

  return (await openPeriod(tx, clock, workspaceId, workspace.createdAt, 1, tier)).events;
}

/**
 * Closes one period whose end has passed: moves the rolled-over share of its
 * unused allowance into a rollover grant of the next period (two `rollover`
 * entries), expires the rest, and opens the next period with `nextTier`'s
 * allowance. Called by the billing cycle of the same period once it is
 * invoiced (billing/cycles.ts), so credits and invoices turn over together;
 * what waited for the period's end (a downgrade, a cancellation) was applied
 * when the cycle started. The rollover follows the rules of `endedTier`, the
 * tier the period ran on; `nextTier` is null when no period follows (a
 * cancellation). Runs once per period: the period row is locked and closed in
 * the same transaction, and every grant has an idempotency key.
 */
export async function closePeriod(
  tx: Tx,
  clock: Clock,
  period: Period,
  terms: { endedTier: Tier; nextTier: Tier | null },
): Promise<{ next: Period | null; events: EventDraft[] }> {
  const tier = terms.endedTier;
  // Locked before measuring, so no consumption changes the allowance between measuring and moving.
  const before = { ...(await lockBalance(tx, period.workspaceId)) };

  const nextBounds = periodBounds(period.anchorAt, period.sequence + 1);
  const [carried] = await tx
    .select({ live: sql<number>`coalesce(sum(${creditGrants.remaining}), 0)::int` })
    .from(creditGrants)
    .where(
      and(
        eq(creditGrants.workspaceId, period.workspaceId),
        eq(creditGrants.source, "rollover"),
        gt(creditGrants.remaining, 0),
        gt(creditGrants.expiresAt, period.endsAt),
      ),
    );
  // An open period's allowance never expires early (ledger.ts), so what it still holds is what
  // went unused; credits on hold count as used.
  const [held] = await tx
    .select({ remaining: sql<number>`coalesce(sum(${creditGrants.remaining}), 0)::int` })
    .from(creditGrants)
    .where(
      and(
        eq(creditGrants.periodId, period.id),
        eq(creditGrants.source, "tier_allocation"),
        eq(creditGrants.workspaceId, period.workspaceId),
      ),
    );
  const unused = held?.remaining ?? 0;
  const outcome = rolloverOf({
    allowance: period.allowance,
    unused,
    carriedLive: carried?.live ?? 0,
    capCredits: tier.rolloverCapCredits,
    capPercent: tier.rolloverCapPercent,
  });

  const events: EventDraft[] = [];
  const actor = system("period rollover");
  const rolled = outcome.rolled;
  let rolloverGrantId: string | null = null;
  if (rolled > 0) {
    const allowanceGrants = await tx
      .select({ id: creditGrants.id })
      .from(creditGrants)
      .where(and(eq(creditGrants.periodId, period.id), eq(creditGrants.source, "tier_allocation")));
    const moved = await drawCredits(tx, clock, {
      workspaceId: period.workspaceId,
      amount: rolled,
      actor,
      reason: `Carried into period ${period.sequence + 1}`,
      idempotencyKey: `rollover:${period.id}`,
      usageRecordId: null,
      lowBalanceThreshold: tier.lowBalanceThreshold,
      kind: "rollover",
      grantIds: allowanceGrants.map((grant) => grant.id),
    });
    if (!moved.ok) throw new Error(`Rollover of period ${period.id} found less than it measured`);
    const expiryPeriods = Math.max(1, tier.rolloverExpiryPeriods);
    const grant = await grantCredits(tx, clock, {
      workspaceId: period.workspaceId,
      source: "rollover",
      amount: rolled,
      idempotencyKey: `rollover:${period.id}`,
      reason: `Carried over from period ${period.sequence}`,
      actor,
      priority: ALLOWANCE_PRIORITY,
      expiresAt: periodBounds(period.anchorAt, period.sequence + expiryPeriods).endsAt,
      periodId: period.id,
      entryKind: "rollover",
      lowBalanceThreshold: tier.lowBalanceThreshold,
    });
    rolloverGrantId = grant.grantId;
    events.push(...moved.events.filter((draft) => !isThresholdEvent(draft)));
  }
  const expired = await expireGrants(
    tx,
    clock,
    period.workspaceId,
    tier.lowBalanceThreshold,
    period.id,
  );
  events.push(...expired.filter((draft) => !isThresholdEvent(draft)));

  await tx
    .update(creditPeriods)
    .set({ status: "closed", rolledOverCredits: rolled, closedAt: clock.now() })
    .where(eq(creditPeriods.id, period.id));
  const nextTier = terms.nextTier;
  const opened = nextTier
    ? await openPeriod(
        tx,
        clock,
        period.workspaceId,
        period.anchorAt,
        period.sequence + 1,
        nextTier,
      )
    : { period: null, events: [] };
  events.push(
    event("credits/rolled-over", {
      workspaceId: period.workspaceId,
      periodId: period.id,
      grantId: rolloverGrantId,
      credits: rolled,
      forfeitedCredits: unused - rolled,
      periodStart: nextBounds.startsAt.toISOString(),
      periodEnd: nextBounds.endsAt.toISOString(),
    }),
    ...opened.events.filter((draft) => !isThresholdEvent(draft)),
    ...crossingsOfClose(
      period.workspaceId,
      before,
      await lockBalance(tx, period.workspaceId),
      tier.lowBalanceThreshold,
    ),
  );

  return { next: opened.period, events };
}

/** The open period of a workspace, if any. */
export async function openPeriodOf(tx: Tx, workspaceId: string): Promise<Period | undefined> {
  const [period] = await tx
    .select()
    .from(creditPeriods)
    .where(and(eq(creditPeriods.workspaceId, workspaceId), ne(creditPeriods.status, "closed")))
    .orderBy(asc(creditPeriods.sequence))
    .limit(1);

  return period;
}
