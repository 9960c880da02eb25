import { eq } from "drizzle-orm";

import { subscriptions } from "@/drizzle/schema";
import { periodAt } from "@/server/billing/periods";
import type { DbOrTx } from "@/server/db/client";

/**
 * The period overage is counted in: the workspace's billing period that
 * holds `at`, so overage is capped per period and billed on that period's
 * invoice (billing/cycles.ts). The period comes from the subscription's
 * anchor, not its current period: a call made after a period's end, before
 * the sweep has started that period's cycle, counts in the new period.
 */
export async function overagePeriodStart(db: DbOrTx, workspaceId: string, at: Date): Promise<Date> {
  const [subscription] = await db
    .select({ anchorAt: subscriptions.anchorAt })
    .from(subscriptions)
    .where(eq(subscriptions.workspaceId, workspaceId));
  if (!subscription) throw new Error(`Workspace ${workspaceId} has no subscription`);

  return periodAt(subscription.anchorAt, at).startsAt;
}
