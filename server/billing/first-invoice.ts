import { eq } from "drizzle-orm";

import { tiers } from "@/drizzle/schema";
import type { ReactionHandler } from "@/server/events/reactions";

import { advanceLines } from "./cycles";
import { issueInvoice } from "./invoices";
import { periodBounds } from "./periods";
import { SEATS_AT_CREATION, subscriptionOf } from "./subscriptions";

/**
 * workspace/created → the invoice of period 1, in advance. Each cycle bills
 * the period that follows the one ending, so without this the first
 * period's fee would never be billed. Its lines are the cycle's advance
 * lines (cycles.ts advanceLines): the fee of the tier the workspace was
 * created on, and the extra seats it started with (a new subscription bills
 * its owner only; seats added later are prorated by seats.ts). A free tier
 * gives no lines and no invoice. One invoice per workspace, by its source
 * key, so a redelivered event issues nothing.
 */
export const invoiceFirstPeriod: ReactionHandler<"workspace/created"> = async ({
  tx,
  event: created,
  deps,
  log,
}) => {
  const { workspaceId, tierId } = created.data;
  const subscription = await subscriptionOf(tx, workspaceId);
  if (!subscription) throw new Error(`Workspace ${workspaceId} has no subscription`);
  const [tier] = await tx.select().from(tiers).where(eq(tiers.id, tierId));
  if (!tier) throw new Error(`Tier ${tierId} not found`);
  const first = periodBounds(subscription.anchorAt, 1);
  const lines = advanceLines({ ...first, tier, seats: SEATS_AT_CREATION }, subscription.currency);
  if (lines.length === 0) return;

  const issued = await issueInvoice(tx, deps.clock, deps.billing, {
    workspaceId,
    kind: "subscription",
    currency: subscription.currency,
    lines,
    sourceKey: `first-period:${workspaceId}`,
    periodStart: first.startsAt,
    periodEnd: first.endsAt,
  });
  if (issued.created) {
    log.info({ workspaceId, number: issued.invoice.number }, "first period invoiced");
  }

  return issued.events;
};
