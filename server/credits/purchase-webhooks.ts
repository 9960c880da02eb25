import { eq } from "drizzle-orm";
import { z } from "zod";

import { creditPurchases } from "@/drizzle/schema";
import type { Actor } from "@/server/actor";
import type { Tx } from "@/server/db/client";
import type { EventDraft } from "@/server/events/catalogue";
import type { Logger } from "@/server/logger";
import type { StripeEventHandler } from "@/server/payments/reactions";

import { cancelPurchase, completePurchase, failPurchase } from "./purchases";

/**
 * The gateway's webhook events about credit purchases, one handler per
 * event type. Stripe and the simulated gateway send the same events, so both
 * modes complete purchases here. Each event names its purchase in metadata
 * (`purchase_id`, set on the session and on its payment intent); events
 * about payments that are not Tally purchases are acknowledged and ignored.
 */

const actor: Actor = { type: "system", reason: "payment webhook" };

const metadata = z.record(z.string(), z.unknown()).nullish();
const reference = z.union([z.string(), z.object({ id: z.string() }).loose()]).nullish();

const checkoutSession = z
  .object({
    id: z.string(),
    object: z.literal("checkout.session"),
    client_reference_id: z.string().nullish(),
    metadata,
    payment_status: z.string().nullish(),
    payment_intent: reference,
    amount_total: z.number().int().nullish(),
    currency: z.string().nullish(),
  })
  .loose();

const paymentIntent = z
  .object({
    id: z.string(),
    object: z.literal("payment_intent"),
    metadata,
    amount: z.number().int(),
    currency: z.string(),
    last_payment_error: z
      .object({ message: z.string().nullish(), code: z.string().nullish() })
      .loose()
      .nullish(),
    /** The current API names the charge; older versions list it under `charges`. */
    latest_charge: reference,
    charges: z
      .object({ data: z.array(z.object({ id: z.string() }).loose()) })
      .loose()
      .nullish(),
  })
  .loose();

function chargeOf(intent: z.output<typeof paymentIntent>): string | null {
  return idOf(intent.latest_charge) ?? intent.charges?.data[0]?.id ?? null;
}

const uuid = z.uuid();

function objectOf<T extends z.ZodType>(schema: T, payload: Record<string, unknown>): z.output<T> {
  const data = payload.data as { object?: unknown } | undefined;
  const parsed = schema.safeParse(data?.object);
  if (!parsed.success) {
    throw new Error(`Webhook ${String(payload.id)} does not carry the expected object`);
  }

  return parsed.data;
}

function idOf(value: z.output<typeof reference>): string | null {
  if (!value) return null;

  return typeof value === "string" ? value : value.id;
}

/**
 * The purchase an event is about: the one its metadata names, or else the
 * one holding its session or payment id. A purchase named in metadata but
 * not found is an error, so the event is retried: a synchronous top-up's
 * payment can be reported before the reaction that made it has committed.
 */
async function findPurchase(
  tx: Tx,
  lookup: {
    metadata: Record<string, unknown> | null | undefined;
    clientReferenceId?: string | null;
    sessionId?: string;
    paymentIntentId?: string | null;
  },
): Promise<string | null> {
  const named = uuid.safeParse(lookup.metadata?.purchase_id);
  if (named.success) {
    const [row] = await tx
      .select({ id: creditPurchases.id })
      .from(creditPurchases)
      .where(eq(creditPurchases.id, named.data));
    if (!row) throw new Error(`Purchase ${named.data} named by the event is not known (yet)`);

    return row.id;
  }
  const candidates = [
    uuid.safeParse(lookup.clientReferenceId).success
      ? eq(creditPurchases.id, lookup.clientReferenceId as string)
      : undefined,
    lookup.sessionId ? eq(creditPurchases.checkoutSessionId, lookup.sessionId) : undefined,
    lookup.paymentIntentId
      ? eq(creditPurchases.paymentIntentId, lookup.paymentIntentId)
      : undefined,
  ];
  for (const where of candidates) {
    if (!where) continue;
    const [row] = await tx.select({ id: creditPurchases.id }).from(creditPurchases).where(where);
    if (row) return row.id;
  }

  return null;
}

function notOurs(log: Logger, payload: Record<string, unknown>): EventDraft[] {
  log.info({ stripeEventId: payload.id }, "webhook names no Tally purchase; acknowledged");

  return [];
}

async function sessionPaid(
  tx: Tx,
  payload: Record<string, unknown>,
  { deps, log }: Parameters<StripeEventHandler>[2],
): Promise<EventDraft[]> {
  const session = objectOf(checkoutSession, payload);
  const purchaseId = await findPurchase(tx, {
    metadata: session.metadata,
    clientReferenceId: session.client_reference_id,
    sessionId: session.id,
  });
  if (!purchaseId) return notOurs(log, payload);
  if (session.payment_status !== "paid" && session.payment_status !== "no_payment_required") {
    // Delayed payment methods: checkout.session.async_payment_succeeded follows.
    log.info({ purchaseId }, "checkout completed; the payment is still processing");
    return [];
  }

  return completePurchase(tx, deps.clock, log, {
    purchaseId,
    paymentIntentId: idOf(session.payment_intent),
    amountMinor: session.amount_total ?? null,
    currency: session.currency ?? null,
    checkoutSessionId: session.id,
    workspaceId: session.metadata?.workspace_id,
    actor,
  });
}

export const purchaseWebhookHandlers: Record<string, StripeEventHandler> = {
  "checkout.session.completed": sessionPaid,
  "checkout.session.async_payment_succeeded": sessionPaid,

  "checkout.session.async_payment_failed": async (tx, payload, { deps, log }) => {
    const session = objectOf(checkoutSession, payload);
    const purchaseId = await findPurchase(tx, {
      metadata: session.metadata,
      clientReferenceId: session.client_reference_id,
      sessionId: session.id,
    });
    if (!purchaseId) return notOurs(log, payload);

    return failPurchase(
      tx,
      log,
      {
        purchaseId,
        reason: "The payment did not go through",
        final: true,
        paymentIntentId: idOf(session.payment_intent),
      },
      deps.clock,
    );
  },

  "checkout.session.expired": async (tx, payload, { log }) => {
    const session = objectOf(checkoutSession, payload);
    const purchaseId = await findPurchase(tx, {
      metadata: session.metadata,
      clientReferenceId: session.client_reference_id,
      sessionId: session.id,
    });
    if (!purchaseId) return notOurs(log, payload);
    await cancelPurchase(tx, log, purchaseId);

    return [];
  },

  "payment_intent.succeeded": async (tx, payload, { deps, log }) => {
    const intent = objectOf(paymentIntent, payload);
    const purchaseId = await findPurchase(tx, {
      metadata: intent.metadata,
      paymentIntentId: intent.id,
    });
    if (!purchaseId) return notOurs(log, payload);

    return completePurchase(tx, deps.clock, log, {
      purchaseId,
      paymentIntentId: intent.id,
      chargeId: chargeOf(intent),
      amountMinor: intent.amount,
      currency: intent.currency,
      workspaceId: intent.metadata?.workspace_id,
      actor,
    });
  },

  "payment_intent.payment_failed": async (tx, payload, { deps, log }) => {
    const intent = objectOf(paymentIntent, payload);
    const purchaseId = await findPurchase(tx, {
      metadata: intent.metadata,
      paymentIntentId: intent.id,
    });
    if (!purchaseId) return notOurs(log, payload);

    return failPurchase(
      tx,
      log,
      {
        purchaseId,
        reason: intent.last_payment_error?.message ?? "The payment failed",
        final: false,
        paymentIntentId: intent.id,
        failureCode: intent.last_payment_error?.code ?? null,
      },
      deps.clock,
    );
  },
};
