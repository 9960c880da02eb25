import { eq } from "drizzle-orm";

import { stripeEvents } from "@/drizzle/schema";
import { invoicePaymentWebhookHandlers } from "@/server/billing/collection";
import { paymentMethodWebhookHandlers } from "@/server/billing/payment-methods";
import { purchaseWebhookHandlers } from "@/server/credits/purchase-webhooks";
import type { Tx } from "@/server/db/client";
import { catalogue, type EventDraft, type EventEnvelope } from "@/server/events/catalogue";
import type {
  CronHandler,
  ReactionContext,
  ReactionDeps,
  ReactionHandler,
} from "@/server/events/reactions";
import type { Logger } from "@/server/logger";

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
  invoicePaymentWebhookHandlers,
  paymentMethodWebhookHandlers,
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

  const events = await runHandlers(tx, stored.type, stored.payload, context);
  if (!handlers.has(stored.type))
    log.info({ type: stored.type }, "no handler for this webhook type; stored and acknowledged");

  await tx
    .update(stripeEvents)
    .set({ processedAt: deps.clock.now() })
    .where(eq(stripeEvents.id, stored.id));

  return events;
};

async function runHandlers(
  tx: Tx,
  type: string,
  payload: Record<string, unknown>,
  context: ReactionContext<"payments/webhook-received">,
): Promise<EventDraft[]> {
  const events: EventDraft[] = [];
  for (const handler of handlers.get(type) ?? [])
    events.push(...((await handler(tx, payload, context)) ?? []));

  return events;
}

/** Whether any feature handles a Stripe event type. */
export function handlesEventType(type: string): boolean {
  return handlers.has(type);
}

/**
 * Runs the handlers registered for a Stripe event type on a Stripe-shaped
 * object fetched from the gateway now, as if the gateway had just sent that
 * event: how a reconciliation repair brings Tally up to what the gateway
 * holds (payment_intent.succeeded for a missing grant, charge.refunded for a
 * refund, charge.dispute.created for a dispute). The handlers are idempotent,
 * so applying what Tally already knows changes nothing. `eventId` names the
 * synthetic event; it is stored nowhere.
 */
export async function applyGatewayObject(
  tx: Tx,
  apply: { type: string; object: Record<string, unknown>; eventId: string },
  { deps, log }: { deps: ReactionDeps; log: Logger },
): Promise<EventDraft[]> {
  const now = deps.clock.now();
  const payload = {
    id: apply.eventId,
    object: "event",
    type: apply.type,
    created: Math.floor(now.getTime() / 1000),
    data: { object: apply.object },
    livemode: false,
  };
  const event: EventEnvelope<"payments/webhook-received"> = {
    id: apply.eventId,
    name: "payments/webhook-received",
    version: catalogue["payments/webhook-received"].version,
    workspaceId: null,
    streamSeq: 0,
    object: { type: "stripe_event", id: apply.eventId },
    occurredAt: now,
    causationId: null,
    data: { stripeEventId: apply.eventId, type: apply.type },
  };

  return runHandlers(tx, apply.type, payload, { tx, event, deps, log });
}

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
