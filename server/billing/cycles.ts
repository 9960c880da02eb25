import { and, asc, eq, inArray, lte, ne, notExists, sql } from "drizzle-orm";

import {
  billingCycles,
  creditPeriods,
  invoices,
  overageRecords,
  subscriptions,
  tiers,
  workspaces,
} from "@/drizzle/schema";
import type { Clock } from "@/server/clock";
import { AppError } from "@/server/errors";
import { closePeriod } from "@/server/credits/periods";
import { takeBalanceLock } from "@/server/credits/ledger";
import type { DbOrTx, Tx } from "@/server/db/client";
import { event, type EventDraft } from "@/server/events/catalogue";
import type { CronHandler, ReactionHandler } from "@/server/events/reactions";
import { applyPeriodEnd } from "@/server/workspaces/lifecycle";
import { tierPrice } from "@/server/workspaces/tiers";

import { taxRateFor, type BillingConfig } from "./config";
import {
  lineAmount,
  overageAmount,
  ROUNDING,
  totalsOf,
  type DraftLine,
  type InvoiceTotals,
} from "./invoice-math";
import { issueInvoice, openAdjustmentLines } from "./invoices";
import { periodAt, periodBounds } from "./periods";
import { invoiceDate } from "./invoice-view";

/**
 * Billing cycles: the chain of steps that bills each ended period, one
 * reaction per step (inngest/bus.ts), each idempotent by the cycle's status
 * under a row lock:
 *
 *   sweep (cron)      started           period end applied, subscription advanced
 *   cycle-started     usage_collected   overage of the ended period, seats
 *   usage-collected   invoiced          the cycle's invoice (none when it has no lines)
 *   payment-requested payment_requested handed to collection (or nothing to collect)
 *   cycle-completed   completed         credit period closed: rollover, next allowance
 *
 * The cycle row is unique per subscription and period, so a period is billed
 * once however often the sweep runs. A cycle left between steps (a crash, a
 * lost event) has its current step's event sent again by the sweep after
 * STALLED_AFTER_MS, and the step finds from the status whether it still has
 * work to do.
 */

type Tier = typeof tiers.$inferSelect;
type Cycle = typeof billingCycles.$inferSelect;

/** A cycle not moved on for this long is picked up again by the sweep. */
export const STALLED_AFTER_MS = 10 * 60_000;
const SWEEP_BATCH = 50;
/** Dates in line descriptions read as on the invoice: "5 Feb 2027", in UTC. */
const day = invoiceDate;

async function tierById(db: DbOrTx, tierId: string): Promise<Tier> {
  const [tier] = await db.select().from(tiers).where(eq(tiers.id, tierId));
  if (!tier) throw new Error(`Tier ${tierId} not found`);

  return tier;
}

async function lockCycle(tx: Tx, cycleId: string): Promise<Cycle | undefined> {
  const [cycle] = await tx
    .select()
    .from(billingCycles)
    .where(eq(billingCycles.id, cycleId))
    .for("update");

  return cycle;
}

async function moveCycle(
  tx: Tx,
  clock: Clock,
  cycleId: string,
  set: Partial<typeof billingCycles.$inferInsert>,
) {
  await tx
    .update(billingCycles)
    .set({ ...set, updatedAt: clock.now() })
    .where(eq(billingCycles.id, cycleId));
}

const cycleRef = (cycle: Cycle) => ({
  workspaceId: cycle.workspaceId,
  subscriptionId: cycle.subscriptionId,
  cycleId: cycle.id,
});

function cycleCompleted(cycle: Cycle): EventDraft {
  return event("billing/cycle-completed", {
    ...cycleRef(cycle),
    periodStart: cycle.periodStart.toISOString(),
    periodEnd: cycle.periodEnd.toISOString(),
  });
}

// ---------------------------------------------------------------------------
// The lines of a cycle's invoice, shared with the upcoming-invoice preview.

export interface CycleLineInput {
  workspaceId: string;
  currency: string;
  /** The period that ended (or is ending), billed in arrears: its overage at its tier's price. */
  ended: { startsAt: Date; endsAt: Date; tier: Tier; overageCredits: number };
  /** The period that follows, billed in advance; null when none follows (a cancellation). */
  next: { startsAt: Date; endsAt: Date; tier: Tier; seats: number } | null;
}

/**
 * Promotions' seam: the discount lines of a cycle's invoice, negative amounts.
 *
 * TODO: promotions (coupons, trial credits, loyalty rewards) do not exist yet;
 * when they do, their redemptions still running give their discount lines here.
 */
async function discountLines(_db: DbOrTx, _input: CycleLineInput): Promise<DraftLine[]> {
  return [];
}

/**
 * The lines of a period billed in advance, in order: the tier's fee (none for
 * a free tier) and the seats beyond the included ones. The cycle's invoice
 * bills the next period with them; the first period's invoice
 * (first-invoice.ts) bills period 1.
 */
export function advanceLines(
  period: NonNullable<CycleLineInput["next"]>,
  currency: string,
): DraftLine[] {
  const lines: DraftLine[] = [];
  const price = tierPrice(period.tier, currency);
  const span = `${day(period.startsAt)} to ${day(period.endsAt)}`;
  if (price.monthlyPriceMinor > 0) {
    lines.push({
      kind: "tier_fee",
      description: `${period.tier.name} plan, ${span}`,
      quantity: 1,
      unitAmountMinor: price.monthlyPriceMinor,
      amountMinor: price.monthlyPriceMinor,
      rounding: ROUNDING.exact,
      periodStart: period.startsAt,
      periodEnd: period.endsAt,
    });
  }
  const extraSeats = Math.max(0, period.seats - period.tier.includedSeats);
  if (extraSeats > 0 && price.seatPriceMinor > 0) {
    lines.push({
      kind: "seats",
      description:
        `${extraSeats} extra seat${extraSeats === 1 ? "" : "s"} beyond the ` +
        `${period.tier.includedSeats} included, ${span}`,
      quantity: extraSeats,
      unitAmountMinor: price.seatPriceMinor,
      amountMinor: lineAmount(extraSeats, price.seatPriceMinor),
      rounding: ROUNDING.exact,
      periodStart: period.startsAt,
      periodEnd: period.endsAt,
    });
  }

  return lines;
}

/**
 * The lines of the invoice that ends a period, in order: the next period's
 * fee and extra seats (in advance), the ended period's overage (in arrears),
 * the billing adjustments waiting for an invoice, then discounts. Each line
 * is rounded on its own and says how. One builder for the cycle's invoice and
 * for the upcoming-invoice preview, so the preview is what will be billed.
 */
export async function cycleLines(db: DbOrTx, input: CycleLineInput): Promise<DraftLine[]> {
  const lines: DraftLine[] = [];
  const { next, ended } = input;
  if (next) lines.push(...advanceLines(next, input.currency));
  if (ended.overageCredits > 0) {
    const price = tierPrice(ended.tier, input.currency);
    const amountMinor = overageAmount(
      ended.overageCredits,
      ended.tier.overageUnitCredits,
      price.overageUnitPriceMinor,
    );
    if (amountMinor > 0) {
      lines.push({
        kind: "overage",
        description:
          `Overage: ${ended.overageCredits.toLocaleString("en-US")} credits at ` +
          `${price.overageUnitPriceMinor} minor units per ` +
          `${ended.tier.overageUnitCredits.toLocaleString("en-US")} credits, ` +
          `${day(ended.startsAt)} to ${day(ended.endsAt)}`,
        quantity: ended.overageCredits,
        unitAmountMinor: null,
        amountMinor,
        rounding: ROUNDING.halfEven,
        periodStart: ended.startsAt,
        periodEnd: ended.endsAt,
      });
    }
  }
  lines.push(...(await openAdjustmentLines(db, input.workspaceId, input.currency)));
  lines.push(...(await discountLines(db, input)));

  return lines;
}

/** Overage credits recorded in the period that starts at `periodStart`. */
async function overageOf(db: DbOrTx, workspaceId: string, periodStart: Date): Promise<number> {
  const [row] = await db
    .select({ credits: sql<number>`coalesce(sum(${overageRecords.credits}), 0)::int` })
    .from(overageRecords)
    .where(
      and(eq(overageRecords.workspaceId, workspaceId), eq(overageRecords.periodStart, periodStart)),
    );

  return row?.credits ?? 0;
}

/**
 * The last invoice of a workspace cancelled now: the overage of the period
 * it leaves part-way (at its tier's price) and every adjustment waiting,
 * the cancellation's refund of the unused fee included. No fee follows. A
 * refund larger than what is owed leaves a credit carried forward, which is
 * what the workspace is owed back. Idempotent per cancellation event; no
 * lines, no invoice.
 */
export async function issueFinalInvoice(
  tx: Tx,
  clock: Clock,
  config: BillingConfig,
  input: { workspaceId: string; tier: Tier; periodStart: Date; at: Date; sourceEventId: string },
): Promise<EventDraft[]> {
  const [subscription] = await tx
    .select({ currency: subscriptions.currency })
    .from(subscriptions)
    .where(eq(subscriptions.workspaceId, input.workspaceId));
  const currency = subscription?.currency ?? input.tier.currency;
  const lines = await cycleLines(tx, {
    workspaceId: input.workspaceId,
    currency,
    ended: {
      startsAt: input.periodStart,
      endsAt: input.at,
      tier: input.tier,
      overageCredits: await overageOf(tx, input.workspaceId, input.periodStart),
    },
    next: null,
  });
  if (lines.length === 0) return [];
  const issued = await issueInvoice(tx, clock, config, {
    workspaceId: input.workspaceId,
    kind: "subscription",
    currency,
    lines,
    sourceKey: `final:${input.sourceEventId}`,
    periodStart: input.periodStart,
    periodEnd: input.at,
  });

  return issued.events;
}

// ---------------------------------------------------------------------------
// Step 1, the sweep: start the cycles of ended periods.

/**
 * Starts the cycle of the subscription's current period if that period has
 * ended: writes the cycle (unique per subscription and period), applies what
 * waited for the period's end (a cancellation or a scheduled downgrade,
 * workspaces/lifecycle.ts applyPeriodEnd), and moves the subscription to its
 * next period (unless cancelled). Does nothing when the period has not ended,
 * the workspace is not active, an earlier cycle is unfinished, or another
 * transaction holds the subscription.
 *
 * TODO: a workspace suspended across a period's end is skipped while
 * suspended and billed for that period (its fee in advance included) once
 * reactivated; dunning should decide whether a suspension pauses the fee.
 * A workspace cancelled now gets no cycle: its final invoice
 * (issueFinalInvoice) bills the partial period instead.
 */
export async function startCycle(
  tx: Tx,
  clock: Clock,
  subscriptionId: string,
): Promise<EventDraft[]> {
  const now = clock.now();
  const [target] = await tx
    .select({ workspaceId: subscriptions.workspaceId })
    .from(subscriptions)
    .where(eq(subscriptions.id, subscriptionId));
  if (!target) return [];
  // The balance first, as workspace status changes and consumption take it first.
  await takeBalanceLock(tx, target.workspaceId);
  const [subscription] = await tx
    .select()
    .from(subscriptions)
    .where(eq(subscriptions.id, subscriptionId))
    .for("update", { skipLocked: true });
  if (!subscription || subscription.currentPeriodEnd > now) return [];
  if (subscription.status === "cancelled" || subscription.status === "suspended") return [];
  const [row] = await tx
    .select({ status: workspaces.status, tier: tiers })
    .from(workspaces)
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .where(eq(workspaces.id, subscription.workspaceId));
  if (!row || row.status !== "active") return [];
  const [unfinished] = await tx
    .select({ id: billingCycles.id })
    .from(billingCycles)
    .where(
      and(eq(billingCycles.subscriptionId, subscription.id), ne(billingCycles.status, "completed")),
    )
    .limit(1);
  if (unfinished) return [];

  const [cycle] = await tx
    .insert(billingCycles)
    .values({
      subscriptionId: subscription.id,
      workspaceId: subscription.workspaceId,
      sequence: subscription.periodSequence,
      periodStart: subscription.currentPeriodStart,
      periodEnd: subscription.currentPeriodEnd,
      tierId: row.tier.id,
      // The seats the period ended with bill the next one; a later change is prorated in it.
      seats: subscription.seats,
      startedAt: now,
      updatedAt: now,
    })
    .onConflictDoNothing()
    .returning();
  if (!cycle) return [];

  const periodEnd = await applyPeriodEnd(
    tx,
    subscription.workspaceId,
    subscription.currentPeriodEnd,
    row.tier,
  );
  await tx
    .update(billingCycles)
    .set({ nextTierId: periodEnd.tier?.id ?? null })
    .where(eq(billingCycles.id, cycle.id));
  if (periodEnd.tier) {
    const next = periodBounds(subscription.anchorAt, subscription.periodSequence + 1);
    await tx
      .update(subscriptions)
      .set({
        periodSequence: subscription.periodSequence + 1,
        currentPeriodStart: next.startsAt,
        currentPeriodEnd: next.endsAt,
        updatedAt: now,
      })
      .where(eq(subscriptions.id, subscription.id));
  }

  return [
    ...periodEnd.events,
    event("billing/cycle-started", {
      ...cycleRef(cycle),
      periodStart: cycle.periodStart.toISOString(),
      periodEnd: cycle.periodEnd.toISOString(),
    }),
  ];
}

/**
 * Brings a workspace's subscription to the period that holds now, before a
 * change is prorated in it: when its period has ended and the sweep has not
 * started that period's cycle yet, starts it here, so the cycle records the
 * tier and seats the period ended with. Without it, a change made between a
 * period's end and the sweep would be prorated over a period not yet billed,
 * and billed again by the cycle. Refuses (`conflict`) while an earlier cycle
 * of the workspace is still running. Returns the started cycle's events.
 */
export async function catchUpBilling(
  tx: Tx,
  clock: Clock,
  workspaceId: string,
): Promise<EventDraft[]> {
  const due = async () => {
    const [subscription] = await tx
      .select()
      .from(subscriptions)
      .where(eq(subscriptions.workspaceId, workspaceId));
    const open = subscription?.status !== "cancelled" && subscription?.status !== "suspended";

    return subscription && open && subscription.currentPeriodEnd <= clock.now()
      ? subscription
      : null;
  };
  const ended = await due();
  if (!ended) return [];
  const events = await startCycle(tx, clock, ended.id);
  if (await due()) {
    throw new AppError(
      "conflict",
      "This workspace's billing period is renewing right now; try again in a minute",
    );
  }

  return events;
}

/** The event that runs a cycle's next step, for a cycle left waiting. */
async function eventOfStep(tx: Tx, cycle: Cycle): Promise<EventDraft | null> {
  switch (cycle.status) {
    case "started":
      return event("billing/cycle-started", {
        ...cycleRef(cycle),
        periodStart: cycle.periodStart.toISOString(),
        periodEnd: cycle.periodEnd.toISOString(),
      });
    case "usage_collected":
      return event("billing/usage-collected", {
        ...cycleRef(cycle),
        overageCredits: cycle.overageCredits ?? 0,
      });
    case "invoiced": {
      const [invoice] = cycle.invoiceId
        ? await tx.select().from(invoices).where(eq(invoices.id, cycle.invoiceId))
        : [];
      if (!invoice) return null;

      return event("billing/payment-requested", {
        workspaceId: cycle.workspaceId,
        invoiceId: invoice.id,
        cycleId: cycle.id,
        amountMinor: invoice.amountDueMinor,
        currency: invoice.currency,
      });
    }
    case "payment_requested":
      return cycleCompleted(cycle);
    case "completed":
      return null;
  }
}

/** Sends again the current step's event of every cycle that has not moved for a while. */
async function resumeStalledCycles(tx: Tx, clock: Clock): Promise<EventDraft[]> {
  const now = clock.now();
  const stalled = await tx
    .select()
    .from(billingCycles)
    .where(
      and(
        ne(billingCycles.status, "completed"),
        lte(billingCycles.updatedAt, new Date(now.getTime() - STALLED_AFTER_MS)),
      ),
    )
    .orderBy(asc(billingCycles.updatedAt))
    .limit(SWEEP_BATCH)
    .for("update", { skipLocked: true });

  const events: EventDraft[] = [];
  for (const cycle of stalled) {
    const next = await eventOfStep(tx, cycle);
    if (!next) continue;
    events.push(next);
    // Touched, so the same cycle is sent again only after another wait.
    await moveCycle(tx, clock, cycle.id, {});
  }

  return events;
}

/**
 * The sweep: starts the cycle of every active subscription whose period has
 * ended (one at a time per subscription: the next starts when the previous
 * completes), and resumes stalled cycles. The time-travel work calls it right
 * after moving the clock, as the cron would a minute later.
 */
export async function startDueCycles(tx: Tx, clock: Clock): Promise<EventDraft[]> {
  const now = clock.now();
  const due = await tx
    .select({ id: subscriptions.id })
    .from(subscriptions)
    .innerJoin(workspaces, eq(workspaces.id, subscriptions.workspaceId))
    .where(
      and(
        lte(subscriptions.currentPeriodEnd, now),
        inArray(subscriptions.status, ["active", "trialing", "past_due"]),
        eq(workspaces.status, "active"),
        notExists(
          tx
            .select({ id: billingCycles.id })
            .from(billingCycles)
            .where(
              and(
                eq(billingCycles.subscriptionId, subscriptions.id),
                ne(billingCycles.status, "completed"),
              ),
            ),
        ),
      ),
    )
    // Balance locks in workspace order, as transfers take them, so sweeps never deadlock.
    .orderBy(asc(subscriptions.workspaceId))
    .limit(SWEEP_BATCH);

  const events: EventDraft[] = [];
  for (const { id } of due) events.push(...(await startCycle(tx, clock, id)));
  events.push(...(await resumeStalledCycles(tx, clock)));

  return events;
}

/** Every minute: billing-start-cycles. */
export const sweepBillingCycles: CronHandler = async ({ tx, deps, log }) => {
  const events = await startDueCycles(tx, deps.clock);
  if (events.length > 0) log.info({ events: events.length }, "billing cycles started or resumed");

  return events;
};

// ---------------------------------------------------------------------------
// Steps 2–5, one reaction each.

/** billing/cycle-started → the ended period's overage and the seats to bill, onto the cycle. */
export const collectCycleUsage: ReactionHandler<"billing/cycle-started"> = async ({
  tx,
  event: started,
  deps,
}) => {
  const cycle = await lockCycle(tx, started.data.cycleId);
  if (!cycle || cycle.status !== "started") return;
  const overageCredits = await overageOf(tx, cycle.workspaceId, cycle.periodStart);
  const [subscription] = await tx
    .select({ seats: subscriptions.seats })
    .from(subscriptions)
    .where(eq(subscriptions.id, cycle.subscriptionId));
  // Taken when the cycle started; seats changed since are prorated in the new period.
  const seats = cycle.seats ?? subscription?.seats ?? 1;
  await moveCycle(tx, deps.clock, cycle.id, { status: "usage_collected", overageCredits, seats });

  return [event("billing/usage-collected", { ...cycleRef(cycle), overageCredits })];
};

/**
 * billing/usage-collected → the cycle's invoice (issueInvoice: numbered,
 * open, or paid when nothing is due). A cycle with no lines has no invoice.
 * An open invoice waits for billing/payment-requested; otherwise the cycle
 * goes straight on to completion.
 */
export const invoiceCycle: ReactionHandler<"billing/usage-collected"> = async ({
  tx,
  event: collected,
  deps,
  log,
}) => {
  const cycle = await lockCycle(tx, collected.data.cycleId);
  if (!cycle || cycle.status !== "usage_collected") return;
  const [subscription] = await tx
    .select()
    .from(subscriptions)
    .where(eq(subscriptions.id, cycle.subscriptionId));
  if (!subscription) throw new Error(`Subscription ${cycle.subscriptionId} not found`);
  const next = periodBounds(subscription.anchorAt, cycle.sequence + 1);
  const lines = await cycleLines(tx, {
    workspaceId: cycle.workspaceId,
    currency: subscription.currency,
    ended: {
      startsAt: cycle.periodStart,
      endsAt: cycle.periodEnd,
      tier: await tierById(tx, cycle.tierId),
      overageCredits: cycle.overageCredits ?? 0,
    },
    next: cycle.nextTierId
      ? {
          startsAt: next.startsAt,
          endsAt: next.endsAt,
          tier: await tierById(tx, cycle.nextTierId),
          seats: cycle.seats ?? subscription.seats,
        }
      : null,
  });
  if (lines.length === 0) {
    await moveCycle(tx, deps.clock, cycle.id, { status: "payment_requested" });
    log.info({ cycleId: cycle.id }, "cycle had nothing to bill");

    return [cycleCompleted(cycle)];
  }

  const issued = await issueInvoice(tx, deps.clock, deps.billing, {
    workspaceId: cycle.workspaceId,
    kind: "subscription",
    currency: subscription.currency,
    lines,
    cycleId: cycle.id,
    periodStart: cycle.periodStart,
    periodEnd: cycle.periodEnd,
  });
  const events = [...issued.events];
  const overage = lines.find((line) => line.kind === "overage");
  if (overage && issued.created) {
    events.push(
      event("billing/overage-charged", {
        workspaceId: cycle.workspaceId,
        invoiceId: issued.invoice.id,
        credits: cycle.overageCredits ?? 0,
        amountMinor: overage.amountMinor,
        currency: subscription.currency,
      }),
    );
  }
  if (issued.invoice.status === "open") {
    await moveCycle(tx, deps.clock, cycle.id, { status: "invoiced", invoiceId: issued.invoice.id });
  } else {
    await moveCycle(tx, deps.clock, cycle.id, {
      status: "payment_requested",
      invoiceId: issued.invoice.id,
    });
    events.push(cycleCompleted(cycle));
  }
  log.info(
    { cycleId: cycle.id, invoiceId: issued.invoice.id, number: issued.invoice.number },
    "cycle invoiced",
  );

  return events;
};

/**
 * billing/payment-requested (of a cycle's invoice) → the cycle's billing is
 * done. Access continues while the invoice is unpaid. Collecting it is
 * billing-collect-invoice's (collection.ts), on the same event.
 */
export const markCyclePaymentRequested: ReactionHandler<"billing/payment-requested"> = async ({
  tx,
  event: requested,
  deps,
}) => {
  if (!requested.data.cycleId) return;
  const cycle = await lockCycle(tx, requested.data.cycleId);
  if (!cycle || cycle.status !== "invoiced") return;
  await moveCycle(tx, deps.clock, cycle.id, { status: "payment_requested" });

  return [cycleCompleted(cycle)];
};

/**
 * billing/cycle-completed → the ended period's credits turn over: rollover
 * by the ended tier's rules and the next allowance by the workspace's tier
 * now (none after a cancellation). Then, if the subscription's new period
 * has itself already ended (a server that was down, a jump of the clock),
 * its cycle starts at once.
 */
export const closeCycleCredits: ReactionHandler<"billing/cycle-completed"> = async ({
  tx,
  event: completed,
  deps,
}) => {
  const cycle = await lockCycle(tx, completed.data.cycleId);
  if (!cycle || cycle.status !== "payment_requested") return;

  const events: EventDraft[] = [];
  const [period] = await tx
    .select()
    .from(creditPeriods)
    .where(
      and(
        eq(creditPeriods.workspaceId, cycle.workspaceId),
        eq(creditPeriods.startsAt, cycle.periodStart),
      ),
    )
    .for("update");
  if (period && period.status === "open") {
    // The next period opens on the tier it started with: a change made since is prorated in it
    // (an upgrade's grant), so opening on the current tier would count it twice.
    const closed = await closePeriod(tx, deps.clock, period, {
      endedTier: await tierById(tx, cycle.tierId),
      nextTier: cycle.nextTierId ? await tierById(tx, cycle.nextTierId) : null,
    });
    events.push(...closed.events);
  }
  const now = deps.clock.now();
  await moveCycle(tx, deps.clock, cycle.id, { status: "completed", completedAt: now });
  events.push(...(await startCycle(tx, deps.clock, cycle.subscriptionId)));

  return events;
};

// ---------------------------------------------------------------------------
// The preview.

/** What the invoice at the current period's end would hold if the period ended now. */
export interface UpcomingInvoice {
  currency: string;
  /** When it will be issued: the end of the current period. */
  issuesAt: Date;
  /** The current period, billed in arrears (overage) and the next one in advance (fee, seats). */
  periodStart: Date;
  periodEnd: Date;
  lines: DraftLine[];
  totals: InvoiceTotals;
}

/**
 * The invoice the current period's cycle would issue if the period ended
 * now: the overage so far, the seats now, the next period on the scheduled
 * tier if a downgrade waits (no fee or seats if a cancellation does), and
 * the adjustments waiting. Null for a workspace with no subscription or one
 * that is cancelled, and when there would be no invoice (no lines).
 */
export async function upcomingInvoice(
  db: DbOrTx,
  workspaceId: string,
  now: Date,
  config: BillingConfig,
): Promise<UpcomingInvoice | null> {
  const [row] = await db
    .select({ subscription: subscriptions, workspace: workspaces, tier: tiers })
    .from(subscriptions)
    .innerJoin(workspaces, eq(workspaces.id, subscriptions.workspaceId))
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .where(eq(subscriptions.workspaceId, workspaceId));
  if (!row || row.subscription.status === "cancelled" || row.workspace.status !== "active") {
    return null;
  }
  const { subscription, workspace, tier } = row;
  // The period now holds, which is the subscription's unless its cycle is yet to start.
  const period = periodAt(subscription.anchorAt, now);
  const next = periodAt(subscription.anchorAt, period.endsAt);
  const cancelling = workspace.cancelAt !== null && workspace.cancelAt <= period.endsAt;
  const scheduled =
    workspace.scheduledTierId &&
    workspace.scheduledTierAt &&
    workspace.scheduledTierAt <= period.endsAt
      ? await tierById(db, workspace.scheduledTierId)
      : null;

  const lines = await cycleLines(db, {
    workspaceId,
    currency: subscription.currency,
    ended: {
      startsAt: period.startsAt,
      endsAt: period.endsAt,
      tier,
      overageCredits: await overageOf(db, workspaceId, period.startsAt),
    },
    next: cancelling
      ? null
      : {
          startsAt: next.startsAt,
          endsAt: next.endsAt,
          tier: scheduled ?? tier,
          seats: subscription.seats,
        },
  });
  // Like the cycle: no lines, no invoice.
  if (lines.length === 0) return null;

  return {
    currency: subscription.currency,
    issuesAt: period.endsAt,
    periodStart: period.startsAt,
    periodEnd: period.endsAt,
    lines,
    totals: totalsOf(lines, taxRateFor(config, subscription.currency)),
  };
}
