import { createHash, randomUUID } from "node:crypto";

import { and, eq } from "drizzle-orm";
import { z } from "zod";

import { idempotencyKeys, tiers, usageRecords, workspaces } from "@/drizzle/schema";
import { actorRef } from "@/server/actor";
import { defineCommand } from "@/server/commands";
import type { Tx } from "@/server/db/client";
import { AppError } from "@/server/errors";
import { event } from "@/server/events/catalogue";

import { drawCredits, MAX_CREDITS } from "./ledger";
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
  balance: number;
  /** True when this is the stored answer to an earlier request with the same idempotency key. */
  replayed: boolean;
}

const SCOPE = "credits.consume";

function requestHash(featureCode: string, inputBytes: number): string {
  return createHash("sha256").update(JSON.stringify({ featureCode, inputBytes })).digest("hex");
}

/**
 * Claims the idempotency key before anything else. A concurrent request with
 * the same key waits here on the primary key until the first commits, then
 * reads its stored result.
 */
async function claimKey(tx: Tx, workspaceId: string, key: string, hash: string, now: Date) {
  const claimed = await tx
    .insert(idempotencyKeys)
    .values({
      workspaceId,
      scope: SCOPE,
      key,
      requestHash: hash,
      responseStatus: 0,
      responseBody: {},
      createdAt: now,
    })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key });
  if (claimed.length > 0) return undefined;

  const [stored] = await tx
    .select()
    .from(idempotencyKeys)
    .where(
      and(
        eq(idempotencyKeys.workspaceId, workspaceId),
        eq(idempotencyKeys.scope, SCOPE),
        eq(idempotencyKeys.key, key),
      ),
    );
  if (!stored) throw new Error("Idempotency key vanished after a conflict");
  if (stored.requestHash !== hash) {
    throw new AppError(
      "idempotency_conflict",
      "This Idempotency-Key was already used with different parameters; use a new key for a new " +
        "request",
      { field: "Idempotency-Key" },
    );
  }

  return {
    ...(stored.responseBody as unknown as ConsumeResult),
    replayed: true,
  } satisfies ConsumeResult;
}

/**
 * Consumes credits for one feature call: prices it from the tier's table,
 * draws from the grants, and records a usage row, all in one transaction.
 * A refusal for lack of credits is an answer, not an error: it is stored
 * under the idempotency key and returned with `allowed: false`.
 */
export const consumeCredits = defineCommand({
  name: "credits.consume",
  input: consumeInput,
  async run({ tx, actor, clock }, input) {
    const [workspace] = await tx
      .select({
        status: workspaces.status,
        priceTable: tiers.priceTable,
        lowBalanceThreshold: tiers.lowBalanceThreshold,
      })
      .from(workspaces)
      .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
      .where(eq(workspaces.id, input.workspaceId));
    if (!workspace) throw new AppError("not_found", "Workspace not found");
    if (workspace.status !== "active") {
      throw new AppError(
        "forbidden",
        `This workspace is ${workspace.status}; it cannot consume credits`,
      );
    }

    const feature = findFeature(workspace.priceTable, input.featureCode);
    if (!feature) {
      throw new AppError(
        "invalid_request",
        `Unknown feature "${input.featureCode}" for this workspace's tier`,
        {
          field: "featureCode",
          details: { features: workspace.priceTable.map((price) => price.featureCode) },
        },
      );
    }
    const quote = priceCall(feature, input.inputBytes);
    if (quote.credits > MAX_CREDITS) {
      throw new AppError("invalid_request", "This input is too large to price in one call", {
        field: "inputBytes",
      });
    }

    if (input.idempotencyKey) {
      const replay = await claimKey(
        tx,
        input.workspaceId,
        input.idempotencyKey,
        requestHash(quote.featureCode, input.inputBytes),
        clock.now(),
      );
      if (replay) return { result: replay, audit: false };
    }

    const usageRecordId = randomUUID();
    const draw = await drawCredits(tx, clock, {
      workspaceId: input.workspaceId,
      amount: quote.credits,
      actor,
      reason: `Feature ${quote.featureCode}`,
      idempotencyKey: input.idempotencyKey,
      usageRecordId,
      lowBalanceThreshold: workspace.lowBalanceThreshold,
    });
    const outcome = draw.ok ? "consumed" : "rejected";
    const balance = draw.ok ? draw.balanceAfter : draw.balance;

    await tx.insert(usageRecords).values({
      id: usageRecordId,
      workspaceId: input.workspaceId,
      featureCode: quote.featureCode,
      inputBytes: input.inputBytes,
      units: quote.units,
      credits: quote.credits,
      outcome,
      apiKeyId: actor.type === "api_key" ? actor.apiKeyId : null,
      userId: actor.type === "user" ? actor.userId : null,
      idempotencyKey: input.idempotencyKey,
      createdAt: clock.now(),
    });

    const result: ConsumeResult = {
      allowed: draw.ok,
      usageRecordId,
      featureCode: quote.featureCode,
      units: quote.units,
      credits: quote.credits,
      balance,
      replayed: false,
    };
    if (input.idempotencyKey) {
      await tx
        .update(idempotencyKeys)
        .set({ responseStatus: draw.ok ? 200 : 402, responseBody: { ...result } })
        .where(
          and(
            eq(idempotencyKeys.workspaceId, input.workspaceId),
            eq(idempotencyKeys.scope, SCOPE),
            eq(idempotencyKeys.key, input.idempotencyKey),
          ),
        );
    }

    const events = [
      ...draw.events,
      event("usage/logged", {
        workspaceId: input.workspaceId,
        usageRecordId,
        featureCode: quote.featureCode,
        credits: quote.credits,
        outcome,
      }),
    ];
    if (draw.ok) {
      events.unshift(
        event("credits/consumed", {
          workspaceId: input.workspaceId,
          usageRecordId,
          featureCode: quote.featureCode,
          credits: quote.credits,
          balanceAfter: balance,
          actor: actorRef(actor),
        }),
      );
    }

    return { result, events, workspaceId: input.workspaceId, audit: false };
  },
});
