import { and, eq, sql } from "drizzle-orm";

import {
  auditLog,
  billingAdjustments,
  creditPeriods,
  subscriptions,
  tiers,
  workspaces,
} from "@/drizzle/schema";
import { issueInvoice, openAdjustmentLines } from "@/server/billing/invoices";
import { issueFinalInvoice } from "@/server/billing/cycles";
import { prorate, prorateTierChange } from "@/server/billing/proration";
import { periodPrice, type PeriodPrice } from "@/server/billing/seats";
import { ALLOWANCE_PRIORITY } from "@/server/credits/periods";
import { grantCredits } from "@/server/credits/ledger";
import type { Tx } from "@/server/db/client";
import { formatMoney } from "@/server/money";
import type { CronHandler, ReactionHandler } from "@/server/events/reactions";

import { deleteExpiredWorkspaces, refundOfCancellation } from "./lifecycle";
import { purgeWorkspaceData } from "./purge";
import { invoiceDate } from "@/server/billing/invoice-view";

/**
 * The side effects of a workspace's lifecycle events, one per reaction, each
 * idempotent on its own: grants carry the event id in their key, billing
 * adjustments are unique per (event, kind), and the purge deletes what is
 * still there.
 */

async function tierOf(tx: Tx, tierId: string) {
  const [tier] = await tx.select().from(tiers).where(eq(tiers.id, tierId));
  if (!tier) throw new Error(`Tier ${tierId} not found`);

  return tier;
}

/** Dates in line descriptions read as on the invoice: "5 Feb 2027", in UTC. */
const day = invoiceDate;

/**
 * workspace/tier-changed (an upgrade within a period) → the prorated
 * difference of the monthly allowances, granted now as tier allowance that
 * expires with the period. It joins the period's allowance, so the period's
 * rollover counts it. A downgrade takes nothing back.
 */
export const grantUpgradeCredits: ReactionHandler<"workspace/tier-changed"> = async ({
  tx,
  event,
  deps,
}) => {
  const data = event.data;
  if (!data.prorated || data.direction !== "upgrade") return;
  const [from, to] = [await tierOf(tx, data.fromTierId), await tierOf(tx, data.toTierId)];
  const window = {
    periodStart: new Date(data.periodStart),
    periodEnd: new Date(data.periodEnd),
    at: new Date(data.effectiveAt),
  };
  const credits = prorate(Math.max(0, to.monthlyCredits - from.monthlyCredits), window);
  if (credits <= 0) return;

  const [period] = await tx
    .select()
    .from(creditPeriods)
    .where(
      and(
        eq(creditPeriods.workspaceId, data.workspaceId),
        eq(creditPeriods.startsAt, window.periodStart),
        eq(creditPeriods.status, "open"),
      ),
    );
  const grant = await grantCredits(tx, deps.clock, {
    workspaceId: data.workspaceId,
    source: "tier_allocation",
    amount: credits,
    idempotencyKey: `tier-upgrade:${event.id}`,
    reason: `Upgrade from ${from.name} to ${to.name}: the rest of this period's allowance`,
    actor: { type: "system", reason: "tier upgrade" },
    priority: ALLOWANCE_PRIORITY,
    expiresAt: window.periodEnd,
    periodId: period?.id ?? null,
    lowBalanceThreshold: to.lowBalanceThreshold,
  });
  if (grant.created && period) {
    await tx
      .update(creditPeriods)
      .set({ allowance: sql`${creditPeriods.allowance} + ${credits}` })
      .where(eq(creditPeriods.id, period.id));
  }

  return grant.events;
};

/** "Growth" or "Growth with 4 extra seats": what a prorated line is the price of. */
function pricedAs(tierName: string, price: PeriodPrice): string {
  if (price.extraSeats === 0) return tierName;

  return `${tierName} with ${price.extraSeats} extra seat${price.extraSeats === 1 ? "" : "s"}`;
}

/**
 * workspace/tier-changed (within a period) → two billing adjustments: the
 * unused time on the old tier credited, the rest of the period on the new
 * one charged, each of the tier's price for the period including its extra
 * seats at the subscription's seat count (billing/seats.ts periodPrice), in
 * the subscription's currency. An upgrade's net is invoiced at once: a
 * `proration` invoice (one per event, by its source key) takes up the two
 * lines. An immediate downgrade's net credit stays as the customer's credit
 * balance until the next invoice takes it up.
 */
export const recordTierChangeProration: ReactionHandler<"workspace/tier-changed"> = async ({
  tx,
  event,
  deps,
}) => {
  const data = event.data;
  if (!data.prorated) return;
  const [from, to] = [await tierOf(tx, data.fromTierId), await tierOf(tx, data.toTierId)];
  const [subscription] = await tx
    .select({ currency: subscriptions.currency, seats: subscriptions.seats })
    .from(subscriptions)
    .where(eq(subscriptions.workspaceId, data.workspaceId));
  // Without a subscription no seats are billed (billing/seats.ts recordSeatCount).
  const currency = subscription?.currency ?? to.currency;
  const seats = subscription?.seats ?? 0;
  const [fromPrice, toPrice] = [
    periodPrice(from, currency, seats),
    periodPrice(to, currency, seats),
  ];
  const periodStart = new Date(data.periodStart);
  const periodEnd = new Date(data.periodEnd);
  const at = new Date(data.effectiveAt);
  const lines = prorateTierChange(fromPrice.amountMinor, toPrice.amountMinor, {
    periodStart,
    periodEnd,
    at,
  });
  const span = `${day(at)} to ${day(periodEnd)}`;
  const rows = [
    {
      kind: "proration_credit" as const,
      amountMinor: lines.creditMinor,
      description: `Unused time on ${pricedAs(from.name, fromPrice)}, ${span}`,
    },
    {
      kind: "proration_charge" as const,
      amountMinor: lines.chargeMinor,
      description: `Remaining time on ${pricedAs(to.name, toPrice)}, ${span}`,
    },
  ].filter((line) => line.amountMinor !== 0);
  if (rows.length === 0) return;

  await tx
    .insert(billingAdjustments)
    .values(
      rows.map((line) => ({
        ...line,
        workspaceId: data.workspaceId,
        currency,
        periodStart,
        periodEnd,
        sourceEventId: event.id,
      })),
    )
    .onConflictDoNothing();
  if (data.direction !== "upgrade") return;

  const recorded = await openAdjustmentLines(tx, data.workspaceId, currency, {
    sourceEventId: event.id,
  });
  if (recorded.length === 0) return;
  const issued = await issueInvoice(tx, deps.clock, deps.billing, {
    workspaceId: data.workspaceId,
    kind: "proration",
    currency,
    lines: recorded,
    sourceKey: `tier-change:${event.id}`,
    periodStart,
    periodEnd,
  });

  return issued.events;
};

/**
 * workspace/cancelled (now) → the unused part of the fee and extra seats as a negative
 * billing adjustment, then the workspace's final invoice
 * (billing/cycles.ts issueFinalInvoice): the partial period's overage and
 * every adjustment waiting, this refund included. What the refund leaves
 * over is carried forward as a credit: what the workspace is owed back,
 * which server/payments/refunds.ts (refundCancelledCredit) pays back at the
 * gateway once the final invoice is issued.
 */
export const recordCancellationRefund: ReactionHandler<"workspace/cancelled"> = async ({
  tx,
  event,
  deps,
  log,
}) => {
  const data = event.data;
  if (!data.immediate) return;
  const [row] = await tx
    .select({ tier: tiers })
    .from(workspaces)
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .where(eq(workspaces.id, data.workspaceId));
  if (!row) throw new Error(`Workspace ${data.workspaceId} not found`);
  const { tier } = row;
  const [subscription] = await tx
    .select({ currency: subscriptions.currency, seats: subscriptions.seats })
    .from(subscriptions)
    .where(eq(subscriptions.workspaceId, data.workspaceId));
  const currency = subscription?.currency ?? tier.currency;
  // What the period was billed at: the fee and the extra seats.
  const price = periodPrice(tier, currency, subscription?.seats ?? 0);
  const period = { startsAt: new Date(data.periodStart), endsAt: new Date(data.periodEnd) };
  const at = new Date(data.effectiveAt);
  const refund = refundOfCancellation(price.amountMinor, period, at);
  if (refund !== 0) {
    const withSeats =
      price.extraSeats > 0
        ? ` with ${price.extraSeats} extra seat${price.extraSeats === 1 ? "" : "s"}`
        : "";
    await tx
      .insert(billingAdjustments)
      .values({
        workspaceId: data.workspaceId,
        currency,
        amountMinor: refund,
        kind: "cancellation_refund",
        description:
          `Refund of the unused ${tier.name} fee${withSeats}, ${day(at)} to ${day(period.endsAt)} ` +
          `(${formatMoney(-refund, currency)})`,
        periodStart: period.startsAt,
        periodEnd: period.endsAt,
        sourceEventId: event.id,
      })
      .onConflictDoNothing();
    log.info(
      { workspaceId: data.workspaceId, refundMinor: refund },
      "cancellation refund recorded",
    );
  }

  return issueFinalInvoice(tx, deps.clock, deps.billing, {
    workspaceId: data.workspaceId,
    tier,
    periodStart: period.startsAt,
    at,
    sourceEventId: event.id,
  });
};

/** workspace/deleted → purge its data; the purge's own audit entry says what went. */
export const purgeDeletedWorkspace: ReactionHandler<"workspace/deleted"> = async ({
  tx,
  event,
  deps,
  log,
}) => {
  const removed = await purgeWorkspaceData(tx, event.data.workspaceId);
  await tx.insert(auditLog).values({
    workspaceId: event.data.workspaceId,
    actorType: "system",
    actorId: "workspace purge",
    command: "workspaces.purge",
    summary: { slug: event.data.slug, eventId: event.id, removed },
    requestId: null,
    occurredAt: deps.clock.now(),
  });
  log.info({ workspaceId: event.data.workspaceId, removed }, "workspace data purged");
};

/** Every hour: deletes cancelled workspaces past their purge date (then purged as above). */
export const deleteExpiredCancelledWorkspaces: CronHandler = async ({ tx, deps, log }) => {
  const events = await deleteExpiredWorkspaces(tx, deps.clock.now());
  if (events.length > 0) log.info({ workspaces: events.length }, "deleted expired workspaces");

  return events;
};
