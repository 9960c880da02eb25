import { z } from "zod";

import { MAX_BATCH } from "@/server/credits/consume";

import {
  apiErrorBody,
  balanceResult,
  batchRequest,
  batchResult,
  creditsRefusal,
  finalizeRequest,
  holdRequest,
  holdResult,
  requestSchemas,
  responseSchemas,
  usageRefusal,
  usageRequest,
  usageResult,
  type ApiScope,
} from "./schemas";

/**
 * The OpenAPI 3.1 document of the metering API, generated from the zod
 * schemas the handlers validate with (schemas.ts). Served at
 * /api/v1/openapi.json and rendered at /docs/api, whose curl and TypeScript
 * examples come from `endpoints` below; a test checks every example against
 * its schema.
 */

export const API_BASE_PATH = "/api/v1";

/** One example exchange per endpoint, shown in the document and on the docs page. */
export interface Endpoint {
  id: string;
  method: "GET" | "POST";
  path: string;
  summary: string;
  description: string;
  scope: ApiScope | null;
  idempotencyKey: "required" | "none";
  request?: { schema: z.ZodType; id: string; example: unknown };
  success: { status: 200; schema: z.ZodType; id: string; example: unknown; description: string };
  /** Answers besides errors in the common Error shape. */
  alternatives?: { status: 402; schema: z.ZodType; id: string; example: unknown }[];
  errors: number[];
}

const workspaceBalance = 27_495;
const usageExample = {
  allowed: true as const,
  usageId: "0d4f6a7e-5c1b-4f57-9d0e-7b1f3b2a9c11",
  feature: "summarize",
  units: 4,
  credits: 5,
  overageCredits: 0,
  balance: workspaceBalance,
  replayed: false,
};
const holdExample = {
  holdId: "6a1c2f3e-8d47-4b0a-b6e2-3f9c1d2e4a57",
  status: "active" as const,
  credits: 50,
  finalCredits: null,
  feature: "image-generate",
  expiresAt: "2027-01-15T12:15:00.000Z",
  balance: workspaceBalance - 50,
  replayed: false,
};
const notEnough = {
  code: "insufficient_credits" as const,
  message: "Not enough credits: this call needs 5,000 and the balance is 1,250",
  details: {},
};

export const endpoints: Endpoint[] = [
  {
    id: "consumeUsage",
    method: "POST",
    path: "/usage",
    summary: "Consume credits for one feature call",
    description:
      "Prices the call from the tier's price table and draws the credits. A retried call with " +
      "the same Idempotency-Key and body returns the first answer (Idempotent-Replayed: true) " +
      "and charges nothing more; the same key with another body is 409 idempotency_conflict. " +
      "Calls of one workspace that arrive together are committed together.",
    scope: "usage:write",
    idempotencyKey: "required",
    request: {
      schema: usageRequest,
      id: "UsageRequest",
      example: { feature: "summarize", inputBytes: 4096 },
    },
    success: {
      status: 200,
      schema: usageResult,
      id: "UsageResult",
      example: usageExample,
      description: "Charged.",
    },
    alternatives: [
      {
        status: 402,
        schema: usageRefusal,
        id: "UsageRefusal",
        example: {
          ...usageExample,
          allowed: false,
          units: 4_999,
          credits: 5_000,
          balance: 1_250,
          required: 5_000,
          error: notEnough,
        },
      },
    ],
    errors: [400, 401, 403, 409, 413, 429],
  },
  {
    id: "consumeUsageBatch",
    method: "POST",
    path: "/usage/batch",
    summary: `Consume credits for up to ${MAX_BATCH.toLocaleString("en-US")} calls at once`,
    description:
      "Each item has its own idempotency key and its own answer, in request order. An item " +
      "whose key was used before is reported as a duplicate with its earlier answer and is not " +
      "charged again; an item that fails (an unknown feature, a key reused with other " +
      "parameters) fails alone. A malformed batch is refused whole with 400, the problems listed " +
      "by item index in error.details.items.",
    scope: "usage:write",
    idempotencyKey: "none",
    request: {
      schema: batchRequest,
      id: "BatchRequest",
      example: {
        items: [
          { idempotencyKey: "job-4711-page-1", feature: "summarize", inputBytes: 4096 },
          { idempotencyKey: "job-4711-page-2", feature: "translate", inputBytes: 1000 },
        ],
      },
    },
    success: {
      status: 200,
      schema: batchResult,
      id: "BatchResult",
      description: "One result per item.",
      example: {
        results: [
          { index: 0, idempotencyKey: "job-4711-page-1", status: "consumed", ...usageExample },
          {
            index: 1,
            idempotencyKey: "job-4711-page-2",
            status: "duplicate",
            ...usageExample,
            usageId: "9b2e7c41-1f0a-4d8e-a3b5-6c7d8e9f0a1b",
            feature: "translate",
            units: 2,
            credits: 4,
            balance: workspaceBalance + 5,
            replayed: true,
          },
        ],
        summary: { consumed: 1, refused: 0, duplicate: 1, error: 0 },
      },
    },
    errors: [400, 401, 403, 413, 429],
  },
  {
    id: "getBalance",
    method: "GET",
    path: "/balance",
    summary: "Read the balance",
    description: "The credits the workspace can spend now, and what open holds reserve.",
    scope: "balance:read",
    idempotencyKey: "none",
    success: {
      status: 200,
      schema: balanceResult,
      id: "Balance",
      description: "The balance.",
      example: {
        balance: workspaceBalance,
        held: 0,
        lowBalanceThreshold: 2_500,
        belowThreshold: false,
      },
    },
    errors: [401, 403, 429],
  },
  {
    id: "placeHold",
    method: "POST",
    path: "/holds",
    summary: "Reserve credits for work whose cost is known later",
    description:
      "Draws the credits at once so nothing else can spend them. Finalize the hold with the " +
      "actual cost or release it; a hold past expiresInSeconds releases itself. The same " +
      "Idempotency-Key returns the same hold.",
    scope: "usage:write",
    idempotencyKey: "required",
    request: {
      schema: holdRequest,
      id: "HoldRequest",
      example: { credits: 50, expiresInSeconds: 900, feature: "image-generate" },
    },
    success: {
      status: 200,
      schema: holdResult,
      id: "Hold",
      description: "The hold.",
      example: holdExample,
    },
    alternatives: [
      {
        status: 402,
        schema: creditsRefusal,
        id: "CreditsRefusal",
        example: {
          allowed: false,
          balance: 20,
          required: 50,
          error: {
            code: "insufficient_credits",
            message: "Not enough credits to hold 50: the balance is 20",
            field: "credits",
            details: {},
          },
        },
      },
    ],
    errors: [400, 401, 403, 409, 413, 429],
  },
  {
    id: "finalizeHold",
    method: "POST",
    path: "/holds/{holdId}/finalize",
    summary: "Keep the actual cost of a hold and give the rest back",
    description:
      "Keeps `credits` (at most what the hold reserved) as a usage record of the hold's feature " +
      "and returns the rest to the balance. Finalizing again with the same amount returns the " +
      "same answer; another amount, or a hold already released or expired, is 409 conflict.",
    scope: "usage:write",
    idempotencyKey: "none",
    request: { schema: finalizeRequest, id: "FinalizeRequest", example: { credits: 42 } },
    success: {
      status: 200,
      schema: holdResult,
      id: "Hold",
      description: "The finalized hold.",
      example: {
        ...holdExample,
        status: "finalized",
        finalCredits: 42,
        balance: workspaceBalance - 42,
      },
    },
    errors: [400, 401, 403, 404, 409, 413, 429],
  },
  {
    id: "releaseHold",
    method: "POST",
    path: "/holds/{holdId}/release",
    summary: "Give all of a hold's credits back",
    description: "Releasing a released hold returns the same answer.",
    scope: "usage:write",
    idempotencyKey: "none",
    success: {
      status: 200,
      schema: holdResult,
      id: "Hold",
      description: "The released hold.",
      example: { ...holdExample, status: "released", finalCredits: 0, balance: workspaceBalance },
    },
    errors: [401, 403, 404, 409, 429],
  },
];

export const errorStatusText: Record<number, string> = {
  400: "invalid_request: a missing header, a body that is not JSON, a bad field.",
  401: "unauthenticated: no key, or an unknown or revoked one.",
  403:
    "workspace_suspended (the workspace is suspended), workspace_cancelled (it is cancelled), " +
    "insufficient_scope (the key lacks the scope) or, on the holds endpoints, " +
    "feature_not_in_tier (the workspace's tier does not include holds; details.includedIn names " +
    "the tiers that do).",
  404: "not_found: no such hold in this workspace.",
  409: "idempotency_conflict (a key reused with other parameters) or conflict (a hold already settled).",
  413: "payload_too_large: the body is over the limit.",
  429: "rate_limited: too many requests for this key; wait Retry-After seconds.",
};

const errorExamples: Record<number, z.output<typeof apiErrorBody>> = {
  400: {
    error: {
      code: "invalid_request",
      message: "inputBytes must be a number, not a string",
      field: "inputBytes",
      details: {},
    },
  },
  401: { error: { code: "unauthenticated", message: "This API key is not valid", details: {} } },
  403: {
    error: {
      code: "insufficient_scope",
      message: "This API key lacks the usage:write scope",
      details: { required: "usage:write", granted: ["balance:read"] },
    },
  },
  404: {
    error: { code: "not_found", message: "No hold with this id in this workspace", details: {} },
  },
  409: {
    error: {
      code: "idempotency_conflict",
      message:
        "This Idempotency-Key was already used with different parameters; use a new key for a " +
        "new request",
      field: "Idempotency-Key",
      details: {},
    },
  },
  413: {
    error: {
      code: "payload_too_large",
      message: "The body is larger than 65536 bytes",
      details: {},
    },
  },
  429: {
    error: {
      code: "rate_limited",
      message: "Too many requests for this API key; retry after 1 second",
      details: { retryAfterSeconds: 1 },
    },
  },
};

/** Examples the test checks against their schemas: [where, schema, example]. */
export function allExamples(): [string, z.ZodType, unknown][] {
  const examples: [string, z.ZodType, unknown][] = [];
  for (const endpoint of endpoints) {
    if (endpoint.request) {
      examples.push([`${endpoint.id} request`, endpoint.request.schema, endpoint.request.example]);
    }
    examples.push([`${endpoint.id} 200`, endpoint.success.schema, endpoint.success.example]);
    for (const alternative of endpoint.alternatives ?? []) {
      examples.push([
        `${endpoint.id} ${alternative.status}`,
        alternative.schema,
        alternative.example,
      ]);
    }
  }
  for (const [status, example] of Object.entries(errorExamples)) {
    examples.push([`error ${status}`, apiErrorBody, example]);
  }

  return examples;
}

/** The path with its parameters filled from the examples, e.g. a hold id. */
function examplePath(endpoint: Endpoint): string {
  return endpoint.path.replace("{holdId}", holdExample.holdId);
}

/** A curl command for the endpoint's example request. */
export function curlSample(endpoint: Endpoint, baseUrl: string): string {
  const method = endpoint.method === "GET" ? "" : ` -X ${endpoint.method}`;
  const lines = [
    `curl${method} ${baseUrl}${API_BASE_PATH}${examplePath(endpoint)}`,
    `  -H "Authorization: Bearer $TALLY_API_KEY"`,
  ];
  if (endpoint.idempotencyKey === "required") {
    lines.push(`  -H "Idempotency-Key: $(node -e 'console.log(crypto.randomUUID())')"`);
  }
  if (endpoint.request) {
    lines.push(`  -H "Content-Type: application/json"`);
    lines.push(`  -d '${JSON.stringify(endpoint.request.example)}'`);
  }

  return lines.join(" \\\n");
}

/** The same call from TypeScript with fetch. */
export function fetchSample(endpoint: Endpoint, baseUrl: string): string {
  const headers = ["    Authorization: `Bearer ${process.env.TALLY_API_KEY}`,"];
  if (endpoint.idempotencyKey === "required") {
    headers.push(`    "Idempotency-Key": crypto.randomUUID(), // keep it to retry this call`);
  }
  if (endpoint.request) headers.push(`    "Content-Type": "application/json",`);
  const body = endpoint.request
    ? [
        `  body: JSON.stringify(${JSON.stringify(endpoint.request.example, null, 2).replace(/\n/g, "\n  ")}),`,
      ]
    : [];
  const outcome = endpoint.alternatives?.length
    ? [
        "if (response.status === 402) {",
        "  // Not enough credits: nothing was drawn; body.balance and body.required say by how much.",
        "} else if (!response.ok) {",
        "  throw new Error(`${body.error.code}: ${body.error.message}`);",
        "}",
      ]
    : ["if (!response.ok) throw new Error(`${body.error.code}: ${body.error.message}`);"];

  return [
    `const response = await fetch("${baseUrl}${API_BASE_PATH}${examplePath(endpoint)}", {`,
    `  method: "${endpoint.method}",`,
    "  headers: {",
    ...headers,
    "  },",
    ...body,
    "});",
    "const body = await response.json();",
    ...outcome,
  ].join("\n");
}

type JsonObject = Record<string, unknown>;

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

function componentSchemas(): Record<string, JsonObject> {
  const uri = (id: string) => `#/components/schemas/${id}`;
  const requests = z.toJSONSchema(requestSchemas, { io: "input", uri }).schemas;
  const responses = z.toJSONSchema(responseSchemas, { io: "output", uri }).schemas;
  const schemas: Record<string, JsonObject> = {};
  for (const [id, schema] of Object.entries({ ...requests, ...responses })) {
    if (id === "__shared") continue;
    const { $schema: _dialect, $id: _id, ...rest } = schema as JsonObject;
    schemas[id] = rest;
  }

  return schemas;
}

const jsonContent = (id: string, example: unknown) => ({
  "application/json": { schema: ref(id), example },
});

function operation(endpoint: Endpoint): JsonObject {
  const parameters: JsonObject[] = [];
  if (endpoint.path.includes("{holdId}")) {
    parameters.push({
      name: "holdId",
      in: "path",
      required: true,
      schema: { type: "string", format: "uuid" },
      description: "The hold's id, from POST /holds.",
    });
  }
  if (endpoint.idempotencyKey === "required") {
    parameters.push({
      name: "Idempotency-Key",
      in: "header",
      required: true,
      schema: { type: "string", minLength: 1, maxLength: 255 },
      description:
        "Unique per call (a UUID will do), kept for 30 days; a retry sends the same key again.",
    });
  }
  const responses: JsonObject = {
    [endpoint.success.status]: {
      description: endpoint.success.description,
      headers: {
        "X-Request-Id": { $ref: "#/components/headers/RequestId" },
        ...(endpoint.idempotencyKey === "required"
          ? { "Idempotent-Replayed": { $ref: "#/components/headers/IdempotentReplayed" } }
          : {}),
      },
      content: jsonContent(endpoint.success.id, endpoint.success.example),
    },
  };
  for (const alternative of endpoint.alternatives ?? []) {
    responses[alternative.status] = {
      description: "Not enough credits.",
      content: jsonContent(alternative.id, alternative.example),
    };
  }
  for (const status of endpoint.errors) {
    responses[status] = {
      description: errorStatusText[status],
      ...(status === 429
        ? { headers: { "Retry-After": { $ref: "#/components/headers/RetryAfter" } } }
        : {}),
      content: jsonContent("Error", errorExamples[status]),
    };
  }

  return {
    operationId: endpoint.id,
    summary: endpoint.summary,
    description: endpoint.scope
      ? `${endpoint.description}\n\nNeeds an API key with the \`${endpoint.scope}\` scope.`
      : endpoint.description,
    security: endpoint.scope ? [{ apiKey: [endpoint.scope] }] : [],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(endpoint.request
      ? {
          requestBody: {
            required: true,
            content: jsonContent(endpoint.request.id, endpoint.request.example),
          },
        }
      : {}),
    responses,
  };
}

export interface OpenApiOptions {
  /** The server the document names, e.g. APP_URL + /api/v1; relative by default. */
  serverUrl?: string;
}

export function openApiDocument(options: OpenApiOptions = {}): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const endpoint of endpoints) {
    paths[endpoint.path] ??= {};
    paths[endpoint.path]![endpoint.method.toLowerCase()] = operation(endpoint);
  }
  paths["/openapi.json"] = {
    get: {
      operationId: "getOpenApiDocument",
      summary: "This document",
      security: [],
      responses: {
        200: {
          description: "The OpenAPI 3.1 document.",
          content: { "application/json": { schema: { type: "object" } } },
        },
      },
    },
  };

  return {
    openapi: "3.1.0",
    info: {
      title: "Tally metering API",
      version: "1",
      description:
        "Meter usage against a workspace's credits. Authenticate with a workspace API key " +
        "(`Authorization: Bearer tally_sk_…`); the key decides the workspace. Errors are " +
        "`{ error: { code, message, field?, details } }` with stable codes.",
    },
    servers: [{ url: options.serverUrl ?? API_BASE_PATH }],
    security: [{ apiKey: [] }],
    paths,
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        apiKey: {
          type: "http",
          scheme: "bearer",
          description:
            "A workspace API key, created on the workspace's API keys page. Its scopes " +
            "(usage:write, balance:read) decide which endpoints it may call.",
        },
      },
      headers: {
        RequestId: {
          description: "The request's id in Tally's logs (yours, when you sent a valid one).",
          schema: { type: "string" },
        },
        IdempotentReplayed: {
          description: "`true` when the answer is the stored one of an earlier call with the key.",
          schema: { type: "string", enum: ["true"] },
        },
        RetryAfter: {
          description: "Seconds until the key may call again.",
          schema: { type: "integer", minimum: 1 },
        },
      },
    },
  };
}
