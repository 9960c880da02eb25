import { eq } from "drizzle-orm";

import { stripeEvents } from "@/drizzle/schema";
import { purchaseWebhookHandlers } from "@/server/credits/purchase-webhooks";
import type { Tx } from "@/server/db/client";
import type { EventDraft } from "@/server/events/catalogue";
import type { CronHandler, ReactionContext, ReactionHandler } from "@/server/events/reactions";

import { disputeWebhookHandlers } from "./disputes";
import { refundWebhookHandlers } from "./refunds";
import { isSimulatedGateway } from "./simulated";

export type StripeEventHandler = (
  tx: Tx,
  payload: Record<string, unknown>,
  context: ReactionContext<"payments/webhook-received">,
) => Promise<EventDraft[] | void>;

/**
 * Handlers by Stripe event type, each in the feature it concerns. One type
 * can concern several features (payment_intent.succeeded pays a purchase or
 * an invoice): every handler for the type runs, and each acknowledges and
 * ignores the events that name nothing of its own. A type without a handler
 * is stored, acknowledged and marked processed.
 */
const handlerMaps: Record<string, StripeEventHandler>[] = [
  purchaseWebhookHandlers,
  refundWebhookHandlers,
  disputeWebhookHandlers,
];

const handlers = new Map<string, StripeEventHandler[]>();
for (const map of handlerMaps) {
  for (const [type, handler] of Object.entries(map)) {
    handlers.set(type, [...(handlers.get(type) ?? []), handler]);
  }
}

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

  const handling = handlers.get(stored.type) ?? [];
  const events: EventDraft[] = [];
  for (const handler of handling)
    events.push(...((await handler(tx, stored.payload, context)) ?? []));
  if (handling.length === 0)
    log.info({ type: stored.type }, "no handler for this webhook type; stored and acknowledged");

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
