/**
 * The simulated gateway's read calls, over its own stored objects: what
 * Stripe's retrieve and list endpoints answer.
 *
 * What simulated.ts stores in simulated_objects, by `type` (the row's `id`
 * is the object's id; `data` is the object as Stripe shapes it; `created` is
 * unix seconds from the gateway's clock, so time travel moves it; amounts are
 * integer minor units, currencies lower case as Stripe sends them):
 *
 * - `payment_intent` (pi_sim…): amount, amount_received, amount_refunded,
 *   currency, customer, metadata (purchase or invoice payment metadata),
 *   status ("succeeded" | "requires_payment_method"), last_payment_error
 *   ({code, decline_code, message} or null), latest_charge (ch_sim… once
 *   paid, else null), payment_method, created. The row's idempotency_key is
 *   the key it was charged under (off-session charges only).
 * - `charge` (ch_sim…): payment_intent, amount, amount_captured,
 *   amount_refunded, refunded (all of it), currency, customer, metadata,
 *   status "succeeded", disputed, refunds ({object: "list", data: refund[]},
 *   newest first), created.
 * - `refund` (re_sim…): amount, charge, payment_intent, currency, metadata,
 *   status "succeeded", created; idempotency_key is the refund's key.
 * - `dispute` (dp_sim…): charge, payment_intent, amount, currency, reason,
 *   status ("needs_response", then "won" | "lost"), evidence_details.due_by,
 *   created.
 * - `checkout.session` (cs_sim…): mode ("payment" | "setup"), status,
 *   payment_status, amount_total (null in setup mode), currency, customer,
 *   metadata, payment_intent, setup_intent, success_url, cancel_url, created.
 * - `setup_intent` (seti_sim…): customer, metadata, status, payment_method,
 *   last_setup_error, created.
 * - `payment_method` (pm_sim…): customer, card {brand, last4}, created; the
 *   simulation's own `tally_test_card` and `tally_default` fields.
 * - `event` (evt_sim…): {event, delivered}, the webhook queue; createdAt is
 *   when it was queued.
 */
import { and, eq } from "drizzle-orm";

import { simulatedObjects } from "@/drizzle/schema";
import type { Clock } from "@/server/clock";
import type { Db } from "@/server/db/client";

import { cardLabel } from "./cards";

import type {
  GatewayCheckoutSession,
  GatewayDispute,
  GatewayPayment,
  GatewayRefundRecord,
  GatewayWindow,
} from "./gateway";

type Data = Record<string, unknown>;

async function storedObject(
  db: Db,
  id: string,
  type: (typeof simulatedObjects.$inferSelect)["type"],
): Promise<Data | null> {
  const [row] = await db
    .select({ data: simulatedObjects.data })
    .from(simulatedObjects)
    .where(and(eq(simulatedObjects.id, id), eq(simulatedObjects.type, type)));

  return row?.data ?? null;
}

/** A checkout session, with the card a completed setup session saved; null for an unknown id. */
export async function retrieveCheckoutSession(
  db: Db,
  _clock: Clock,
  sessionId: string,
): Promise<GatewayCheckoutSession | null> {
  const session = await storedObject(db, sessionId, "checkout.session");
  if (!session) return null;

  let setupPaymentMethod: GatewayCheckoutSession["setupPaymentMethod"] = null;
  if (session.mode === "setup" && session.status === "complete") {
    const intent = await storedObject(db, session.setup_intent as string, "setup_intent");
    const method = intent?.payment_method
      ? await storedObject(db, intent.payment_method as string, "payment_method")
      : null;
    const card = method?.card as { brand?: string; last4?: string } | undefined;
    if (method && card?.last4) {
      setupPaymentMethod = { ref: method.id as string, label: cardLabel(card.brand, card.last4) };
    }
  }

  return {
    id: session.id as string,
    mode: session.mode === "setup" ? "setup" : "payment",
    status: session.status as GatewayCheckoutSession["status"],
    paymentStatus: session.payment_status as GatewayCheckoutSession["paymentStatus"],
    customerId: (session.customer as string | null) ?? null,
    paymentIntentId: (session.payment_intent as string | null) ?? null,
    setupPaymentMethod,
    metadata: (session.metadata ?? {}) as Record<string, string>,
  };
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
