import { eq, sql } from "drizzle-orm";

import { tiers } from "@/drizzle/schema";
import { AppError } from "@/server/errors";
import type { EventDraft } from "@/server/events/catalogue";
import type { CronHandler, ReactionHandler } from "@/server/events/reactions";

import { expireGrants, grantCredits } from "./ledger";
import { openFirstPeriod } from "./periods";

/**
 * workspace/created → the first allocation period with the tier's allowance,
 * plus the signup bonus. The allowance is drawn before the bonus (lower
 * priority number) and expires when its period closes; the bonus never
 * expires.
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
  events.push(...(await openFirstPeriod(tx, deps.clock, event.data.workspaceId, tier)));
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

const EXPIRY_BATCH = 100;

/**
 * Every minute: expires grants past their expiry, one expire entry and one
 * credits/expired event each. Consumption expires a workspace's grants on its
 * own before drawing; this sweep covers workspaces that are not consuming.
 * Workspaces busy in another transaction are skipped until the next run.
 */
export const expireDueGrants: CronHandler = async ({ tx, deps, log }) => {
  const now = deps.clock.now().toISOString();
  const due = await tx.execute<{ workspace_id: string; threshold: number }>(sql`
    SELECT b.workspace_id, t.low_balance_threshold AS threshold
    FROM credit_balances b
    JOIN workspaces w ON w.id = b.workspace_id
    JOIN tiers t ON t.id = w.tier_id
    WHERE b.workspace_id IN (
      SELECT g.workspace_id FROM credit_grants g
      WHERE g.remaining > 0 AND g.expires_at <= ${now}::timestamptz
        AND NOT (g.source = 'tier_allocation' AND EXISTS (
          SELECT 1 FROM credit_periods p WHERE p.id = g.period_id AND p.status = 'open'))
      LIMIT ${EXPIRY_BATCH})
    FOR UPDATE OF b SKIP LOCKED`);
  const events: EventDraft[] = [];
  for (const row of due) {
    events.push(...(await expireGrants(tx, deps.clock, row.workspace_id, row.threshold)));
  }
  if (events.length > 0) log.info({ workspaces: due.length }, "expired grants");

  return events;
};
