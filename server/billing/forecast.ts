import { and, eq, gte, lt, sql } from "drizzle-orm";

import { overageRecords, subscriptions, tiers, usageRecords, workspaces } from "@/drizzle/schema";
import { forecastDepletion } from "@/server/credits/forecast";
import { balanceSummary } from "@/server/credits/queries";
import type { Db } from "@/server/db/client";
import { tierPrice } from "@/server/workspaces/tiers";

import { overageAmount, ROUNDING } from "./invoice-math";
import { divideHalfEven } from "./proration";

/**
 * The overage forecast: how much overage the current billing period will
 * end with if credits keep being consumed at the period's rate so far, and
 * what it will cost on the invoice. Integers and BigInt only.
 *
 *   rate                = consumed so far / seconds elapsed in the period
 *   projected draw      = rate × seconds left
 *   projected overage   = overage so far + max(0, projected draw − balance),
 *                         at most the tier's cap when its policy caps overage
 *   projected amount    = overageAmount(projected overage) at the tier's price
 *
 * Credits are projected half to even to a whole credit; the amount is
 * priced like the invoice's overage line (half-even to the minor unit).
 * Under a hard stop, consumption past the balance is refused rather than
 * billed, so the projected overage stays what it is; the credits that would
 * be refused show as the shortfall. Under auto top-up nothing caps it.
 */

/** Less of the period than this says too little about its rate: no projection. */
export const MIN_ELAPSED_SECONDS = 3_600;

export type OveragePolicy = "hard_stop" | "soft_cap" | "auto_top_up";

export interface OverageProjectionInput {
  periodStart: Date;
  periodEnd: Date;
  now: Date;
  /** Credits consumed since the period started, overage included. */
  consumedCredits: number;
  /** Overage credits already recorded in the period. */
  overageCredits: number;
  /** Credits left to draw from now. */
  balance: number;
  policy: OveragePolicy;
  /** soft_cap: the most overage credits the period may have. */
  capCredits: number;
  unitCredits: number;
  unitPriceMinor: number;
}

export interface OverageProjection {
  /** Whole credits per day at the period's rate, rounded up. */
  creditsPerDay: number;
  /** Consumption over the whole period at that rate, half-even to a whole credit. */
  projectedConsumedCredits: number;
  /** What the rest of the period would draw beyond the balance, uncapped. */
  shortfallCredits: number;
  projectedOverageCredits: number;
  /** True when the cap, or a hard stop, held the projected overage down. */
  capped: boolean;
  projectedAmountMinor: number;
}

const DAY_SECONDS = 86_400n;

const seconds = (at: Date) => BigInt(Math.floor(at.getTime() / 1000));

/**
 * The projection for the rest of the period, or null when less than
 * MIN_ELAPSED_SECONDS of it has passed (or it is already over).
 */
export function projectOverage(input: OverageProjectionInput): OverageProjection | null {
  for (const value of [input.consumedCredits, input.overageCredits, input.capCredits]) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError("Credits are whole numbers, zero or more");
    }
  }
  const start = seconds(input.periodStart);
  const end = seconds(input.periodEnd);
  const now = seconds(input.now);
  if (end <= start) throw new RangeError("A period must end after it starts");
  const elapsed = now - start;
  if (elapsed < BigInt(MIN_ELAPSED_SECONDS) || now >= end) return null;

  const consumed = BigInt(input.consumedCredits);
  const projectedDraw = divideHalfEven(consumed * (end - now), elapsed);
  const shortfall = projectedDraw - BigInt(Math.max(0, input.balance));
  const shortfallCredits = shortfall > 0n ? Number(shortfall) : 0;
  const uncapped = input.overageCredits + shortfallCredits;
  const limit =
    input.policy === "hard_stop"
      ? input.overageCredits
      : input.policy === "soft_cap"
        ? Math.max(input.capCredits, input.overageCredits)
        : null;
  const projectedOverageCredits = limit === null ? uncapped : Math.min(uncapped, limit);

  return {
    creditsPerDay: Number((consumed * DAY_SECONDS + elapsed - 1n) / elapsed),
    projectedConsumedCredits: Number(consumed + projectedDraw),
    shortfallCredits,
    projectedOverageCredits,
    capped: projectedOverageCredits < uncapped,
    projectedAmountMinor: overageAmount(
      projectedOverageCredits,
      input.unitCredits,
      input.unitPriceMinor,
    ),
  };
}

export interface OverageForecast {
  currency: string;
  periodStart: Date;
  periodEnd: Date;
  policy: OveragePolicy;
  /** soft_cap's cap in credits; null when the policy does not cap overage. */
  capCredits: number | null;
  /** The tier's overage price: unitPriceMinor per unitCredits credits. */
  unitCredits: number;
  unitPriceMinor: number;
  consumedCredits: number;
  balance: number;
  overageCreditsSoFar: number;
  overageAmountSoFarMinor: number;
  /** Null when too little of the period has passed to project from. */
  projection: OverageProjection | null;
  /** When the balance runs out at the period's rate, if before the period ends. */
  runsOutAt: Date | null;
  /** How the amounts are rounded, as the invoice states it. */
  rounding: string;
}

/**
 * The overage forecast of a workspace's current billing period (its
 * subscription's), or null when it has no subscription.
 */
export async function overageForecast(
  db: Db,
  workspaceId: string,
  now: Date,
): Promise<OverageForecast | null> {
  const [row] = await db
    .select({ subscription: subscriptions, tier: tiers })
    .from(subscriptions)
    .innerJoin(workspaces, eq(workspaces.id, subscriptions.workspaceId))
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .where(eq(subscriptions.workspaceId, workspaceId));
  if (!row) return null;
  const { subscription, tier } = row;
  const periodStart = subscription.currentPeriodStart;
  const periodEnd = subscription.currentPeriodEnd;

  const [[consumed], [overage], summary] = await Promise.all([
    db
      .select({ credits: sql<string>`coalesce(sum(${usageRecords.credits}), 0)::bigint` })
      .from(usageRecords)
      .where(
        and(
          eq(usageRecords.workspaceId, workspaceId),
          eq(usageRecords.outcome, "consumed"),
          gte(usageRecords.createdAt, periodStart),
          lt(usageRecords.createdAt, now),
        ),
      ),
    db
      .select({ credits: sql<string>`coalesce(sum(${overageRecords.credits}), 0)::bigint` })
      .from(overageRecords)
      .where(
        and(
          eq(overageRecords.workspaceId, workspaceId),
          eq(overageRecords.periodStart, periodStart),
        ),
      ),
    balanceSummary(db, workspaceId),
  ]);
  const price = tierPrice(tier, subscription.currency);
  const input: OverageProjectionInput = {
    periodStart,
    periodEnd,
    now,
    consumedCredits: Number(consumed?.credits ?? 0),
    overageCredits: Number(overage?.credits ?? 0),
    balance: summary.balance,
    policy: tier.overagePolicy,
    capCredits: tier.overageCapCredits,
    unitCredits: tier.overageUnitCredits,
    unitPriceMinor: price.overageUnitPriceMinor,
  };
  const projection = projectOverage(input);
  const depletion =
    projection && input.consumedCredits > 0
      ? forecastDepletion({
          now,
          grants: summary.grants,
          consumedInWindow: input.consumedCredits,
          windowMs: now.getTime() - periodStart.getTime(),
        })
      : null;
  const runsOutAt =
    depletion?.kind === "runs_out" && depletion.runsOutAt < periodEnd ? depletion.runsOutAt : null;

  return {
    currency: subscription.currency,
    periodStart,
    periodEnd,
    policy: tier.overagePolicy,
    capCredits: tier.overagePolicy === "soft_cap" ? tier.overageCapCredits : null,
    unitCredits: tier.overageUnitCredits,
    unitPriceMinor: price.overageUnitPriceMinor,
    consumedCredits: input.consumedCredits,
    balance: summary.balance,
    overageCreditsSoFar: input.overageCredits,
    overageAmountSoFarMinor: overageAmount(
      input.overageCredits,
      tier.overageUnitCredits,
      price.overageUnitPriceMinor,
    ),
    projection,
    runsOutAt: depletion?.kind === "empty" ? now : runsOutAt,
    rounding: `credits half-even to a whole credit; amounts ${ROUNDING.halfEven}`,
  };
}
