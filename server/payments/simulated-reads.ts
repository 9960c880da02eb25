/**
 * The simulated gateway's read calls, over its own stored objects: what
 * Stripe's retrieve and list endpoints answer.
 */
import type { Clock } from "@/server/clock";
import type { Db } from "@/server/db/client";

import type {
  GatewayCheckoutSession,
  GatewayDispute,
  GatewayPayment,
  GatewayRefundRecord,
  GatewayWindow,
} from "./gateway";

/** TODO(issue 7 lanes): filled in by the reconciliation lane. */
export async function retrieveCheckoutSession(
  _db: Db,
  _clock: Clock,
  _sessionId: string,
): Promise<GatewayCheckoutSession | null> {
  throw new Error("not implemented yet");
}

export async function retrievePayment(
  _db: Db,
  _clock: Clock,
  _paymentIntentId: string,
): Promise<GatewayPayment | null> {
  throw new Error("not implemented yet");
}

export async function retrieveCharge(
  _db: Db,
  _clock: Clock,
  _chargeId: string,
): Promise<GatewayPayment | null> {
  throw new Error("not implemented yet");
}

export async function listPayments(
  _db: Db,
  _clock: Clock,
  _window: GatewayWindow,
): Promise<GatewayPayment[]> {
  throw new Error("not implemented yet");
}

export async function listRefunds(
  _db: Db,
  _clock: Clock,
  _window: GatewayWindow,
): Promise<GatewayRefundRecord[]> {
  throw new Error("not implemented yet");
}

export async function listDisputes(
  _db: Db,
  _clock: Clock,
  _window: GatewayWindow,
): Promise<GatewayDispute[]> {
  throw new Error("not implemented yet");
}
