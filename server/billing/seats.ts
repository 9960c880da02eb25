import { eq } from "drizzle-orm";

import {
  billingAdjustments,
  seatChanges,
  subscriptions,
  tiers,
  workspaces,
} from "@/drizzle/schema";
import { event } from "@/server/events/catalogue";
import type { ReactionHandler } from "@/server/events/reactions";
import { seatsInUse } from "@/server/workspaces/members";
import { tierPrice } from "@/server/workspaces/tiers";

import { prorate, type ProrationWindow } from "./proration";
import { invoiceDate } from "./invoice-view";

/**
 * Seats on the bill. A tier's price covers `includedSeats` members (the
 * owner counts); each one beyond costs `seatPriceMinor` a period. The cycle
 * bills the extra seats of `subscriptions.seats` in advance with each
 * period's fee; a change within the period is prorated here, by the second,
 * the way a tier change is: seats added are charged for the rest of the
 * period, seats removed are credited for it. The adjustment waits for the
 * next invoice, which takes it up.
 */

/** Seats beyond the ones the tier includes: what is billed. */
export function extraSeats(seats: number, includedSeats: number): number {
  return Math.max(0, seats - includedSeats);
}

/** What a tier costs for one period at a seat count, in one currency. */
export interface PeriodPrice {
  /** The tier's fee plus its extra seats at the seat price. */
  amountMinor: number;
  /** Seats beyond the ones the tier includes. */
  extraSeats: number;
}

/**
 * A tier's price for a whole period at `seats` seats in `currency`: the fee
 * and every seat beyond the included ones, as the cycle bills them. What a
 * tier change prorates, so seats a new tier includes are credited and seats
 * it does not are charged.
 */
export function periodPrice(
  tier: Parameters<typeof tierPrice>[0] & { includedSeats: number },
  currency: string,
  seats: number,
): PeriodPrice {
  const price = tierPrice(tier, currency);
  const extra = extraSeats(seats, tier.includedSeats);

  return { amountMinor: price.monthlyPriceMinor + extra * price.seatPriceMinor, extraSeats: extra };
}

export interface SeatProration {
  /** Extra seats after the change minus before: positive when seats were added. */
  extraDelta: number;
  /** Signed minor units: a charge when seats grow, a credit when they shrink; 0 when neither. */
  amountMinor: number;
}

/**
 * What a change from `before` to `after` seats at `window.at` costs for the
 * rest of the period: (extra after − extra before) × seat price, prorated
 * and rounded half to even as one line (server/billing/proration.ts).
 */
export function prorateSeatChange(
  change: { before: number; after: number; includedSeats: number; seatPriceMinor: number },
  window: ProrationWindow,
): SeatProration {
  const extraDelta =
    extraSeats(change.after, change.includedSeats) -
    extraSeats(change.before, change.includedSeats);
  if (extraDelta === 0 || change.seatPriceMinor === 0) return { extraDelta, amountMinor: 0 };
  const amountMinor = prorate(extraDelta * change.seatPriceMinor, window);

  // A credit that rounds to nothing is plain 0, not -0.
  return { extraDelta, amountMinor: amountMinor === 0 ? 0 : amountMinor };
}

/** Dates in line descriptions read as on the invoice: "5 Feb 2027", in UTC. */
const day = invoiceDate;

function describeSeatChange(extraDelta: number, from: Date, to: Date): string {
  const count = Math.abs(extraDelta);
  const noun = count === 1 ? "extra seat" : "extra seats";
  const verb = extraDelta > 0 ? "added" : "removed";

  return `${count} ${noun} ${verb}, ${day(from)} to ${day(to)}`;
}

/**
 * `at` moved inside [start, end]: a change recorded late, after a new period
 * began, counts from that period's start.
 */
function clampInto(at: Date, start: Date, end: Date): Date {
  return new Date(Math.min(Math.max(at.getTime(), start.getTime()), end.getTime()));
}

/**
 * workspace/collaborator-added or -removed → the seat count recorded in
 * seat_changes and, when the workspace has a subscription, put on it: the
 * change of billed extra seats becomes one seat_proration adjustment for the
 * rest of the current period, and subscriptions.seats the new count, in the
 * same transaction. The source event's id is unique in seat_changes and, with
 * the kind, in billing_adjustments, so a redelivery records nothing twice.
 * The count is read when the reaction runs, so a late run records the current
 * seats; it is prorated from the change's time, or from the period's start if
 * the period turned since.
 */
export const recordSeatCount: ReactionHandler<
  "workspace/collaborator-added" | "workspace/collaborator-removed"
> = async ({ tx, event: change, deps, log }) => {
  const workspaceId = change.data.workspaceId;
  const seats = await seatsInUse(tx, workspaceId);
  await tx
    .insert(seatChanges)
    .values({ workspaceId, seats, occurredAt: change.occurredAt, sourceEventId: change.id })
    .onConflictDoNothing({ target: seatChanges.sourceEventId });
  log.info({ workspaceId, seats }, "seat count recorded");

  const [row] = await tx
    .select({ subscription: subscriptions, tier: tiers })
    .from(subscriptions)
    .innerJoin(workspaces, eq(workspaces.id, subscriptions.workspaceId))
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .where(eq(subscriptions.workspaceId, workspaceId))
    .for("update", { of: subscriptions });
  if (!row) {
    log.info({ workspaceId }, "no subscription yet; seats not billed");
    return;
  }
  const { subscription, tier } = row;
  if (subscription.seats === seats) return;

  const window = {
    periodStart: subscription.currentPeriodStart,
    periodEnd: subscription.currentPeriodEnd,
    at: clampInto(
      change.occurredAt,
      subscription.currentPeriodStart,
      subscription.currentPeriodEnd,
    ),
  };
  const price = tierPrice(tier, subscription.currency);
  const proration = prorateSeatChange(
    {
      before: subscription.seats,
      after: seats,
      includedSeats: tier.includedSeats,
      seatPriceMinor: price.seatPriceMinor,
    },
    window,
  );
  if (proration.amountMinor !== 0) {
    await tx
      .insert(billingAdjustments)
      .values({
        workspaceId,
        currency: subscription.currency,
        amountMinor: proration.amountMinor,
        description: describeSeatChange(proration.extraDelta, window.at, window.periodEnd),
        kind: "seat_proration",
        periodStart: window.periodStart,
        periodEnd: window.periodEnd,
        sourceEventId: change.id,
      })
      .onConflictDoNothing();
    log.info(
      { workspaceId, extraDelta: proration.extraDelta, amountMinor: proration.amountMinor },
      "seat change prorated",
    );
  }
  await tx
    .update(subscriptions)
    .set({ seats, updatedAt: deps.clock.now() })
    .where(eq(subscriptions.id, subscription.id));

  return [
    event("billing/subscription-updated", {
      workspaceId,
      subscriptionId: subscription.id,
      status: subscription.status,
      tierId: tier.id,
    }),
  ];
};
