import { randomUUID } from "node:crypto";

import { and, eq, sql } from "drizzle-orm";
import type { z } from "zod";

import { creditBalances, creditHolds, tiers, workspaces, type TierFeature } from "@/drizzle/schema";
import type { Actor } from "@/server/actor";
import { execute } from "@/server/commands";
import type { ConsumeResult } from "@/server/credits/consume";
import {
  commitConsumptions,
  GroupCommit,
  type ConsumptionOutcome,
  type ConsumptionRequest,
} from "@/server/credits/group-commit";
import { finalizeHold, placeHold, releaseHold, type HoldView } from "@/server/credits/holds";
import type { Db } from "@/server/db/client";
import { inactiveWorkspaceError } from "@/server/auth/access";
import { AppError, isAppError } from "@/server/errors";
import type { Logger } from "@/server/logger";
import type { Runtime } from "@/server/runtime";
import { findUnstorableText } from "@/server/text";
import { ApiKeyCache, type ApiKeyPrincipal } from "@/server/workspaces/api-keys";
import { featureNotInTier, tierHasFeature } from "@/server/workspaces/tiers";

import { readText } from "./http";
import { openApiDocument } from "./openapi";
import { RateLimiter } from "./rate-limit";
import {
  batchRequest,
  finalizeRequest,
  holdRequest,
  idempotencyKeyHeader,
  usageRequest,
  type ApiErrorBody,
  type ApiScope,
  type BalanceResult,
  type BatchItemResult,
  type BatchResult,
  type HoldResult,
  type UsageRefusal,
  type UsageResult,
} from "./schemas";

/**
 * The metering API under /api/v1, free of any HTTP framework: `handle` takes
 * an ApiRequest and returns an ApiResponse. The lean node:http server
 * (server.ts) serves it, and the Next route handler app/api/v1 uses it as a
 * fallback through `handleMeteringRequest`. The endpoints, their schemas and
 * examples are in openapi.ts and schemas.ts.
 *
 * Every call but GET /openapi.json needs `Authorization: Bearer <API key>`;
 * the key decides the workspace, its scopes the endpoints, and its token
 * bucket how often (429 with Retry-After past the limit). Errors are
 * `{ error: { code, message, field?, details } }` with the status from
 * server/errors.ts.
 */

export interface ApiRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  /** A request header by its lower-case name. */
  header(name: string): string | undefined;
  /** The body as text; payload_too_large past `limit` bytes. */
  text(limit: number): Promise<string>;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Bodies of single calls are small; a batch of a thousand calls needs more. */
export const BODY_LIMIT = 64 * 1024;
export const BATCH_BODY_LIMIT = 1024 * 1024;

interface Call {
  request: ApiRequest;
  requestId: string;
  principal: ApiKeyPrincipal;
  actor: Actor;
  params: string[];
}

type Handler = (api: MeteringApi, call: Call) => Promise<ApiResponse>;

interface Operation {
  /** The scope the key needs; null for the public document. */
  scope: ApiScope | null;
  /** The tier feature the endpoint belongs to, checked against the key's cached tier. */
  feature?: TierFeature;
  run: Handler;
}

interface Route {
  pattern: RegExp;
  methods: Partial<Record<"GET" | "POST", Operation>>;
}

/** The API's names for the commands' fields, in errors: `field` names what the caller sent. */
const apiNames: Record<string, string> = {
  featureCode: "feature",
  idempotencyKey: "Idempotency-Key",
};

function inApiTerms(error: AppError, names: Record<string, string> = apiNames): AppError {
  const rename = (text: string) =>
    text.replace(/\b(featureCode|idempotencyKey)\b/g, (name) => names[name] ?? name);

  return new AppError(error.code, rename(error.message), {
    field: error.field ? (names[error.field] ?? error.field) : undefined,
    details: error.details,
    cause: error,
  });
}

function errorOf(error: AppError): ApiErrorBody["error"] {
  return {
    code: error.code,
    message: error.message,
    ...(error.field ? { field: error.field } : {}),
    details: error.details ?? {},
  };
}

function json(status: number, body: unknown, requestId: string, headers = {}): ApiResponse {
  return { status, body, headers: { "x-request-id": requestId, ...headers } };
}

function errorResponse(error: AppError, requestId: string, headers = {}): ApiResponse {
  return json(error.httpStatus, { error: errorOf(error) }, requestId, headers);
}

/** A zod failure as one invalid_request naming the first problem's field in the API's terms. */
function invalid(error: z.ZodError): AppError {
  const issue = error.issues[0];

  return inApiTerms(
    new AppError("invalid_request", issue?.message ?? "Invalid request", {
      field: issue && issue.path.length > 0 ? issue.path.join(".") : undefined,
    }),
  );
}

function unstorable(value: unknown): AppError | undefined {
  const problem = findUnstorableText(value);
  if (!problem) return undefined;

  return new AppError("invalid_request", `${problem.path || "The body"} ${problem.message}`, {
    field: problem.path || undefined,
  });
}

async function readJson(request: ApiRequest, limit: number): Promise<unknown> {
  const text = await request.text(limit);
  if (text.trim() === "") {
    throw new AppError("invalid_request", "The body is empty; send a JSON object");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AppError("invalid_request", "The body is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new AppError("invalid_request", "The body must be a JSON object");
  }

  return parsed;
}

function idempotencyKeyOf(request: ApiRequest): string {
  const parsed = idempotencyKeyHeader.safeParse(request.header("idempotency-key"));
  const message = parsed.success
    ? findUnstorableText(parsed.data)?.message
    : parsed.error.issues[0]?.message;
  if (!parsed.success || message) {
    throw new AppError(
      "invalid_request",
      parsed.success ? `The Idempotency-Key ${message}` : (message ?? "Bad Idempotency-Key"),
      { field: "Idempotency-Key" },
    );
  }

  return parsed.data;
}

function usageFields(result: ConsumeResult) {
  return {
    usageId: result.usageRecordId,
    feature: result.featureCode,
    units: result.units,
    credits: result.credits,
    overageCredits: result.overageCredits,
    balance: result.balance,
    replayed: result.replayed,
  };
}

function refusalError(result: ConsumeResult): AppError {
  return new AppError(
    "insufficient_credits",
    `Not enough credits: this call needs ${result.credits.toLocaleString("en-US")} and the ` +
      `balance is ${result.balance.toLocaleString("en-US")}`,
  );
}

function usageResponse(result: ConsumeResult, requestId: string): ApiResponse {
  const headers = result.replayed ? { "idempotent-replayed": "true" } : {};
  if (!result.allowed) {
    const body: UsageRefusal = {
      allowed: false,
      ...usageFields(result),
      required: result.credits,
      error: errorOf(refusalError(result)),
    };

    return json(402, body, requestId, headers);
  }
  const body: UsageResult = { allowed: true, ...usageFields(result) };

  return json(200, body, requestId, headers);
}

const postUsage: Handler = async (api, { request, requestId, principal, actor }) => {
  const idempotencyKey = idempotencyKeyOf(request);
  const parsed = usageRequest.safeParse(await readJson(request, BODY_LIMIT));
  if (!parsed.success) throw invalid(parsed.error);
  const problem = unstorable(parsed.data);
  if (problem) throw problem;

  const result = await api.groupCommit.consume({
    workspaceId: principal.workspaceId,
    featureCode: parsed.data.feature,
    inputBytes: parsed.data.inputBytes,
    idempotencyKey,
    actor,
    requestId,
  });

  return usageResponse(result, requestId);
};

function batchItemResult(
  index: number,
  idempotencyKey: string,
  outcome: ConsumptionOutcome,
): BatchItemResult {
  if (!outcome.ok) {
    const error = isAppError(outcome.error)
      ? inApiTerms(outcome.error, { ...apiNames, "Idempotency-Key": "idempotencyKey" })
      : new AppError("internal", "Something went wrong on our side; it was logged");

    return { index, idempotencyKey, status: "error", error: errorOf(error) };
  }
  const { result } = outcome;
  const status = result.replayed ? "duplicate" : result.allowed ? "consumed" : "refused";

  return { index, idempotencyKey, status, allowed: result.allowed, ...usageFields(result) };
}

const postBatch: Handler = async (api, { request, requestId, principal, actor }) => {
  const parsed = batchRequest.safeParse(await readJson(request, BATCH_BODY_LIMIT));
  if (!parsed.success) {
    // Every bad item is listed, so a caller can fix them all at once.
    const items: { index: number; field?: string; message: string }[] = [];
    for (const issue of parsed.error.issues) {
      const [head, index, field] = issue.path;
      if (head === "items" && typeof index === "number") {
        items.push({ index, ...(field ? { field: String(field) } : {}), message: issue.message });
      }
    }
    if (items.length === 0) throw invalid(parsed.error);
    const error = new AppError(
      "invalid_request",
      `${new Set(items.map((item) => item.index)).size} of the batch's items are invalid ` +
        `(listed in details.items); nothing was consumed`,
      { field: "items", details: { items: items.map((item) => inApiTermsItem(item)) } },
    );
    throw error;
  }
  const problems = parsed.data.items.flatMap((item, index) => {
    const problem = findUnstorableText(item);

    return problem
      ? [{ index, field: problem.path, message: `${problem.path} ${problem.message}` }]
      : [];
  });
  if (problems.length > 0) {
    throw new AppError(
      "invalid_request",
      `${problems.length} of the batch's items hold text that cannot be stored (listed in ` +
        `details.items); nothing was consumed`,
      { field: "items", details: { items: problems } },
    );
  }

  const items = parsed.data.items;
  const outcomes = await commitConsumptions(
    api.runtime,
    items.map((item): ConsumptionRequest => ({
      workspaceId: principal.workspaceId,
      featureCode: item.feature,
      inputBytes: item.inputBytes,
      idempotencyKey: item.idempotencyKey,
      actor,
      requestId,
    })),
    api.log,
  );
  const results = outcomes.map((outcome, index) =>
    batchItemResult(index, items[index]!.idempotencyKey, outcome),
  );
  const summary = { consumed: 0, refused: 0, duplicate: 0, error: 0 };
  for (const result of results) summary[result.status]++;
  const body: BatchResult = { results, summary };

  return json(200, body, requestId);
};

function inApiTermsItem(item: { index: number; field?: string; message: string }) {
  const message = item.message.replace(/\bfeatureCode\b/g, "feature");

  return { ...item, message };
}

async function balanceOf(db: Db, workspaceId: string) {
  const [row] = await db
    .select({
      balance: creditBalances.balance,
      belowThreshold: creditBalances.belowThreshold,
      threshold: tiers.lowBalanceThreshold,
      status: workspaces.status,
      held: sql<number>`(SELECT coalesce(sum(${creditHolds.amount}), 0)::int FROM ${creditHolds}
        WHERE ${and(eq(creditHolds.workspaceId, workspaceId), eq(creditHolds.status, "active"))})`,
    })
    .from(creditBalances)
    .innerJoin(workspaces, eq(workspaces.id, creditBalances.workspaceId))
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .where(eq(creditBalances.workspaceId, workspaceId));

  return row;
}

const getBalance: Handler = async (api, { requestId, principal }) => {
  const row = await balanceOf(api.runtime.db, principal.workspaceId);
  if (!row) throw new AppError("not_found", "This workspace has no credit balance yet");
  // The key's workspace status may be a few seconds old; the balance answers from the row itself.
  if (row.status !== "active") {
    throw inactiveWorkspaceError(row.status, "its API keys are refused");
  }
  const body: BalanceResult = {
    balance: row.balance,
    held: row.held,
    lowBalanceThreshold: row.threshold,
    belowThreshold: row.belowThreshold,
  };

  return json(200, body, requestId);
};

function holdResponse(view: HoldView, requestId: string): ApiResponse {
  const body: HoldResult = {
    holdId: view.holdId,
    status: view.status,
    credits: view.credits,
    finalCredits: view.finalCredits,
    feature: view.featureCode,
    expiresAt: view.expiresAt,
    balance: view.balance,
    replayed: view.replayed,
  };

  return json(200, body, requestId, view.replayed ? { "idempotent-replayed": "true" } : {});
}

const HOLD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function holdIdOf(call: Call): string {
  const holdId = call.params[0] ?? "";
  // Hold ids are opaque: anything that is not one is a hold this workspace does not have.
  if (!HOLD_ID.test(holdId))
    throw new AppError("not_found", "No hold with this id in this workspace");

  return holdId;
}

function commandMeta(api: MeteringApi, call: Call) {
  return {
    actor: call.actor,
    requestId: call.requestId,
    log: api.log.child({ requestId: call.requestId, workspaceId: call.principal.workspaceId }),
  };
}

/** A 402 for lack of credits, with `allowed: false` and the balance beside the error. */
function creditsRefusal(error: AppError, requestId: string): ApiResponse {
  const { allowed: _allowed, balance, required, ...details } = error.details ?? {};

  return json(
    402,
    {
      allowed: false,
      balance,
      required,
      error: errorOf(new AppError(error.code, error.message, { field: error.field, details })),
    },
    requestId,
  );
}

const postHold: Handler = async (api, call) => {
  const idempotencyKey = idempotencyKeyOf(call.request);
  const parsed = holdRequest.safeParse(await readJson(call.request, BODY_LIMIT));
  if (!parsed.success) throw invalid(parsed.error);
  try {
    const view = await execute(
      api.runtime,
      placeHold,
      {
        workspaceId: call.principal.workspaceId,
        credits: parsed.data.credits,
        expiresInSeconds: parsed.data.expiresInSeconds,
        featureCode: parsed.data.feature,
        idempotencyKey,
      },
      commandMeta(api, call),
    );

    return holdResponse(view, call.requestId);
  } catch (error) {
    if (isAppError(error) && error.code === "insufficient_credits") {
      return creditsRefusal(error, call.requestId);
    }
    throw error;
  }
};

const postFinalize: Handler = async (api, call) => {
  const holdId = holdIdOf(call);
  const parsed = finalizeRequest.safeParse(await readJson(call.request, BODY_LIMIT));
  if (!parsed.success) throw invalid(parsed.error);
  const view = await execute(
    api.runtime,
    finalizeHold,
    { workspaceId: call.principal.workspaceId, holdId, credits: parsed.data.credits },
    commandMeta(api, call),
  );

  return holdResponse(view, call.requestId);
};

const postRelease: Handler = async (api, call) => {
  const holdId = holdIdOf(call);
  const view = await execute(
    api.runtime,
    releaseHold,
    { workspaceId: call.principal.workspaceId, holdId },
    commandMeta(api, call),
  );

  return holdResponse(view, call.requestId);
};

const routes: Route[] = [
  { pattern: /^\/usage$/, methods: { POST: { scope: "usage:write", run: postUsage } } },
  { pattern: /^\/usage\/batch$/, methods: { POST: { scope: "usage:write", run: postBatch } } },
  { pattern: /^\/balance$/, methods: { GET: { scope: "balance:read", run: getBalance } } },
  {
    pattern: /^\/holds$/,
    methods: { POST: { scope: "usage:write", feature: "holds", run: postHold } },
  },
  {
    pattern: /^\/holds\/([^/]+)\/finalize$/,
    methods: { POST: { scope: "usage:write", feature: "holds", run: postFinalize } },
  },
  {
    pattern: /^\/holds\/([^/]+)\/release$/,
    methods: { POST: { scope: "usage:write", feature: "holds", run: postRelease } },
  },
];

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

function bearer(request: ApiRequest): string | null {
  const match = request.header("authorization")?.match(/^Bearer\s+(\S+)\s*$/i);

  return match?.[1] ?? null;
}

export interface MeteringApiOptions {
  groupCommit?: GroupCommit;
  keys?: ApiKeyCache;
  /** null turns rate limiting off. */
  rateLimiter?: RateLimiter | null;
}

export class MeteringApi {
  readonly groupCommit: GroupCommit;
  readonly keys: ApiKeyCache;
  readonly rateLimiter: RateLimiter | null;
  readonly log: Logger;
  private document: unknown;

  constructor(
    readonly runtime: Runtime,
    options: MeteringApiOptions = {},
  ) {
    this.log = runtime.logger.child({ component: "metering-api" });
    this.groupCommit = options.groupCommit ?? new GroupCommit(runtime);
    this.keys =
      options.keys ??
      new ApiKeyCache(runtime.db, runtime.clock, {
        onError: (error) => this.log.warn({ err: error }, "could not record an API key's last use"),
      });
    this.rateLimiter =
      options.rateLimiter === undefined
        ? new RateLimiter(
            {
              perSecond: runtime.env.TALLY_API_RATE_PER_SECOND,
              burst: runtime.env.TALLY_API_RATE_BURST,
            },
            runtime.clock,
          )
        : options.rateLimiter;
  }

  /** Subscribes the key cache to revocations from other processes. */
  async start(): Promise<void> {
    await this.keys.listen(this.runtime.database.sql);
  }

  /** Waits for queued consumptions to commit. */
  async stop(): Promise<void> {
    await this.groupCommit.settled();
    this.keys.close();
  }

  async handle(request: ApiRequest): Promise<ApiResponse> {
    const incoming = request.header("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const path = request.path.replace(/\/+$/, "");
    // HEAD is GET without the body; node:http leaves the body out of a HEAD answer itself.
    const method = request.method === "HEAD" ? "GET" : request.method;
    try {
      if (!path.startsWith(API_PREFIX)) throw notFound(path);
      const local = path.slice(API_PREFIX.length);
      if (local === "/openapi.json") {
        if (method !== "GET") throw notAllowed(path, ["GET", "HEAD"]);
        this.document ??= openApiDocument();

        return json(200, this.document, requestId, { "cache-control": "public, max-age=300" });
      }
      let params: string[] = [];
      const route = routes.find((candidate) => {
        const match = candidate.pattern.exec(local);
        if (match) params = match.slice(1);

        return match !== null;
      });
      if (!route) throw notFound(path);
      const operation = route.methods[method as "GET" | "POST"];
      if (!operation) {
        const allowed = Object.keys(route.methods);
        throw notAllowed(path, allowed.includes("GET") ? [...allowed, "HEAD"] : allowed);
      }

      const principal = await this.keys.authenticate(bearer(request));
      if (operation.scope && !principal.scopes.includes(operation.scope)) {
        throw new AppError(
          "insufficient_scope",
          `This API key lacks the ${operation.scope} scope`,
          {
            details: { required: operation.scope, granted: principal.scopes },
          },
        );
      }
      if (this.rateLimiter) {
        const decision = this.rateLimiter.take(principal.apiKeyId, principal.tier.rateLimit);
        if (!decision.allowed) {
          const seconds = decision.retryAfterSeconds;
          return errorResponse(
            new AppError(
              "rate_limited",
              `Too many requests for this API key; retry after ${seconds} second${seconds === 1 ? "" : "s"}`,
              { details: { retryAfterSeconds: seconds } },
            ),
            requestId,
            { "retry-after": String(seconds) },
          );
        }
      }
      if (operation.feature && !tierHasFeature(principal.tier, operation.feature)) {
        throw await featureNotInTier(this.runtime.db, principal.tier.name, operation.feature);
      }
      const actor: Actor = { type: "api_key", apiKeyId: principal.apiKeyId };

      return await operation.run(this, { request, requestId, principal, actor, params });
    } catch (error) {
      return this.failure(error, requestId, path);
    }
  }

  private failure(error: unknown, requestId: string, path: string): ApiResponse {
    if (isAppError(error)) {
      if (error.httpStatus >= 500)
        this.log.error({ err: error, requestId, path }, "metering request failed");
      const headers: Record<string, string> =
        error.code === "method_not_allowed" && Array.isArray(error.details?.allowed)
          ? { allow: (error.details.allowed as string[]).join(", ") }
          : {};

      return errorResponse(inApiTerms(error), requestId, headers);
    }
    this.log.error({ err: error, requestId, path }, "metering request failed");

    return errorResponse(
      new AppError("internal", "Something went wrong on our side; it was logged"),
      requestId,
    );
  }
}

const API_PREFIX = "/api/v1";

function notFound(path: string): AppError {
  return new AppError("not_found", `No endpoint ${path}; see ${API_PREFIX}/openapi.json`);
}

function notAllowed(path: string, allowed: string[]): AppError {
  return new AppError("method_not_allowed", `${path} accepts ${allowed.join(", ")}`, {
    details: { allowed },
  });
}

const apis = new WeakMap<Runtime, Promise<MeteringApi>>();

/**
 * The metering API of a runtime, made on first use: one group commit queue,
 * key cache and set of rate-limit buckets per runtime.
 */
export function meteringApiFor(runtime: Runtime): Promise<MeteringApi> {
  let api = apis.get(runtime);
  if (!api) {
    const created = new MeteringApi(runtime);
    api = created.start().then(
      () => created,
      (error: unknown) => {
        // Without the subscription, revocations from other processes would go unnoticed.
        created.log.warn({ err: error }, "no revocation notices; API keys are read on every call");
        created.keys.close();

        return new MeteringApi(runtime, {
          keys: uncachedKeys(runtime),
          groupCommit: created.groupCommit,
        });
      },
    );
    apis.set(runtime, api);
  }

  return api;
}

function uncachedKeys(runtime: Runtime): ApiKeyCache {
  return new ApiKeyCache(runtime.db, runtime.clock, { ttlMs: 0 });
}

/** The API for a Fetch API request (the Next route handler, tests). */
export async function handleMeteringRequest(runtime: Runtime, request: Request): Promise<Response> {
  const api = await meteringApiFor(runtime);
  const url = new URL(request.url);
  const response = await api.handle({
    method: request.method,
    path: url.pathname,
    header: (name) => request.headers.get(name) ?? undefined,
    text: (limit) => readText(request, limit),
  });

  return new Response(JSON.stringify(response.body), {
    status: response.status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      ...response.headers,
    },
  });
}
