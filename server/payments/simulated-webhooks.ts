import { createHmac } from "node:crypto";

import { systemClock } from "@/server/clock";
import type { Runtime } from "@/server/runtime";

import type { SimulatedEvent, WebhookSink } from "./simulated";
import { handleStripeWebhook } from "./webhook-route";

/** A Stripe-Signature header for a raw body: `t=<unix seconds>,v1=<HMAC-SHA256 of "t.body">`. */
export function stripeSignature(rawBody: string, secret: string, timestamp: number): string {
  const signature = createHmac("sha256", secret).update(`${timestamp}.${rawBody}`).digest("hex");

  return `t=${timestamp},v1=${signature}`;
}

/**
 * The simulated gateway's webhooks: each event is signed with the webhook
 * secret and handed to the same handler that serves POST
 * /api/stripe/webhook, so simulated payments are verified, stored once and
 * processed exactly as Stripe's are.
 */
export function simulatedWebhookSink(runtime: Runtime): WebhookSink {
  return async (event: SimulatedEvent) => {
    const body = JSON.stringify(event);
    // The route checks a signature's age against the wall clock, whatever the domain clock says.
    const timestamp = Math.floor(systemClock.now().getTime() / 1000);
    const response = await handleStripeWebhook(
      runtime,
      new Request(`${runtime.env.APP_URL}/api/stripe/webhook`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "stripe-signature": stripeSignature(body, runtime.secrets.webhookSecret, timestamp),
        },
        body,
      }),
    );
    if (response.status !== 200) {
      throw new Error(
        `The webhook route refused simulated event ${event.id} (${event.type}): ` +
          `${response.status} ${await response.text()}`,
      );
    }
  };
}
