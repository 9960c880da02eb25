/**
 * The Stripe gateway's read calls: objects fetched for webhooks that arrive
 * before what they name, and the lists the daily reconciliation compares.
 */
import type Stripe from "stripe";

import type {
  GatewayCheckoutSession,
  GatewayDispute,
  GatewayPayment,
  GatewayRefundRecord,
  GatewayWindow,
} from "./gateway";

/** TODO(issue 7 lanes): filled in by the reconciliation lane. */
export async function retrieveCheckoutSession(
  _stripe: Stripe,
  _sessionId: string,
): Promise<GatewayCheckoutSession | null> {
  throw new Error("not implemented yet");
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
