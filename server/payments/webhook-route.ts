import { errorResponse, json, readText, requestIdOf } from "@/server/api/http";
import { execute } from "@/server/commands";
import { AppError, isAppError } from "@/server/errors";
import type { Runtime } from "@/server/runtime";

import { receiveStripeEvent, verifyStripeEvent } from "./webhook";

/**
 * POST /api/stripe/webhook. Stripe (or the simulated gateway) posts events
 * here. The signature is checked on the raw body; each event is stored once
 * by its id and then processed by the event backbone, so this answers fast
 * and a processing failure is retried there rather than by Stripe.
 *
 *   200 {received, duplicate, id}   stored now, or already stored earlier
 *   400 invalid_request             missing or wrong signature, body not an event
 *   413 payload_too_large           a body over 1 MiB
 *   500 internal                    not stored; Stripe retries
 */
export async function handleStripeWebhook(runtime: Runtime, request: Request): Promise<Response> {
  const requestId = requestIdOf(request);
  const log = runtime.logger.child({ requestId, route: "stripe-webhook" });
  try {
    // Stripe's events are a few KiB; 1 MiB leaves room without letting anyone fill memory.
    const rawBody = await readText(request, 1024 * 1024);
    const payload = verifyStripeEvent(
      rawBody,
      request.headers.get("stripe-signature"),
      runtime.secrets.webhookSecret,
    );
    const result = await execute(
      runtime,
      receiveStripeEvent,
      { payload },
      { actor: { type: "system", reason: "stripe webhook" }, requestId, log },
    );
    if (result.duplicate)
      log.warn({ stripeEventId: result.id }, "duplicate webhook event acknowledged");

    return json(result, 200, { "x-request-id": requestId });
  } catch (error) {
    if (isAppError(error)) {
      log.warn({ code: error.code, reason: error.message }, "webhook refused");
      return errorResponse(error, requestId);
    }
    log.error({ err: error }, "webhook could not be stored");

    return errorResponse(
      new AppError("internal", "The event could not be stored; Stripe will retry"),
      requestId,
    );
  }
}
