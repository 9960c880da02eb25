/**
 * The Stripe gateway's read calls: objects fetched for webhooks that arrive
 * before what they name, and the lists the daily reconciliation compares.
 */
import Stripe from "stripe";

import { cardLabel } from "./cards";
import type {
  GatewayCheckoutSession,
  GatewayDispute,
  GatewayPayment,
  GatewayRefundRecord,
  GatewayWindow,
  SavedPaymentMethod,
} from "./gateway";

/** Whether a Stripe error says the object does not exist (a 404 `resource_missing`). */
export function isResourceMissing(error: unknown): boolean {
  return (
    error instanceof Stripe.errors.StripeError &&
    (error.code === "resource_missing" || error.statusCode === 404)
  );
}

/**
 * A Checkout Session with what its webhooks may lack: the payment intent id,
 * and for a completed setup session the card it saved (its setup intent's
 * payment method, expanded in the same request). Null for an unknown id.
 */
export async function retrieveCheckoutSession(
  stripe: Stripe,
  sessionId: string,
): Promise<GatewayCheckoutSession | null> {
  let session: Stripe.Checkout.Session;
  try {
    session = await stripe.checkout.sessions.retrieve(sessionId, {
      expand: ["setup_intent.payment_method"],
    });
  } catch (error) {
    if (isResourceMissing(error)) return null;
    throw error;
  }
  const mode = session.mode === "setup" ? "setup" : session.mode === "payment" ? "payment" : null;
  if (!mode) {
    throw new Error(
      `Checkout session ${session.id} is in ${session.mode} mode, which Tally never opens`,
    );
  }
  const setupIntent = typeof session.setup_intent === "object" ? session.setup_intent : null;
  const method = setupIntent?.payment_method;

  return {
    id: session.id,
    mode,
    status: oneOf(session.status, ["open", "complete", "expired"], "open"),
    paymentStatus: oneOf(
      session.payment_status,
      ["paid", "unpaid", "no_payment_required"],
      "unpaid",
    ),
    customerId: idOf(session.customer),
    paymentIntentId: idOf(session.payment_intent),
    setupPaymentMethod:
      mode === "setup" && session.status === "complete" && method && typeof method === "object"
        ? savedPaymentMethod(method)
        : null,
    metadata: { ...(session.metadata ?? {}) },
  };
}

/** How Tally shows a saved payment method: "Visa ending 4242". */
export function savedPaymentMethod(method: Stripe.PaymentMethod): SavedPaymentMethod {
  const card = method.card;

  return {
    ref: method.id,
    label: card ? cardLabel(card.brand, card.last4) : `Saved ${method.type.replaceAll("_", " ")}`,
  };
}

/** A Stripe enum value Tally knows, or `fallback` for one added after the pinned version. */
function oneOf<T extends string>(value: string | null, known: readonly T[], fallback: T): T {
  return known.includes(value as T) ? (value as T) : fallback;
}

export async function retrievePayment(
  stripe: Stripe,
  paymentIntentId: string,
): Promise<GatewayPayment | null> {
  const intent = await orNull(
    stripe.paymentIntents.retrieve(paymentIntentId, { expand: ["latest_charge"] }),
  );

  return intent ? paymentFromIntent(intent) : null;
}

export async function retrieveCharge(
  stripe: Stripe,
  chargeId: string,
): Promise<GatewayPayment | null> {
  const charge = await orNull(stripe.charges.retrieve(chargeId, { expand: ["payment_intent"] }));
  if (!charge) return null;
  const intent = charge.payment_intent;
  if (intent && typeof intent !== "string") {
    return paymentFromIntent({ ...intent, latest_charge: charge });
  }

  // A charge made without a payment intent (the legacy charges API) is its own payment.
  return {
    paymentIntentId: intent ?? charge.id,
    chargeId: charge.id,
    customerId: idOf(charge.customer),
    status:
      charge.status === "succeeded"
        ? "succeeded"
        : charge.status === "failed"
          ? "failed"
          : "pending",
    amountMinor: charge.amount,
    amountReceivedMinor: charge.status === "succeeded" ? charge.amount_captured : 0,
    amountRefundedMinor: charge.amount_refunded,
    currency: charge.currency.toUpperCase(),
    metadata: { ...charge.metadata },
    createdAt: fromUnix(charge.created),
  };
}

/** Every payment intent created in the window, all pages. */
export async function listPayments(
  stripe: Stripe,
  window: GatewayWindow,
): Promise<GatewayPayment[]> {
  const payments: GatewayPayment[] = [];
  const pages = stripe.paymentIntents.list({
    created: createdWithin(window),
    limit: 100,
    expand: ["data.latest_charge"],
  });
  for await (const intent of pages) payments.push(paymentFromIntent(intent));

  return payments;
}

export async function listRefunds(
  stripe: Stripe,
  window: GatewayWindow,
): Promise<GatewayRefundRecord[]> {
  const refunds: GatewayRefundRecord[] = [];
  for await (const refund of stripe.refunds.list({ created: createdWithin(window), limit: 100 })) {
    const status = refund.status;
    refunds.push({
      refundId: refund.id,
      paymentIntentId: idOf(refund.payment_intent),
      chargeId: idOf(refund.charge),
      amountMinor: refund.amount,
      currency: refund.currency.toUpperCase(),
      status:
        status === "succeeded" || status === "failed" || status === "canceled" ? status : "pending",
      metadata: { ...(refund.metadata ?? {}) },
      createdAt: fromUnix(refund.created),
    });
  }

  return refunds;
}

export async function listDisputes(
  stripe: Stripe,
  window: GatewayWindow,
): Promise<GatewayDispute[]> {
  const disputes: GatewayDispute[] = [];
  for await (const dispute of stripe.disputes.list({
    created: createdWithin(window),
    limit: 100,
  })) {
    disputes.push({
      disputeId: dispute.id,
      chargeId: idOf(dispute.charge) ?? "",
      paymentIntentId: idOf(dispute.payment_intent),
      amountMinor: dispute.amount,
      currency: dispute.currency.toUpperCase(),
      status: dispute.status,
      reason: dispute.reason || null,
      createdAt: fromUnix(dispute.created),
    });
  }

  return disputes;
}

/**
 * Stripe's `created` filter for [since, until), in whole seconds: an object
 * created at a second s is in the window when since ≤ s < until.
 */
function createdWithin(window: GatewayWindow): Stripe.RangeQueryParam {
  return {
    gte: Math.ceil(window.since.getTime() / 1000),
    lt: Math.ceil(window.until.getTime() / 1000),
  };
}

function paymentFromIntent(intent: Stripe.PaymentIntent): GatewayPayment {
  const charge = typeof intent.latest_charge === "object" ? intent.latest_charge : null;

  return {
    paymentIntentId: intent.id,
    chargeId: idOf(intent.latest_charge),
    customerId: idOf(intent.customer),
    status: intentStatus(intent),
    amountMinor: intent.amount,
    amountReceivedMinor: intent.amount_received,
    // Refunds are counted on the charge; without it the intent says nothing of them.
    amountRefundedMinor: charge?.amount_refunded ?? 0,
    currency: intent.currency.toUpperCase(),
    metadata: { ...intent.metadata },
    createdAt: fromUnix(intent.created),
  };
}

/** Stripe's many intermediate states read as `pending`; a declined attempt as `failed`. */
function intentStatus(intent: Stripe.PaymentIntent): GatewayPayment["status"] {
  switch (intent.status) {
    case "succeeded":
      return "succeeded";
    case "processing":
      return "processing";
    case "canceled":
      return "canceled";
    case "requires_payment_method":
      return intent.last_payment_error ? "failed" : "pending";
    default:
      return "pending";
  }
}

function idOf(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;

  return typeof value === "string" ? value : value.id;
}

function fromUnix(seconds: number): Date {
  return new Date(seconds * 1000);
}

/** A missing object is an answer (null); any other failure is thrown. */
async function orNull<T>(request: Promise<T>): Promise<T | null> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 404) {
      return null;
    }
    throw error;
  }
}
