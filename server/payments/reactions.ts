import { eq } from "drizzle-orm";

import { stripeEvents } from "@/drizzle/schema";
import type { Tx } from "@/server/db/client";
import type { ReactionContext, ReactionHandler } from "@/server/events/reactions";

type StripeEventHandler = (
  tx: Tx,
  payload: Record<string, unknown>,
  context: ReactionContext<"payments/webhook-received">,
) => Promise<void>;

/**
 * Handlers by Stripe event type. A type without a handler is stored,
 * acknowledged and marked processed.
 *
 * TODO: checkout, payment intent, invoice, refund and dispute handlers arrive
 * with credit purchases and payments; until then every type is only stored.
 */
const handlers: Record<string, StripeEventHandler> = {};

/** payments/webhook-received → the handler for the stored event's type. */
export const processStripeEvent: ReactionHandler<"payments/webhook-received"> = async (context) => {
  const { tx, event, deps, log } = context;
  const [stored] = await tx
    .select()
    .from(stripeEvents)
    .where(eq(stripeEvents.id, event.data.stripeEventId))
    .for("update");
  if (!stored || stored.processedAt) return;

  const handler = handlers[stored.type];
  if (handler) await handler(tx, stored.payload, context);
  else log.info({ type: stored.type }, "no handler for this webhook type; stored and acknowledged");

  await tx
    .update(stripeEvents)
    .set({ processedAt: deps.clock.now() })
    .where(eq(stripeEvents.id, stored.id));
};
