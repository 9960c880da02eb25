import { eq } from "drizzle-orm";

import { subscriptions } from "@/drizzle/schema";
import { sweepBillingCycles } from "@/server/billing/cycles";
import type { SimulatedCard } from "@/server/payments/simulated";
import type { Runtime } from "@/server/runtime";

import { simulatedGatewayOf } from "./purchases";
import { callerFor, drain, runCron } from "./runtime";

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

/**
 * Saves a test card as the workspace's card for invoices the way a billing
 * member does: the billing page's setup session, paid on the simulated
 * checkout page, then the webhook and what it causes (an open dunning case
 * retries at once).
 */
export async function saveCardOnPage(
  runtime: Runtime,
  workspace: { workspaceId: string; userId: string },
  card: SimulatedCard,
): Promise<void> {
  const caller = await callerFor(runtime, workspace.userId);
  const { url } = await caller.billing.startCardSetup({ workspaceId: workspace.workspaceId });
  const sessionId = /cs_[A-Za-z0-9]+/.exec(url)?.[0];
  if (!sessionId) throw new Error(`No session id in ${url}`);
  const result = await simulatedGatewayOf(runtime).payCheckoutSession(sessionId, card);
  if (result?.outcome !== "saved") throw new Error(`The card was not saved: ${result?.outcome}`);
  await drain(runtime);
}
