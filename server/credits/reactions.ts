import { eq } from "drizzle-orm";

import { tiers } from "@/drizzle/schema";
import { AppError } from "@/server/errors";
import type { ReactionHandler } from "@/server/events/reactions";

import { grantCredits } from "./ledger";

/**
 * workspace/created → the tier's monthly allowance plus its signup bonus.
 * The allowance is drawn before the bonus (lower priority number).
 *
 * TODO: the first allowance never expires; billing periods will give it the
 * period's end as expiry and hand unused credits to rollover.
 */
export const allocateInitialCredits: ReactionHandler<"workspace/created"> = async ({
  tx,
  event,
  deps,
}) => {
  const [tier] = await tx.select().from(tiers).where(eq(tiers.id, event.data.tierId));
  if (!tier) throw new AppError("not_found", `Tier ${event.data.tierId} not found`);

  const actor = { type: "system", reason: "initial allocation" } as const;
  const events = [];
  if (tier.monthlyCredits > 0) {
    const allowance = await grantCredits(tx, deps.clock, {
      workspaceId: event.data.workspaceId,
      source: "tier_allocation",
      amount: tier.monthlyCredits,
      idempotencyKey: `tier-allocation:initial:${event.id}`,
      reason: `${tier.name} tier monthly allowance`,
      actor,
      priority: 100,
      lowBalanceThreshold: tier.lowBalanceThreshold,
    });
    events.push(...allowance.events);
  }
  if (tier.signupBonusCredits > 0) {
    const bonus = await grantCredits(tx, deps.clock, {
      workspaceId: event.data.workspaceId,
      source: "signup_bonus",
      amount: tier.signupBonusCredits,
      idempotencyKey: `signup-bonus:${event.id}`,
      reason: "Signup bonus",
      actor,
      priority: 110,
      lowBalanceThreshold: tier.lowBalanceThreshold,
    });
    events.push(...bonus.events);
  }

  return events;
};
