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

function idOf(value: string | { id: string } | null): string | null {
  if (!value) return null;

  return typeof value === "string" ? value : value.id;
}

export async function retrievePayment(
  _stripe: Stripe,
  _paymentIntentId: string,
): Promise<GatewayPayment | null> {
  throw new Error("not implemented yet");
}

export async function retrieveCharge(
  _stripe: Stripe,
  _chargeId: string,
): Promise<GatewayPayment | null> {
  throw new Error("not implemented yet");
}

export async function listPayments(
  _stripe: Stripe,
  _window: GatewayWindow,
): Promise<GatewayPayment[]> {
  throw new Error("not implemented yet");
}

export async function listRefunds(
  _stripe: Stripe,
  _window: GatewayWindow,
): Promise<GatewayRefundRecord[]> {
  throw new Error("not implemented yet");
}

export async function listDisputes(
  _stripe: Stripe,
  _window: GatewayWindow,
): Promise<GatewayDispute[]> {
  throw new Error("not implemented yet");
}
