import { z } from "zod";

import { consumeInput, MAX_BATCH } from "@/server/credits/consume";
import { finalizeHoldInput, placeHoldInput } from "@/server/credits/holds";
import { errorCodes, type ErrorCode } from "@/server/errors";
import { API_KEY_SCOPES } from "@/server/workspaces/api-keys";

/**
 * The metering API's requests and responses, in the API's own names. The
 * field rules come from the commands' schemas (consume.ts, holds.ts), so the
 * API checks exactly what the commands accept; the handlers validate with
 * these, the tests check every answer against them, and the OpenAPI document
 * (openapi.ts) is generated from them.
 */

/** Request and response bodies by the name the OpenAPI document gives them. */
export const requestSchemas = z.registry<{ id: string }>();
export const responseSchemas = z.registry<{ id: string }>();

function named<T extends z.ZodType>(registry: typeof requestSchemas, id: string, schema: T): T {
  registry.add(schema, { id });

  return schema;
}

const count = (description: string) => z.number().int().min(0).meta({ description });

export const idempotencyKeyHeader = z
  .string({ error: "Send an Idempotency-Key header so a retried call is not charged twice" })
  .trim()
  .min(1, "Send an Idempotency-Key header so a retried call is not charged twice")
  .max(255, "The Idempotency-Key is at most 255 characters")
  // Header bytes outside ASCII are read differently by different clients, so one key could
  // miss its own replay.
  .regex(/^[\x20-\x7e]+$/, "The Idempotency-Key must be printable ASCII");

const feature = consumeInput.shape.featureCode.meta({
  description: "A feature code from the price table of the workspace's tier.",
  examples: ["summarize"],
});
const inputBytes = consumeInput.shape.inputBytes.meta({
  description:
    "The size of the call's input in bytes; the price table turns it into units (a started unit " +
    "counts whole).",
  examples: [4096],
});

export const usageRequest = named(
  requestSchemas,
  "UsageRequest",
  z
    .object({ feature, inputBytes })
    .meta({ description: "One feature call to charge. Send an Idempotency-Key header with it." }),
);

const usageFields = {
  usageId: z.uuid().meta({ description: "The usage record of this call." }),
  feature: z.string(),
  units: count("Billable units: inputBytes divided by the feature's unit size, rounded up."),
  credits: count("What the call costs."),
  overageCredits: count(
    "Of `credits`, how many went past a zero balance under a soft overage policy.",
  ),
  balance: count("The balance after the call (before it, when it was refused)."),
  replayed: z.boolean().meta({
    description: "True when this is the stored answer to an earlier call with the same key.",
  }),
};

export const usageResult = named(
  responseSchemas,
  "UsageResult",
  z
    .object({ allowed: z.literal(true), ...usageFields })
    .meta({ description: "The call was charged." }),
);

export const apiErrorBody = named(
  responseSchemas,
  "Error",
  z
    .object({
      error: z.object({
        code: z.enum(Object.keys(errorCodes) as [ErrorCode, ...ErrorCode[]]).meta({
          description: "Stable, machine-readable; see the table in the README.",
        }),
        message: z.string().meta({ description: "For people: what went wrong and what to do." }),
        field: z
          .string()
          .optional()
          .meta({ description: "The body field or header the error is about." }),
        details: z.record(z.string(), z.unknown()).meta({
          description: "Facts that come with the error, such as the per-item problems of a batch.",
        }),
      }),
    })
    .meta({ description: "Every error answer." }),
);

export const usageRefusal = named(
  responseSchemas,
  "UsageRefusal",
  z
    .object({
      allowed: z.literal(false),
      ...usageFields,
      required: count("The credits the call needed."),
      error: apiErrorBody.shape.error,
    })
    .meta({
      description:
        "402: the balance cannot cover the call and nothing was drawn. The refusal is stored under " +
        "its key like a success.",
    }),
);

export const batchItem = named(
  requestSchemas,
  "BatchItem",
  z.object({
    idempotencyKey: z
      .string({ error: "Each item needs an idempotencyKey, unique per call" })
      .trim()
      .min(1, "Each item needs an idempotencyKey, unique per call")
      .max(255, "An idempotencyKey is at most 255 characters")
      .meta({
        description: "This item's own key: a retried batch charges only the items not yet charged.",
      }),
    feature,
    inputBytes,
  }),
);

export const batchRequest = named(
  requestSchemas,
  "BatchRequest",
  z
    .object({
      items: z
        .array(batchItem)
        .min(1, "Send at least one item")
        .max(MAX_BATCH, `A batch holds at most ${MAX_BATCH} items`),
    })
    .meta({ description: `Up to ${MAX_BATCH} calls of one workspace, answered one by one.` }),
);

const itemHead = {
  index: count("The item's position in the request."),
  idempotencyKey: z.string(),
};

export const batchItemResult = named(
  responseSchemas,
  "BatchItemResult",
  z
    .union([
      z.object({
        ...itemHead,
        status: z.enum(["consumed", "refused", "duplicate"]).meta({
          description:
            "consumed: charged now; refused: the balance could not cover it, nothing drawn; " +
            "duplicate: the key was used before (or earlier in this batch), this is that answer.",
        }),
        allowed: z.boolean(),
        ...usageFields,
      }),
      z.object({
        ...itemHead,
        status: z.literal("error"),
        error: apiErrorBody.shape.error,
      }),
    ])
    .meta({ description: "One item's answer." }),
);

export const batchResult = named(
  responseSchemas,
  "BatchResult",
  z.object({
    results: z.array(batchItemResult),
    summary: z.object({
      consumed: count("Items charged now."),
      refused: count("Items refused for lack of credits."),
      duplicate: count("Items whose key was already used: not charged again."),
      error: count("Items that could not be processed (see their error)."),
    }),
  }),
);

export const balanceResult = named(
  responseSchemas,
  "Balance",
  z.object({
    balance: count("Credits available to spend; held credits are not in it."),
    held: count("Credits reserved by open holds."),
    lowBalanceThreshold: count("Below this, the workspace is told its credits run low."),
    belowThreshold: z.boolean(),
  }),
);

export const holdRequest = named(
  requestSchemas,
  "HoldRequest",
  z
    .object({
      credits: placeHoldInput.shape.credits.meta({
        description: "Credits to reserve.",
        examples: [50],
      }),
      expiresInSeconds: placeHoldInput.shape.expiresInSeconds.meta({
        description: "When the hold releases itself if not finalized; 900 (15 minutes) by default.",
      }),
      feature: placeHoldInput.shape.featureCode.meta({
        description: "The feature the credits are for, recorded with the usage when finalized.",
      }),
    })
    .meta({ description: "Reserve credits now, settle the actual amount later." }),
);

export const finalizeRequest = named(
  requestSchemas,
  "FinalizeRequest",
  z.object({
    credits: finalizeHoldInput.shape.credits.meta({
      description: "The actual cost, at most what the hold reserved; the rest goes back.",
      examples: [42],
    }),
  }),
);

export const holdResult = named(
  responseSchemas,
  "Hold",
  z.object({
    holdId: z.uuid(),
    status: z.enum(["active", "finalized", "released", "expired"]),
    credits: count("Credits reserved."),
    finalCredits: z
      .number()
      .int()
      .nullable()
      .meta({ description: "Credits kept when it was settled." }),
    feature: z.string().nullable(),
    expiresAt: z.iso.datetime(),
    balance: count("The balance after this operation."),
    replayed: z.boolean(),
  }),
);

export const creditsRefusal = named(
  responseSchemas,
  "CreditsRefusal",
  z
    .object({
      allowed: z.literal(false),
      balance: count("The balance that could not cover it."),
      required: count("The credits asked for."),
      error: apiErrorBody.shape.error,
    })
    .meta({ description: "402: not enough credits; nothing was reserved." }),
);

export type ApiScope = (typeof API_KEY_SCOPES)[number];
export type UsageResult = z.output<typeof usageResult>;
export type UsageRefusal = z.output<typeof usageRefusal>;
export type BatchItemResult = z.output<typeof batchItemResult>;
export type BatchResult = z.output<typeof batchResult>;
export type BalanceResult = z.output<typeof balanceResult>;
export type HoldResult = z.output<typeof holdResult>;
export type ApiErrorBody = z.output<typeof apiErrorBody>;
