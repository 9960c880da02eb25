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
import { and, asc, eq, sql, type SQL } from "drizzle-orm";

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
  db: Db,
  _clock: Clock,
  paymentIntentId: string,
): Promise<GatewayPayment | null> {
  const intent = await objectOf(db, "payment_intent", paymentIntentId);
  if (!intent) return null;

  return paymentOf(intent, await chargeOf(db, intent));
}

/** The payment a charge belongs to: its stored charge object, or the intent naming it. */
export async function retrieveCharge(
  db: Db,
  _clock: Clock,
  chargeId: string,
): Promise<GatewayPayment | null> {
  const charge = await objectOf(db, "charge", chargeId);
  const intentId = typeof charge?.payment_intent === "string" ? charge.payment_intent : null;
  const [intent] = intentId
    ? [await objectOf(db, "payment_intent", intentId)]
    : await objectsWhere(
        db,
        and(
          sql`${simulatedObjects.type} = 'payment_intent'`,
          sql`${simulatedObjects.data}->>'latest_charge' = ${chargeId}`,
        ),
      );
  if (!intent) return null;

  return paymentOf(intent, charge);
}

export async function listPayments(
  db: Db,
  _clock: Clock,
  window: GatewayWindow,
): Promise<GatewayPayment[]> {
  const intents = await objectsWhere(db, createdWithin("payment_intent", window));
  const charges = await chargesById(db, intents);

  return intents.map((intent) =>
    paymentOf(intent, charges.get(String(intent.latest_charge)) ?? null),
  );
}

export async function listRefunds(
  db: Db,
  _clock: Clock,
  window: GatewayWindow,
): Promise<GatewayRefundRecord[]> {
  const refunds = await objectsWhere(db, createdWithin("refund", window));

  return refunds.map((refund) => {
    const status = String(refund.status);
    return {
      refundId: String(refund.id),
      paymentIntentId: stringOrNull(refund.payment_intent),
      chargeId: stringOrNull(refund.charge),
      amountMinor: Number(refund.amount),
      currency: String(refund.currency).toUpperCase(),
      status:
        status === "succeeded" || status === "failed" || status === "canceled" ? status : "pending",
      metadata: (refund.metadata ?? {}) as Record<string, string>,
      createdAt: fromUnix(refund.created),
    };
  });
}

export async function listDisputes(
  db: Db,
  _clock: Clock,
  window: GatewayWindow,
): Promise<GatewayDispute[]> {
  const disputes = await objectsWhere(db, createdWithin("dispute", window));

  return disputes.map((dispute) => ({
    disputeId: String(dispute.id),
    chargeId: String(dispute.charge ?? ""),
    paymentIntentId: stringOrNull(dispute.payment_intent),
    amountMinor: Number(dispute.amount),
    currency: String(dispute.currency).toUpperCase(),
    status: String(dispute.status),
    reason: stringOrNull(dispute.reason),
    createdAt: fromUnix(dispute.created),
  }));
}

/**
 * Objects of one type whose Stripe `created` (unix seconds, from the
 * gateway's clock) falls in [since, until), oldest first.
 */
function createdWithin(type: string, window: GatewayWindow): SQL | undefined {
  const created = sql`(${simulatedObjects.data}->>'created')::bigint`;

  return and(
    sql`${simulatedObjects.type} = ${type}`,
    sql`${created} >= ${Math.ceil(window.since.getTime() / 1000)}`,
    sql`${created} < ${Math.ceil(window.until.getTime() / 1000)}`,
  );
}

async function objectsWhere(db: Db, where: SQL | undefined): Promise<Data[]> {
  const rows = await db
    .select({ data: simulatedObjects.data })
    .from(simulatedObjects)
    .where(where)
    .orderBy(asc(sql`(${simulatedObjects.data}->>'created')::bigint`), asc(simulatedObjects.id));

  return rows.map((row) => row.data);
}

async function objectOf(db: Db, type: string, id: string): Promise<Data | null> {
  const [row] = await db
    .select({ data: simulatedObjects.data })
    .from(simulatedObjects)
    .where(and(eq(simulatedObjects.id, id), sql`${simulatedObjects.type} = ${type}`));

  return row?.data ?? null;
}

async function chargeOf(db: Db, intent: Data): Promise<Data | null> {
  return typeof intent.latest_charge === "string"
    ? objectOf(db, "charge", intent.latest_charge)
    : null;
}

async function chargesById(db: Db, intents: Data[]): Promise<Map<string, Data>> {
  const ids = intents.flatMap((intent) =>
    typeof intent.latest_charge === "string" ? [intent.latest_charge] : [],
  );
  if (ids.length === 0) return new Map();
  const charges = await objectsWhere(
    db,
    and(
      sql`${simulatedObjects.type} = 'charge'`,
      sql`${simulatedObjects.id} in (${sql.join(
        ids.map((id) => sql`${id}`),
        sql`, `,
      )})`,
    ),
  );

  return new Map(charges.map((charge) => [String(charge.id), charge]));
}

/** A stored payment intent as the gateway interface reports it; refunds counted on its charge. */
function paymentOf(intent: Data, charge: Data | null): GatewayPayment {
  return {
    paymentIntentId: String(intent.id),
    chargeId: stringOrNull(intent.latest_charge) ?? stringOrNull(charge?.id),
    customerId: stringOrNull(intent.customer),
    status: intentStatus(intent),
    amountMinor: Number(intent.amount),
    amountReceivedMinor: Number(intent.amount_received ?? 0),
    amountRefundedMinor: Number(charge?.amount_refunded ?? intent.amount_refunded ?? 0),
    currency: String(intent.currency).toUpperCase(),
    metadata: (intent.metadata ?? {}) as Record<string, string>,
    createdAt: fromUnix(intent.created),
  };
}

function intentStatus(intent: Data): GatewayPayment["status"] {
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

function stringOrNull(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

function fromUnix(seconds: unknown): Date {
  return new Date(Number(seconds) * 1000);
}
