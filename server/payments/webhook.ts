import Stripe from "stripe";
import { z } from "zod";

import { stripeEvents } from "@/drizzle/schema";
import { defineCommand } from "@/server/commands";
import { AppError } from "@/server/errors";
import { event } from "@/server/events/catalogue";

/**
 * How far a Stripe-Signature timestamp may be from the wall clock, either
 * way: older is a replay, newer is a signature made ahead of time (or a
 * sender whose clock is wrong), both refused. Stripe's own default.
 */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** The header's signing time (its last `t=`, as Stripe reads it), in unix seconds. */
function signedAt(signature: string): number | null {
  let timestamp: number | null = null;
  for (const item of signature.split(",")) {
    const [key, value] = item.split("=");
    if (key?.trim() === "t" && value && /^\d+$/.test(value.trim())) timestamp = Number(value);
  }

  return timestamp;
}

/**
 * Checks a webhook's Stripe-Signature header against the raw body, exactly
 * as received (any re-serialisation would break the signature), and its
 * timestamp against the wall clock (not the domain clock, which tests and
 * time travel move). The simulated gateway signs its events the same way
 * with the same secret and the real time.
 */
export function verifyStripeEvent(
  rawBody: string,
  signature: string | null,
  secret: string,
): Record<string, unknown> {
  if (!signature) {
    throw new AppError("invalid_request", "Missing Stripe-Signature header", {
      field: "Stripe-Signature",
    });
  }
  const verifier = Stripe.webhooks.signature;
  if (!verifier) throw new Error("This Stripe SDK build cannot verify webhook signatures");
  try {
    verifier.verifyHeader(rawBody, signature, secret, SIGNATURE_TOLERANCE_SECONDS);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new AppError("invalid_request", `Webhook signature verification failed: ${reason}`, {
      field: "Stripe-Signature",
    });
  }
  // The SDK only refuses signatures that are too old; one from the future is refused here.
  const timestamp = signedAt(signature);
  const ahead = timestamp === null ? 0 : timestamp - Math.floor(Date.now() / 1000);
  if (ahead > SIGNATURE_TOLERANCE_SECONDS) {
    throw new AppError(
      "invalid_request",
      `Webhook signature timestamp is ${ahead} seconds in the future; at most ` +
        `${SIGNATURE_TOLERANCE_SECONDS} are allowed`,
      { field: "Stripe-Signature" },
    );
  }
  let payload: unknown;
  try {
    payload = JSON.parse(rawBody);
  } catch {
    throw new AppError("invalid_request", "The signed body is not valid JSON");
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    throw new AppError("invalid_request", "The webhook body is not a Stripe event object");
  }

  return payload as Record<string, unknown>;
}

const storedEvent = z.object({
  id: z.string().min(1).max(255),
  type: z.string().min(1).max(255),
  api_version: z.string().nullable().optional(),
  livemode: z.boolean().default(false),
  created: z.number().int().optional(),
});

/**
 * Stores a verified webhook event once by its id and hands it to the event
 * backbone, which processes it with retries and dead letters. A duplicate
 * delivery finds the row and changes nothing. Unknown types are stored and
 * acknowledged like any other.
 */
export const receiveStripeEvent = defineCommand({
  name: "payments.receiveStripeEvent",
  input: z.object({ payload: z.record(z.string(), z.unknown()) }),
  async run({ tx, clock }, { payload }) {
    const parsed = storedEvent.safeParse(payload);
    if (!parsed.success) {
      throw new AppError("invalid_request", "The webhook body is not a Stripe event object");
    }
    const stripeEvent = parsed.data;

    const inserted = await tx
      .insert(stripeEvents)
      .values({
        id: stripeEvent.id,
        type: stripeEvent.type,
        apiVersion: stripeEvent.api_version ?? null,
        livemode: stripeEvent.livemode,
        payload,
        receivedAt: clock.now(),
      })
      .onConflictDoNothing()
      .returning({ id: stripeEvents.id });
    const duplicate = inserted.length === 0;

    return {
      result: { received: true, duplicate, id: stripeEvent.id },
      events: duplicate
        ? []
        : [
            event("payments/webhook-received", {
              stripeEventId: stripeEvent.id,
              type: stripeEvent.type,
            }),
          ],
      audit: duplicate ? false : { stripeEventId: stripeEvent.id, type: stripeEvent.type },
    };
  },
});
