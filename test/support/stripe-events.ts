import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";

import { eq } from "drizzle-orm";
import Stripe from "stripe";

import { creditPurchases } from "@/drizzle/schema";
import { handleStripeWebhook } from "@/server/payments/webhook-route";
import type { Runtime } from "@/server/runtime";

import { TEST_WEBHOOK_SECRET } from "./runtime";

/**
 * Webhook events for tests, built from the real captured events in
 * test/fixtures/stripe (top level), re-addressed to a test's own objects:
 * a new event id, and the fields that tie the object to a purchase.
 */
type Fixture =
  "checkout.session.completed" | "payment_intent.succeeded" | "payment_intent.payment_failed";

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
