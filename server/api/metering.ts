import { execute } from "@/server/commands";
import { balanceSummary } from "@/server/credits/queries";
import { consumeCredits, type ConsumeResult } from "@/server/credits/consume";
import { AppError, isAppError } from "@/server/errors";
import type { Runtime } from "@/server/runtime";
import { authenticateApiKey } from "@/server/workspaces/api-keys";

import { errorResponse, json, readJsonObject, requestIdOf } from "./http";

/**
 * The metering API under /api/v1, as a plain `Request → Response` function
 * so it can be served by a Next route handler or by a lean HTTP server.
 *
 *   POST /api/v1/usage     consume credits for one feature call (Idempotency-Key required)
 *   GET  /api/v1/balance   the workspace's balance
 *
 * Authentication is `Authorization: Bearer <API key>`; the key decides the
 * workspace. Errors are `{ error: { code, message, field? } }` with the
 * status from server/errors.ts.
 */
/** The API's names for the command's fields, in errors: `field` names what the caller sent. */
const apiNames: Record<string, string> = {
  featureCode: "feature",
  idempotencyKey: "Idempotency-Key",
};

function inApiTerms(error: unknown): unknown {
  if (!isAppError(error)) return error;
  const rename = (text: string) =>
    text.replace(/\b(featureCode|idempotencyKey)\b/g, (name) => apiNames[name] ?? name);

  return new AppError(error.code, rename(error.message), {
    field: error.field ? (apiNames[error.field] ?? error.field) : undefined,
    details: error.details,
    cause: error,
  });
}

function bearer(request: Request): string | null {
  const header = request.headers.get("authorization");
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);

  return match?.[1] ?? null;
}

function usageJson(result: ConsumeResult) {
  return {
    allowed: result.allowed,
    usageId: result.usageRecordId,
    feature: result.featureCode,
    units: result.units,
    credits: result.credits,
    balance: result.balance,
    replayed: result.replayed,
  };
}

async function postUsage(runtime: Runtime, request: Request, requestId: string): Promise<Response> {
  const principal = await authenticateApiKey(runtime.db, runtime.clock, bearer(request));
  const idempotencyKey = request.headers.get("idempotency-key");
  if (!idempotencyKey || idempotencyKey.trim() === "") {
    throw new AppError(
      "invalid_request",
      "Send an Idempotency-Key header so a retried call is not charged twice",
      {
        field: "Idempotency-Key",
      },
    );
  }
  const body = await readJsonObject(request);

  // The command validates the body's values; its errors are renamed to the API's field names.
  const result = await execute(
    runtime,
    consumeCredits,
    {
      workspaceId: principal.workspaceId,
      featureCode: body.feature as string,
      inputBytes: body.inputBytes as number,
      idempotencyKey: idempotencyKey.trim(),
    },
    {
      actor: { type: "api_key", apiKeyId: principal.apiKeyId },
      requestId,
      log: runtime.logger.child({
        requestId,
        workspaceId: principal.workspaceId,
        apiKeyId: principal.apiKeyId,
      }),
    },
  ).catch((error: unknown) => {
    throw inApiTerms(error);
  });
  const headers: Record<string, string> = { "x-request-id": requestId };
  if (result.replayed) headers["idempotent-replayed"] = "true";

  if (!result.allowed) {
    const refusal = new AppError(
      "insufficient_credits",
      `Not enough credits: this call needs ${result.credits.toLocaleString("en-US")} and the ` +
        `balance is ` +
        `${result.balance.toLocaleString("en-US")}`,
    );
    return json(
      {
        ...usageJson(result),
        required: result.credits,
        error: { code: refusal.code, message: refusal.message },
      },
      402,
      headers,
    );
  }

  return json(usageJson(result), 200, headers);
}

async function getBalance(
  runtime: Runtime,
  request: Request,
  requestId: string,
): Promise<Response> {
  const principal = await authenticateApiKey(runtime.db, runtime.clock, bearer(request));
  const summary = await balanceSummary(runtime.db, principal.workspaceId);

  return json(
    {
      balance: summary.balance,
      lowBalanceThreshold: summary.threshold,
      belowThreshold: summary.belowThreshold,
    },
    200,
    { "x-request-id": requestId },
  );
}

const routes: Record<string, Partial<Record<string, typeof postUsage>>> = {
  "/api/v1/usage": { POST: postUsage },
  "/api/v1/balance": { GET: getBalance },
};

export async function handleMeteringRequest(runtime: Runtime, request: Request): Promise<Response> {
  const requestId = requestIdOf(request);
  const path = new URL(request.url).pathname.replace(/\/+$/, "");
  try {
    const route = routes[path];
    if (!route)
      throw new AppError("not_found", `No endpoint ${path}; see the README for the metering API`);
    const handler = route[request.method];
    if (!handler) {
      throw new AppError("method_not_allowed", `${path} accepts ${Object.keys(route).join(", ")}`);
    }

    return await handler(runtime, request, requestId);
  } catch (error) {
    if (isAppError(error)) {
      if (error.httpStatus >= 500)
        runtime.logger.error({ err: error, requestId }, "metering request failed");
      return errorResponse(error, requestId);
    }
    runtime.logger.error({ err: error, requestId, path }, "metering request failed");

    return errorResponse(
      new AppError("internal", "Something went wrong on our side; it was logged"),
      requestId,
    );
  }
}
