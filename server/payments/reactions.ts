import { eq } from "drizzle-orm";

import { stripeEvents } from "@/drizzle/schema";
import { purchaseWebhookHandlers } from "@/server/credits/purchase-webhooks";
import type { Tx } from "@/server/db/client";
import type { EventDraft } from "@/server/events/catalogue";
import type { CronHandler, ReactionContext, ReactionHandler } from "@/server/events/reactions";

import { isSimulatedGateway } from "./simulated";

export type StripeEventHandler = (
  tx: Tx,
  payload: Record<string, unknown>,
  context: ReactionContext<"payments/webhook-received">,
) => Promise<EventDraft[] | void>;

/**
 * Handlers by Stripe event type, each in the feature it concerns. A type
 * without a handler is stored, acknowledged and marked processed.
 *
 * TODO: invoice, refund-status (refund.failed) and dispute events have no
 * handler yet; they arrive with subscriptions and dunning, and are only stored.
 */
const handlers: Record<string, StripeEventHandler> = {
  ...purchaseWebhookHandlers,
};

/**
 * payments/webhook-received → the handler for the stored event's type, in
 * one transaction with marking the event processed. A handler that throws
 * leaves the event unprocessed, so the backbone retries it.
 */
export const processStripeEvent: ReactionHandler<"payments/webhook-received"> = async (context) => {
  const { tx, event, deps, log } = context;
  const [stored] = await tx
    .select()
    .from(stripeEvents)
    .where(eq(stripeEvents.id, event.data.stripeEventId))
    .for("update");
  if (!stored || stored.processedAt) return;

  const handler = handlers[stored.type];
  let events: EventDraft[] = [];
  if (handler) events = (await handler(tx, stored.payload, context)) ?? [];
  else log.info({ type: stored.type }, "no handler for this webhook type; stored and acknowledged");

  await tx
    .update(stripeEvents)
    .set({ processedAt: deps.clock.now() })
    .where(eq(stripeEvents.id, stored.id));

  return events;
};

/**
 * Every minute in the simulated default: sends again the gateway's webhook
 * events the route has not taken, as Stripe retries an endpoint that did not
 * answer. A payment made just before a crash is granted on the next sweep.
 */
export const redeliverSimulatedEvents: CronHandler = async ({ deps, log }) => {
  if (!isSimulatedGateway(deps.gateway)) return;
  const delivered = await deps.gateway.redeliverPending();
  if (delivered > 0) log.info({ delivered }, "redelivered simulated gateway events");
};
