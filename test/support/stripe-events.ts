import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";

import { eq, sql } from "drizzle-orm";
import Stripe from "stripe";

import { creditPurchases, reactionRuns, stripeEvents } from "@/drizzle/schema";
import { handleStripeWebhook } from "@/server/payments/webhook-route";
import type { Runtime } from "@/server/runtime";

import { TEST_WEBHOOK_SECRET } from "./runtime";

/**
 * Webhook events for tests, built from the real captured events in
 * test/fixtures/stripe (top level), re-addressed to a test's own objects:
 * a new event id, and the fields that tie the object to a purchase.
 */
export type Fixture =
  | "checkout.session.completed"
  | "payment_intent.succeeded"
  | "payment_intent.payment_failed"
  | "charge.refunded"
  | "charge.dispute.created"
  | "invoice.finalized"
  | "invoice.paid"
  | "invoice.payment_failed"
  | "invoice.payment_succeeded"
  | "customer.subscription.created"
  | "customer.subscription.updated"
  | "customer.subscription.deleted";

/** Every top-level fixture, for tests that deliver them all. */
export const fixtures: readonly Fixture[] = [
  "checkout.session.completed",
  "payment_intent.succeeded",
  "payment_intent.payment_failed",
  "charge.refunded",
  "charge.dispute.created",
  "invoice.finalized",
  "invoice.paid",
  "invoice.payment_failed",
  "invoice.payment_succeeded",
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
];

export type StripeEventBody = Record<string, unknown> & {
  id: string;
  type: string;
  data: { object: Record<string, unknown> };
};

export function eventFrom(
  fixture: Fixture,
  changes: { type?: string; object: Record<string, unknown> },
): StripeEventBody {
  const file = path.resolve("test/fixtures/stripe", `${fixture}.json`);
  const event = JSON.parse(readFileSync(file, "utf8")) as StripeEventBody;

  return {
    ...event,
    id: `evt_test_${randomBytes(10).toString("hex")}`,
    type: changes.type ?? event.type,
    data: { ...event.data, object: { ...event.data.object, ...changes.object } },
  };
}

export interface PurchaseRef {
  id: string;
  workspaceId: string;
  checkoutSessionId: string | null;
  amountMinor: number;
  currency: string;
}

export async function purchaseRef(runtime: Runtime, purchaseId: string): Promise<PurchaseRef> {
  const [row] = await runtime.db
    .select()
    .from(creditPurchases)
    .where(eq(creditPurchases.id, purchaseId));
  if (!row) throw new Error(`No purchase ${purchaseId}`);

  return row;
}

const metadataOf = (purchase: PurchaseRef) => ({
  purchase_id: purchase.id,
  workspace_id: purchase.workspaceId,
});

/** checkout.session.completed for a purchase's session, paid with `paymentIntentId`. */
export function sessionCompleted(purchase: PurchaseRef, paymentIntentId: string): StripeEventBody {
  return eventFrom("checkout.session.completed", {
    object: {
      id: purchase.checkoutSessionId,
      client_reference_id: purchase.id,
      metadata: metadataOf(purchase),
      payment_intent: paymentIntentId,
      amount_subtotal: purchase.amountMinor,
      amount_total: purchase.amountMinor,
      currency: purchase.currency.toLowerCase(),
    },
  });
}

export function sessionExpired(purchase: PurchaseRef): StripeEventBody {
  return eventFrom("checkout.session.completed", {
    type: "checkout.session.expired",
    object: {
      id: purchase.checkoutSessionId,
      client_reference_id: purchase.id,
      metadata: metadataOf(purchase),
      payment_intent: null,
      payment_status: "unpaid",
      status: "expired",
    },
  });
}

export function intentSucceeded(
  purchase: PurchaseRef,
  paymentIntentId: string,
  amountMinor = purchase.amountMinor,
): StripeEventBody {
  return eventFrom("payment_intent.succeeded", {
    object: {
      id: paymentIntentId,
      metadata: metadataOf(purchase),
      amount: amountMinor,
      amount_received: amountMinor,
      currency: purchase.currency.toLowerCase(),
    },
  });
}

export function intentFailed(purchase: PurchaseRef, paymentIntentId: string): StripeEventBody {
  return eventFrom("payment_intent.payment_failed", {
    object: {
      id: paymentIntentId,
      metadata: metadataOf(purchase),
      amount: purchase.amountMinor,
      currency: purchase.currency.toLowerCase(),
    },
  });
}

/** payment_intent.succeeded naming the charge that took the money (current API: latest_charge). */
export function intentSucceededWithCharge(
  purchase: PurchaseRef,
  paymentIntentId: string,
  chargeId: string,
): StripeEventBody {
  const body = intentSucceeded(purchase, paymentIntentId);
  body.data.object.latest_charge = chargeId;
  body.data.object.charges = { object: "list", data: [], has_more: false };

  return body;
}

export interface RefundOnCharge {
  id: string;
  amountMinor: number;
  status?: "succeeded" | "pending" | "failed";
  metadata?: Record<string, string>;
}

/**
 * charge.refunded for a charge of `amountMinor`, listing `refunds` (or, with
 * `listed: false`, only their total, as an event that leaves the list out).
 */
export function chargeRefunded(
  charge: {
    chargeId: string;
    paymentIntentId: string | null;
    amountMinor: number;
    currency: string;
  },
  refunds: RefundOnCharge[],
  options: { listed?: boolean } = {},
): StripeEventBody {
  const refunded = refunds
    .filter((refund) => refund.status !== "failed")
    .reduce((sum, refund) => sum + refund.amountMinor, 0);
  const data = refunds.map((refund) => ({
    id: refund.id,
    object: "refund",
    amount: refund.amountMinor,
    charge: charge.chargeId,
    currency: charge.currency.toLowerCase(),
    metadata: refund.metadata ?? {},
    payment_intent: charge.paymentIntentId,
    status: refund.status ?? "succeeded",
  }));

  return eventFrom("charge.refunded", {
    object: {
      id: charge.chargeId,
      amount: charge.amountMinor,
      amount_captured: charge.amountMinor,
      amount_refunded: refunded,
      currency: charge.currency.toLowerCase(),
      payment_intent: charge.paymentIntentId,
      refunded: refunded === charge.amountMinor,
      refunds:
        options.listed === false
          ? null
          : { object: "list", data, has_more: false, total_count: data.length },
    },
  });
}

/** A refund object's own event (refund.updated, refund.failed, charge.refund.updated). */
export function refundEvent(
  type: "refund.updated" | "refund.failed" | "charge.refund.updated",
  refund: RefundOnCharge & { chargeId: string; currency: string; failureReason?: string },
): StripeEventBody {
  const body = eventFrom("charge.refunded", { type, object: {} });
  body.data = {
    object: {
      id: refund.id,
      object: "refund",
      amount: refund.amountMinor,
      charge: refund.chargeId,
      currency: refund.currency.toLowerCase(),
      metadata: refund.metadata ?? {},
      status: refund.status ?? "succeeded",
      failure_reason: refund.failureReason ?? null,
    },
  };

  return body;
}

/** A dispute event (created, updated, closed) for a charge, in the gateway's `status`. */
export function disputeEvent(
  type: "charge.dispute.created" | "charge.dispute.updated" | "charge.dispute.closed",
  dispute: {
    id: string;
    chargeId: string;
    paymentIntentId?: string | null;
    amountMinor: number;
    currency: string;
    status: string;
  },
): StripeEventBody {
  return eventFrom("charge.dispute.created", {
    type,
    object: {
      id: dispute.id,
      charge: dispute.chargeId,
      payment_intent: dispute.paymentIntentId ?? null,
      amount: dispute.amountMinor,
      currency: dispute.currency.toLowerCase(),
      status: dispute.status,
    },
  });
}

/** Signs an event with the test webhook secret and posts it to the webhook route's handler. */
export async function deliver(runtime: Runtime, event: Record<string, unknown>) {
  const body = JSON.stringify(event);
  const response = await handleStripeWebhook(
    runtime,
    new Request("http://localhost/api/stripe/webhook", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "stripe-signature": Stripe.webhooks.generateTestHeaderString({
          payload: body,
          secret: TEST_WEBHOOK_SECRET,
        }),
      },
      body,
    }),
  );

  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/**
 * Whether a delivered event was refused: null once it is processed, else the
 * error its reaction last failed with (the backbone retries it, then keeps it
 * as a dead letter for an admin).
 */
export async function refusalOf(runtime: Runtime, stripeEventId: string): Promise<string | null> {
  const [stored] = await runtime.db
    .select({ processedAt: stripeEvents.processedAt })
    .from(stripeEvents)
    .where(eq(stripeEvents.id, stripeEventId));
  if (!stored) throw new Error(`Event ${stripeEventId} was not stored`);
  if (stored.processedAt) return null;
  const [run] = await runtime.db
    .select({ lastError: reactionRuns.lastError })
    .from(reactionRuns)
    .where(sql`${reactionRuns.event}->'data'->>'stripeEventId' = ${stripeEventId}`);

  return run?.lastError ?? "not processed";
}
