import { createHash } from "node:crypto";

import { and, asc, desc, eq, lte, sql } from "drizzle-orm";
import { z } from "zod";

import { creditHolds, creditLedgerEntries, usageRecords } from "@/drizzle/schema";
import { actorRef, type Actor } from "@/server/actor";
import type { Clock } from "@/server/clock";
import { defineCommand } from "@/server/commands";
import type { Tx } from "@/server/db/client";
import { AppError } from "@/server/errors";
import { event, type EventDraft } from "@/server/events/catalogue";
import type { CronHandler } from "@/server/events/reactions";

import { consumptionEvents, consumptionTerms } from "./consume";
import { findFeature } from "./pricing";
import {
  drawCredits,
  inLockOrder,
  lowBalanceThresholdOf,
  MAX_CREDITS,
  returnCredits,
} from "./ledger";

/**
 * Holds reserve credits for work whose cost is known only when it ends.
 * Placing a hold draws the credits from the grants at once (hold entries), so
 * nothing else can spend them; finalizing keeps the actual amount (at most
 * the held amount) and gives the rest back to the grants it came from;
 * releasing gives everything back; a hold past its time limit releases
 * itself (the credits-expire-holds cron). The balance a customer sees is
 * what is left to spend: held credits are not in it.
 */

export const HOLD_DEFAULT_SECONDS = 15 * 60;
export const HOLD_MAX_SECONDS = 7 * 24 * 60 * 60;

const creditsField = (what: string) =>
  z
    .number({ error: `${what} must be a whole number of credits` })
    .int(`${what} must be a whole number of credits`)
    .max(MAX_CREDITS, `${what} is too large`);

export const placeHoldInput = z.object({
  workspaceId: z.uuid(),
  credits: creditsField("credits").min(1, "A hold reserves at least 1 credit"),
  expiresInSeconds: z
    .number({ error: "expiresInSeconds must be a whole number of seconds" })
    .int("expiresInSeconds must be a whole number of seconds")
    .min(1, "expiresInSeconds must be at least 1")
    .max(HOLD_MAX_SECONDS, `A hold lasts at most ${HOLD_MAX_SECONDS} seconds (7 days)`)
    .default(HOLD_DEFAULT_SECONDS),
  featureCode: z.string().trim().min(1).max(64).nullable().default(null),
  idempotencyKey: z
    .string()
    .min(1, "The idempotency key cannot be empty")
    .max(255, "The idempotency key is at most 255 characters")
    .nullable()
    .default(null),
});

export const finalizeHoldInput = z.object({
  workspaceId: z.uuid(),
  holdId: z.uuid({ error: "holdId must be a hold id" }),
  credits: creditsField("credits").min(0, "credits cannot be negative"),
});

export const releaseHoldInput = z.object({
  workspaceId: z.uuid(),
  holdId: z.uuid({ error: "holdId must be a hold id" }),
});

export interface HoldView {
  holdId: string;
  status: "active" | "finalized" | "released" | "expired";
  credits: number;
  finalCredits: number | null;
  featureCode: string | null;
  expiresAt: string;
  balance: number;
  replayed: boolean;
}

type HoldRow = typeof creditHolds.$inferSelect;

function view(hold: HoldRow, balance: number, replayed: boolean): HoldView {
  return {
    holdId: hold.id,
    status: hold.status,
    credits: hold.amount,
    finalCredits: hold.finalAmount,
    featureCode: hold.featureCode,
    expiresAt: hold.expiresAt.toISOString(),
    balance,
    replayed,
  };
}

function fingerprint(credits: number, seconds: number, featureCode: string | null): string {
  return createHash("sha256")
    .update(JSON.stringify({ credits, seconds, featureCode }))
    .digest("hex");
}

async function currentBalance(tx: Tx, workspaceId: string): Promise<number> {
  const rows = await tx.execute<{ balance: number }>(
    sql`SELECT balance FROM credit_balances WHERE workspace_id = ${workspaceId}`,
  );

  return rows[0]?.balance ?? 0;
}

/** Reserves credits until they are finalized, released or the hold expires. */
export const placeHold = defineCommand({
  name: "credits.placeHold",
  input: placeHoldInput,
  async run(ctx, input) {
    const { tx, clock, actor } = ctx;
    const terms = await consumptionTerms(tx, input.workspaceId);
    if (input.featureCode !== null && !findFeature(terms.priceTable, input.featureCode)) {
      // The same answer /usage gives: a hold is for a call that will be priced by this table.
      throw new AppError(
        "invalid_request",
        `Unknown feature "${input.featureCode}" for this workspace's tier`,
        {
          field: "featureCode",
          details: { features: terms.priceTable.map((price) => price.featureCode) },
        },
      );
    }
    const request = fingerprint(input.credits, input.expiresInSeconds, input.featureCode);
    const holdId = crypto.randomUUID();
    const expiresAt = new Date(clock.now().getTime() + input.expiresInSeconds * 1000);

    // The key is claimed by inserting the hold; a concurrent request with the same key waits on
    // the unique index and then finds the hold the first one placed.
    const inserted = await tx
      .insert(creditHolds)
      .values({
        id: holdId,
        workspaceId: input.workspaceId,
        amount: input.credits,
        featureCode: input.featureCode,
        idempotencyKey: input.idempotencyKey,
        requestHash: request,
        apiKeyId: actor.type === "api_key" ? actor.apiKeyId : null,
        userId: actor.type === "user" ? actor.userId : null,
        expiresAt,
        createdAt: clock.now(),
      })
      .onConflictDoNothing()
      .returning();
    if (!inserted[0]) {
      const [existing] = await tx
        .select()
        .from(creditHolds)
        .where(
          and(
            eq(creditHolds.workspaceId, input.workspaceId),
            eq(creditHolds.idempotencyKey, input.idempotencyKey ?? ""),
          ),
        );
      if (!existing) throw new Error("Hold vanished after an idempotency conflict");
      if (existing.requestHash !== request) {
        throw new AppError(
          "idempotency_conflict",
          "This Idempotency-Key already placed a hold with different parameters; use a new key " +
            "for a new hold",
          { field: "Idempotency-Key" },
        );
      }

      return {
        result: view(existing, await currentBalance(tx, input.workspaceId), true),
        workspaceId: input.workspaceId,
        audit: false,
      };
    }

    const draw = await drawCredits(tx, clock, {
      workspaceId: input.workspaceId,
      amount: input.credits,
      actor,
      reason: input.featureCode ? `Hold for ${input.featureCode}` : "Hold",
      idempotencyKey: input.idempotencyKey,
      usageRecordId: null,
      lowBalanceThreshold: terms.lowBalanceThreshold,
      kind: "hold",
      holdId,
    });
    if (!draw.ok) {
      throw new AppError(
        "insufficient_credits",
        `Not enough credits to hold ${input.credits.toLocaleString("en-US")}: the balance is ` +
          `${draw.balance.toLocaleString("en-US")}`,
        {
          field: "credits",
          details: { allowed: false, balance: draw.balance, required: input.credits },
        },
      );
    }

    return {
      result: view(inserted[0], draw.balanceAfter, false),
      events: [
        ...draw.events,
        event("credits/held", {
          workspaceId: input.workspaceId,
          holdId,
          credits: input.credits,
          expiresAt: expiresAt.toISOString(),
          balanceAfter: draw.balanceAfter,
        }),
      ],
      workspaceId: input.workspaceId,
      audit: false,
    };
  },
});

async function lockHold(tx: Tx, workspaceId: string, holdId: string): Promise<HoldRow> {
  const [hold] = await tx
    .select()
    .from(creditHolds)
    .where(and(eq(creditHolds.id, holdId), eq(creditHolds.workspaceId, workspaceId)))
    .for("update");
  if (!hold) throw new AppError("not_found", "No hold with this id in this workspace");

  return hold;
}

/**
 * Gives `credits` of a hold back to the grants it drew from, the last drawn
 * first, so what the hold keeps comes from the grants a direct consumption
 * would have used.
 */
async function giveBack(
  tx: Tx,
  clock: Clock,
  hold: HoldRow,
  credits: number,
  actor: Actor,
  reason: string,
  lowBalanceThreshold: number,
) {
  const drawn = await tx
    .select({ grantId: creditLedgerEntries.grantId, amount: creditLedgerEntries.amount })
    .from(creditLedgerEntries)
    .where(
      and(
        eq(creditLedgerEntries.workspaceId, hold.workspaceId),
        eq(creditLedgerEntries.holdId, hold.id),
        eq(creditLedgerEntries.kind, "hold"),
      ),
    )
    .orderBy(desc(creditLedgerEntries.id));
  const returns: { grantId: string; amount: number }[] = [];
  let left = credits;
  for (const entry of drawn) {
    if (left === 0) break;
    const amount = Math.min(left, -entry.amount);
    returns.push({ grantId: entry.grantId, amount });
    left -= amount;
  }
  if (left !== 0) throw new Error(`Hold ${hold.id} gives back more than it drew`);

  return returnCredits(tx, clock, {
    workspaceId: hold.workspaceId,
    returns,
    actor,
    reason,
    holdId: hold.id,
    lowBalanceThreshold,
  });
}

async function settle(
  tx: Tx,
  clock: Clock,
  hold: HoldRow,
  outcome: "finalized" | "released" | "expired",
  kept: number,
  actor: Actor,
  lowBalanceThreshold: number,
): Promise<{ hold: HoldRow; balanceAfter: number; events: EventDraft[] }> {
  const reason =
    outcome === "finalized"
      ? `Unused part of hold (kept ${kept.toLocaleString("en-US")})`
      : outcome === "released"
        ? "Hold released"
        : "Hold expired";
  const back =
    hold.amount - kept > 0
      ? await giveBack(tx, clock, hold, hold.amount - kept, actor, reason, lowBalanceThreshold)
      : { balanceAfter: await currentBalance(tx, hold.workspaceId), events: [] };
  const [updated] = await tx
    .update(creditHolds)
    .set({ status: outcome, finalAmount: kept, settledAt: clock.now() })
    .where(eq(creditHolds.id, hold.id))
    .returning();
  if (!updated) throw new Error(`Hold ${hold.id} vanished while settling`);

  return {
    hold: updated,
    balanceAfter: back.balanceAfter,
    events: [
      ...back.events,
      event("credits/hold-settled", {
        workspaceId: hold.workspaceId,
        holdId: hold.id,
        outcome,
        heldCredits: hold.amount,
        keptCredits: kept,
        balanceAfter: back.balanceAfter,
      }),
    ],
  };
}

function alreadySettled(hold: HoldRow): AppError {
  return new AppError(
    "conflict",
    hold.status === "expired"
      ? `This hold expired at ${hold.expiresAt.toISOString()} and its credits went back`
      : `This hold was already ${hold.status}`,
    { details: { status: hold.status, finalCredits: hold.finalAmount } },
  );
}

/**
 * Keeps `credits` of the hold (at most what it holds) and gives the rest
 * back. Finalizing again with the same amount returns the stored answer; with
 * another amount it is a conflict. The kept credits are recorded as a usage
 * record, like a consumption.
 */
export const finalizeHold = defineCommand({
  name: "credits.finalizeHold",
  input: finalizeHoldInput,
  async run(ctx, input) {
    const { tx, clock, actor } = ctx;
    // The hold before the balance (consumptionTerms locks it), the order release and expiry take.
    const hold = await lockHold(tx, input.workspaceId, input.holdId);
    const terms = await consumptionTerms(tx, input.workspaceId);
    if (hold.status === "finalized" && hold.finalAmount === input.credits) {
      return {
        result: view(hold, await currentBalance(tx, hold.workspaceId), true),
        workspaceId: input.workspaceId,
        audit: false,
      };
    }
    if (hold.status !== "active") throw alreadySettled(hold);
    if (hold.expiresAt.getTime() <= clock.now().getTime()) {
      throw new AppError(
        "conflict",
        `This hold expired at ${hold.expiresAt.toISOString()}; its credits are going back`,
        { details: { status: "expired" } },
      );
    }
    if (input.credits > hold.amount) {
      throw new AppError(
        "invalid_request",
        `A hold can keep at most the ${hold.amount.toLocaleString("en-US")} credits it holds`,
        { field: "credits", details: { held: hold.amount } },
      );
    }

    const settled = await settle(
      tx,
      clock,
      hold,
      "finalized",
      input.credits,
      actor,
      terms.lowBalanceThreshold,
    );
    const events = [...settled.events];
    if (input.credits > 0) {
      const usageRecordId = crypto.randomUUID();
      const featureCode = hold.featureCode ?? "hold";
      await tx.insert(usageRecords).values({
        id: usageRecordId,
        workspaceId: hold.workspaceId,
        featureCode,
        inputBytes: 0,
        units: 0,
        credits: input.credits,
        outcome: "consumed",
        apiKeyId: actor.type === "api_key" ? actor.apiKeyId : hold.apiKeyId,
        userId: actor.type === "user" ? actor.userId : hold.userId,
        idempotencyKey: hold.idempotencyKey,
        balanceAfter: settled.balanceAfter,
        holdId: hold.id,
        createdAt: clock.now(),
      });
      events.push(
        ...consumptionEvents(hold.workspaceId, [
          {
            featureCode,
            credits: input.credits,
            allowed: true,
            balance: settled.balanceAfter,
          },
        ]),
      );
    }

    return {
      result: view(settled.hold, settled.balanceAfter, false),
      events,
      workspaceId: input.workspaceId,
      audit: false,
    };
  },
});

/** Gives all of a hold's credits back. Releasing a released hold returns the stored answer. */
export const releaseHold = defineCommand({
  name: "credits.releaseHold",
  input: releaseHoldInput,
  async run(ctx, input) {
    const { tx, clock, actor } = ctx;
    const hold = await lockHold(tx, input.workspaceId, input.holdId);
    if (hold.status === "released") {
      return {
        result: view(hold, await currentBalance(tx, hold.workspaceId), true),
        workspaceId: input.workspaceId,
        audit: false,
      };
    }
    if (hold.status !== "active") throw alreadySettled(hold);
    // Releasing itself works in a suspended workspace (it only gives credits back); the metering
    // API refuses a suspended workspace's keys before they get here.
    const threshold = await lowBalanceThresholdOf(tx, input.workspaceId);
    const settled = await settle(tx, clock, hold, "released", 0, actor, threshold);

    return {
      result: view(settled.hold, settled.balanceAfter, false),
      events: settled.events,
      workspaceId: input.workspaceId,
      audit: false,
    };
  },
});

const EXPIRY_BATCH = 200;

/**
 * Every minute: releases the holds past their time limit. Holds being
 * finalized or released right now are skipped and picked up next time.
 */
export const expireHolds: CronHandler = async ({ tx, deps, log }) => {
  const due = await tx
    .select()
    .from(creditHolds)
    .where(and(eq(creditHolds.status, "active"), lte(creditHolds.expiresAt, deps.clock.now())))
    .orderBy(asc(creditHolds.expiresAt))
    .limit(EXPIRY_BATCH)
    .for("update", { skipLocked: true });
  const events: EventDraft[] = [];
  const actor = { type: "system", reason: "hold expiry" } as const;
  for (const hold of due.toSorted(inLockOrder)) {
    const threshold = await lowBalanceThresholdOf(tx, hold.workspaceId);
    const settled = await settle(tx, deps.clock, hold, "expired", 0, actor, threshold);
    events.push(...settled.events);
  }
  if (due.length > 0) log.info({ expired: due.length }, "expired holds");

  return events;
};
