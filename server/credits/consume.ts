import { randomUUID } from "node:crypto";

import { and, eq, sql } from "drizzle-orm";
import { z } from "zod";

import { overageRecords, tiers, usageRecords, workspaces } from "@/drizzle/schema";
import { defineCommand, type CommandContext } from "@/server/commands";
import type { Tx } from "@/server/db/client";
import { inactiveWorkspaceError, type WorkspaceStatus } from "@/server/auth/access";
import { AppError } from "@/server/errors";
import { event, type EventDraft } from "@/server/events/catalogue";

import { drawCredits, lockBalance, MAX_CREDITS, takeBalanceLock } from "./ledger";
import { overagePeriodStart } from "./overage";
import { IDEMPOTENCY_KEY_DAYS } from "./retention";
import { findFeature, MAX_INPUT_BYTES, priceCall } from "./pricing";

export const consumeInput = z.object({
  workspaceId: z.uuid(),
  featureCode: z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? "featureCode is required: a feature code from the tier's price table"
          : "featureCode must be text, a feature code from the tier's price table",
    })
    .trim()
    .min(1, "featureCode is required")
    .max(64, "featureCode is at most 64 characters"),
  inputBytes: z
    .number({
      error: (issue) =>
        issue.input === undefined
          ? "inputBytes is required: the size of the call's input in bytes"
          : typeof issue.input === "string"
            ? "inputBytes must be a number, not a string"
            : `inputBytes must be a whole number from 0 to ${MAX_INPUT_BYTES}`,
    })
    .int("inputBytes must be a whole number of bytes")
    .min(0, "inputBytes cannot be negative")
    .max(MAX_INPUT_BYTES, `inputBytes is at most ${MAX_INPUT_BYTES}`),
  idempotencyKey: z
    .string()
    .min(1, "The idempotency key cannot be empty")
    .max(255, "The idempotency key is at most 255 characters")
    .nullable()
    .default(null),
});

export interface ConsumeResult {
  /** False when the balance could not cover the call; nothing was drawn. */
  allowed: boolean;
  usageRecordId: string;
  featureCode: string;
  units: number;
  credits: number;
  /** Of `credits`, how many went past a zero balance as overage (soft overage policy). */
  overageCredits: number;
  balance: number;
  /** True when this is the stored answer to an earlier request with the same idempotency key. */
  replayed: boolean;
}

/**
 * How long a consumption's Idempotency-Key is remembered, as for every other
 * key (retention.ts): a retry within it gets the stored answer, after it the
 * same key is a new request.
 */
const KEY_LIFETIME_MS = IDEMPOTENCY_KEY_DAYS * 24 * 60 * 60 * 1000;

/** A consumption answered earlier, found by its workspace and Idempotency-Key. */
export interface StoredConsumption {
  featureCode: string;
  inputBytes: number;
  result: ConsumeResult;
}

export const storedKey = (workspaceId: string, key: string) => `${workspaceId} ${key}`;

/**
 * The stored answers for these keys, by `storedKey`. A consumption's answer
 * lives on its usage record, so remembering a key costs no row of its own.
 * Callers hold the workspaces' balance locks, which every consumption takes
 * before it looks: a request with the same key that committed first is seen
 * here, and one that comes later waits for this transaction.
 */
export async function storedConsumptions(
  tx: Tx,
  pairs: readonly { workspaceId: string; key: string }[],
  now: Date,
): Promise<Map<string, StoredConsumption>> {
  const stored = new Map<string, StoredConsumption>();
  if (pairs.length === 0) return stored;

  const rows = await tx.execute<{
    id: string;
    workspace_id: string;
    key: string;
    feature_code: string;
    input_bytes: number;
    units: number;
    credits: number;
    outcome: "consumed" | "rejected";
    balance_after: number | null;
    overage_credits: number;
  }>(sql`
    SELECT u.id, u.workspace_id, u.idempotency_key AS key, u.feature_code,
      u.input_bytes::float8 AS input_bytes, u.units, u.credits, u.outcome, u.balance_after,
      u.overage_credits
    FROM json_to_recordset(${JSON.stringify(pairs)}::json) AS p("workspaceId" uuid, key text)
    -- One index probe per key, whatever plan the prepared statement settles on. Within a key's
    -- lifetime it has one record: a second use is answered from the first, not recorded.
    CROSS JOIN LATERAL (
      SELECT * FROM ${usageRecords} AS r
      WHERE r.workspace_id = p."workspaceId" AND r.idempotency_key = p.key AND r.hold_id IS NULL
        AND r.created_at > ${new Date(now.getTime() - KEY_LIFETIME_MS).toISOString()}::timestamptz
      LIMIT 1
    ) AS u`);
  for (const row of rows) {
    stored.set(storedKey(row.workspace_id, row.key), {
      featureCode: row.feature_code,
      inputBytes: row.input_bytes,
      result: {
        allowed: row.outcome === "consumed",
        usageRecordId: row.id,
        featureCode: row.feature_code,
        units: row.units,
        credits: row.credits,
        overageCredits: row.overage_credits,
        // Every keyed consumption stores its balance; only rows written before it did lack one.
        balance: row.balance_after ?? 0,
        replayed: true,
      },
    });
  }

  return stored;
}

/** The stored answer for a replay, or a conflict when the key came with other parameters. */
export function replayOf(
  stored: StoredConsumption,
  featureCode: string,
  inputBytes: number,
): ConsumeResult {
  if (stored.featureCode !== featureCode || stored.inputBytes !== inputBytes) {
    throw new AppError(
      "idempotency_conflict",
      "This Idempotency-Key was already used with different parameters; use a new key for a new " +
        "request",
      { field: "Idempotency-Key" },
    );
  }

  return stored.result;
}

/** What consumption needs to know about the workspace and its tier, read once per request. */
export interface ConsumptionTerms {
  status: WorkspaceStatus;
  priceTable: (typeof tiers.$inferSelect)["priceTable"];
  lowBalanceThreshold: number;
  overagePolicy: (typeof tiers.$inferSelect)["overagePolicy"];
  overageCapCredits: number;
}

/**
 * Locks the workspace's balance, then reads its terms: a status change takes the same lock
 * (workspaces/commands.ts), so a consumption is wholly before or after it, never charged by a
 * workspace suspended while it waited.
 */
export async function consumptionTerms(tx: Tx, workspaceId: string): Promise<ConsumptionTerms> {
  await takeBalanceLock(tx, workspaceId);
  const [terms] = await tx
    .select({
      status: workspaces.status,
      priceTable: tiers.priceTable,
      lowBalanceThreshold: tiers.lowBalanceThreshold,
      overagePolicy: tiers.overagePolicy,
      overageCapCredits: tiers.overageCapCredits,
    })
    .from(workspaces)
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .where(eq(workspaces.id, workspaceId));
  if (!terms) throw new AppError("not_found", "Workspace not found");
  if (terms.status !== "active") {
    throw inactiveWorkspaceError(terms.status, "it cannot consume credits");
  }

  return terms;
}

type ConsumeItem = Omit<z.output<typeof consumeInput>, "workspaceId">;

/**
 * One consumption in the caller's transaction: prices the call from the
 * tier's table, draws from the grants (past zero, up to the cap, under a soft
 * overage policy), records a usage row and stores the answer under the
 * idempotency key. A refusal for lack of credits is an answer, not an
 * error: it is stored and returned with `allowed: false`.
 */
export async function consumeOne(
  { tx, actor, clock }: CommandContext,
  workspaceId: string,
  terms: ConsumptionTerms,
  input: ConsumeItem,
): Promise<{ result: ConsumeResult; events: EventDraft[] }> {
  const feature = findFeature(terms.priceTable, input.featureCode);
  if (!feature) {
    throw new AppError(
      "invalid_request",
      `Unknown feature "${input.featureCode}" for this workspace's tier`,
      {
        field: "featureCode",
        details: { features: terms.priceTable.map((price) => price.featureCode) },
      },
    );
  }
  const quote = priceCall(feature, input.inputBytes);
  if (quote.credits > MAX_CREDITS) {
    throw new AppError("invalid_request", "This input is too large to price in one call", {
      field: "inputBytes",
    });
  }

  // Every consumption locks the balance before it looks for its key, so two requests with the
  // same key run one after the other and the second finds the first's answer.
  await lockBalance(tx, workspaceId);
  if (input.idempotencyKey) {
    const key = { workspaceId, key: input.idempotencyKey };
    const stored = (await storedConsumptions(tx, [key], clock.now())).get(
      storedKey(workspaceId, input.idempotencyKey),
    );
    if (stored) {
      return { result: replayOf(stored, quote.featureCode, input.inputBytes), events: [] };
    }
  }

  const usageRecordId = randomUUID();
  const drawFor = (amount: number) =>
    drawCredits(tx, clock, {
      workspaceId,
      amount,
      actor,
      reason: `Feature ${quote.featureCode}`,
      idempotencyKey: input.idempotencyKey,
      usageRecordId,
      lowBalanceThreshold: terms.lowBalanceThreshold,
    });
  let draw = await drawFor(quote.credits);
  let overageCredits = 0;
  const events: EventDraft[] = [];
  if (!draw.ok && terms.overagePolicy === "soft_cap") {
    const periodStart = await overagePeriodStart(tx, workspaceId, clock.now());
    const [used] = await tx
      .select({ credits: sql<number>`coalesce(sum(${overageRecords.credits}), 0)::int` })
      .from(overageRecords)
      .where(
        and(
          eq(overageRecords.workspaceId, workspaceId),
          eq(overageRecords.periodStart, periodStart),
        ),
      );
    const shortfall = quote.credits - draw.balance;
    if ((used?.credits ?? 0) + shortfall <= terms.overageCapCredits) {
      events.push(...draw.events);
      draw = await drawFor(draw.balance);
      overageCredits = shortfall;
      await tx.insert(overageRecords).values({
        workspaceId,
        usageRecordId,
        credits: shortfall,
        periodStart,
        createdAt: clock.now(),
      });
      events.push(
        event("credits/overage", { workspaceId, usageRecordId, overageCredits: shortfall }),
      );
    }
  }
  const outcome = draw.ok ? "consumed" : "rejected";
  const balance = draw.ok ? draw.balanceAfter : draw.balance;

  await tx.insert(usageRecords).values({
    id: usageRecordId,
    workspaceId,
    featureCode: quote.featureCode,
    inputBytes: input.inputBytes,
    units: quote.units,
    credits: quote.credits,
    outcome,
    apiKeyId: actor.type === "api_key" ? actor.apiKeyId : null,
    userId: actor.type === "user" ? actor.userId : null,
    idempotencyKey: input.idempotencyKey,
    balanceAfter: balance,
    overageCredits,
    createdAt: clock.now(),
  });

  const result: ConsumeResult = {
    allowed: draw.ok,
    usageRecordId,
    featureCode: quote.featureCode,
    units: quote.units,
    credits: quote.credits,
    overageCredits,
    balance,
    replayed: false,
  };
  events.push(...draw.events);

  return { result, events };
}

/**
 * The events for the usage records one transaction wrote in a workspace,
 * summed by feature: `credits/consumed` for those that drew credits and
 * `usage/logged` for all of them; none when it wrote none (replays write
 * none). A batch of a thousand consumptions writes two events, not a
 * thousand: the records hold each call's detail.
 */
export function consumptionEvents(
  workspaceId: string,
  records: readonly Pick<ConsumeResult, "featureCode" | "credits" | "allowed" | "balance">[],
): EventDraft[] {
  const last = records.at(-1);
  if (!last) return [];
  const logged = new Map<
    string,
    { featureCode: string; consumed: number; rejected: number; credits: number }
  >();
  for (const record of records) {
    const sum = logged.get(record.featureCode) ?? {
      featureCode: record.featureCode,
      consumed: 0,
      rejected: 0,
      credits: 0,
    };
    if (record.allowed) {
      sum.consumed += 1;
      sum.credits += record.credits;
    } else {
      sum.rejected += 1;
    }
    logged.set(record.featureCode, sum);
  }

  const drawn = [...logged.values()].filter((sum) => sum.consumed > 0);
  const events: EventDraft[] = [];
  if (drawn.length > 0) {
    events.push(
      event("credits/consumed", {
        workspaceId,
        consumptions: drawn.reduce((total, sum) => total + sum.consumed, 0),
        credits: drawn.reduce((total, sum) => total + sum.credits, 0),
        balanceAfter: last.balance,
        features: drawn.map((sum) => ({
          featureCode: sum.featureCode,
          consumptions: sum.consumed,
          credits: sum.credits,
        })),
      }),
    );
  }
  events.push(
    event("usage/logged", {
      workspaceId,
      records: records.length,
      features: [...logged.values()],
    }),
  );
  return events;
}

/** Consumes credits for one feature call. */
export const consumeCredits = defineCommand({
  name: "credits.consume",
  input: consumeInput,
  async run(ctx, input) {
    const terms = await consumptionTerms(ctx.tx, input.workspaceId);
    const { result, events } = await consumeOne(ctx, input.workspaceId, terms, input);
    events.push(...consumptionEvents(input.workspaceId, result.replayed ? [] : [result]));

    return { result, events, workspaceId: input.workspaceId, audit: false };
  },
});

export const MAX_BATCH = 1_000;

export const consumeBatchInput = z.object({
  workspaceId: z.uuid(),
  items: z
    .array(
      consumeInput
        .omit({ workspaceId: true })
        .extend({ idempotencyKey: z.string().min(1).max(255) }),
    )
    .min(1, "Send at least one item")
    .max(MAX_BATCH, `A batch holds at most ${MAX_BATCH} items`),
});

export type BatchItemResult =
  | ({ status: "consumed" | "refused" | "duplicate" } & ConsumeResult)
  | { status: "error"; error: { code: string; message: string; field?: string } };

/**
 * Up to a thousand consumptions in one transaction, each with its own
 * idempotency key and its own answer. An item that fails (an unknown
 * feature, a key reused with other parameters) is rolled back to its
 * savepoint and reported; it never fails the batch. A replayed key is
 * reported as a duplicate with its stored answer.
 */
export const consumeBatch = defineCommand({
  name: "credits.consumeBatch",
  input: consumeBatchInput,
  async run(ctx, input) {
    const terms = await consumptionTerms(ctx.tx, input.workspaceId);
    const results: BatchItemResult[] = [];
    const events: EventDraft[] = [];
    for (const item of input.items) {
      try {
        const one = await ctx.tx.transaction((savepoint) =>
          consumeOne({ ...ctx, tx: savepoint }, input.workspaceId, terms, item),
        );
        const status = one.result.replayed
          ? "duplicate"
          : one.result.allowed
            ? "consumed"
            : "refused";
        results.push({ status, ...one.result });
        events.push(...one.events);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        results.push({
          status: "error",
          error: {
            code: error.code,
            message: error.message,
            ...(error.field ? { field: error.field } : {}),
          },
        });
      }
    }

    const logged = results.flatMap((one) =>
      one.status === "consumed" || one.status === "refused" ? [one] : [],
    );
    events.push(...consumptionEvents(input.workspaceId, logged));

    return { result: results, events, workspaceId: input.workspaceId, audit: false };
  },
});
