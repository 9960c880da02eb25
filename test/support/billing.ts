import { eq } from "drizzle-orm";

import { subscriptions } from "@/drizzle/schema";
import { sweepBillingCycles } from "@/server/billing/cycles";
import type { Runtime } from "@/server/runtime";

import { drain, runCron } from "./runtime";

/**
 * One run of the billing-start-cycles sweep, then every reaction it leads
 * to: each ended period's cycle runs to its end (invoice, credit rollover,
 * next allowance), and the cycles of periods that ended since start in turn.
 */
export async function sweepCycles(runtime: Runtime): Promise<void> {
  await runCron(runtime, sweepBillingCycles);
  await drain(runtime);
}

type SubscriptionValues = Omit<typeof subscriptions.$inferInsert, "workspaceId">;

/**
 * Sets a workspace's subscription to `values` (a workspace gets one when it
 * is created): for tests that place it in a chosen period or state.
 */
export async function setSubscription(
  runtime: Runtime,
  workspaceId: string,
  values: SubscriptionValues,
): Promise<void> {
  await runtime.db
    .insert(subscriptions)
    .values({ workspaceId, ...values })
    .onConflictDoUpdate({ target: subscriptions.workspaceId, set: values });
}

/** Removes a workspace's subscription, as for a workspace created before subscriptions existed. */
export async function dropSubscription(runtime: Runtime, workspaceId: string): Promise<void> {
  await runtime.db.delete(subscriptions).where(eq(subscriptions.workspaceId, workspaceId));
}
