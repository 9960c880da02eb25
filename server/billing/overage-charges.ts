import { eq } from "drizzle-orm";

import { autoTopUps, tiers, workspaces } from "@/drizzle/schema";
import { buyTopUp } from "@/server/credits/auto-top-up";
import type { ReactionHandler } from "@/server/events/reactions";
import { tierHasFeature } from "@/server/workspaces/tiers";

/**
 * billing/overage-charged → one auto top-up purchase, so the next period
 * starts with credits in hand instead of more overage. Only when the tier and
 * the workspace allow it: the tier's features include auto top-up, and the
 * workspace has turned its auto top-up on. The tier's overage policy does not
 * matter here (overage builds up under soft_cap, which is where this buys);
 * otherwise nothing is bought and the log says why.
 *
 * The purchase goes through the auto top-up's own path (buyTopUp): the
 * chosen pack, the monthly limit, the one top-up in flight, the charge off
 * session. Its id comes from this event's id, so a redelivery buys nothing
 * twice. The threshold is not consulted: the charged overage is the reason
 * to buy, even once the next period's allowance has lifted the balance.
 */
export const autoPurchaseOnOverage: ReactionHandler<"billing/overage-charged"> = async ({
  tx,
  event: charged,
  deps,
  log,
}) => {
  const { workspaceId } = charged.data;
  const [row] = await tx
    .select({ features: tiers.features, autoTopUp: autoTopUps.enabled })
    .from(workspaces)
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .leftJoin(autoTopUps, eq(autoTopUps.workspaceId, workspaces.id))
    .where(eq(workspaces.id, workspaceId));
  if (!row) throw new Error(`Workspace ${workspaceId} not found`);
  if (!tierHasFeature(row, "auto_top_up")) {
    log.info("the tier does not include auto top-up; no auto purchase");
    return;
  }
  if (!row.autoTopUp) {
    log.info("auto top-up is off for the workspace; no auto purchase");
    return;
  }

  return buyTopUp(tx, deps, log, {
    workspaceId,
    sourceEventId: charged.id,
    onlyBelowThreshold: false,
  });
};
