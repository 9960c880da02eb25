import { eq } from "drizzle-orm";

import { subscriptions } from "@/drizzle/schema";
import type { DbOrTx, Tx } from "@/server/db/client";

import { periodBounds } from "./periods";

/**
 * Subscriptions: one per workspace, written in the same transaction as the
 * workspace's own changes. The workspace holds the tier (and any change
 * scheduled for the period's end); the subscription holds the billing side.
 * Its periods are advanced only by the cycle sweep (cycles.ts).
 */

export type Subscription = typeof subscriptions.$inferSelect;
export type SubscriptionStatus = Subscription["status"];

/** Seats a new workspace is billed for: its owner. Members added later are prorated (seats.ts). */
export const SEATS_AT_CREATION = 1;

/** The subscription of a new workspace: period 1 of a schedule anchored on its creation. */
export async function createSubscription(
  tx: Tx,
  input: { workspaceId: string; anchorAt: Date; currency: string },
): Promise<Subscription> {
  const first = periodBounds(input.anchorAt, 1);
  const [subscription] = await tx
    .insert(subscriptions)
    .values({
      workspaceId: input.workspaceId,
      status: "active",
      currency: input.currency,
      anchorAt: input.anchorAt,
      periodSequence: 1,
      currentPeriodStart: first.startsAt,
      currentPeriodEnd: first.endsAt,
      seats: SEATS_AT_CREATION,
      createdAt: input.anchorAt,
      updatedAt: input.anchorAt,
    })
    .returning();
  if (!subscription) throw new Error(`No subscription written for ${input.workspaceId}`);

  return subscription;
}

/**
 * Follows a workspace's own status change (suspended, reactivated,
 * cancelled): the one place that writes a subscription's status, called in
 * the transaction of that change.
 */
export async function setSubscriptionStatus(
  tx: Tx,
  workspaceId: string,
  status: SubscriptionStatus,
  at: Date,
): Promise<void> {
  await tx
    .update(subscriptions)
    .set({ status, updatedAt: at })
    .where(eq(subscriptions.workspaceId, workspaceId));
}

export async function subscriptionOf(
  db: DbOrTx,
  workspaceId: string,
): Promise<Subscription | undefined> {
  const [subscription] = await db
    .select()
    .from(subscriptions)
    .where(eq(subscriptions.workspaceId, workspaceId));

  return subscription;
}
