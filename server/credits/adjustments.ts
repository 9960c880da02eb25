import { randomUUID } from "node:crypto";

import { and, eq, inArray } from "drizzle-orm";
import { z } from "zod";

import { creditTransfers, workspaceMembers, workspaces } from "@/drizzle/schema";
import { defineCommand } from "@/server/commands";
import type { Tx } from "@/server/db/client";
import { inactiveWorkspaceError } from "@/server/auth/access";
import { AppError } from "@/server/errors";
import { event, type EventDraft } from "@/server/events/catalogue";
import { requireTierFeature } from "@/server/workspaces/tiers";

import {
  drawCredits,
  grantCredits,
  lockBalance,
  lowBalanceThresholdOf,
  MAX_CREDITS,
} from "./ledger";
import { uuidFromName } from "./purchases";

/**
 * Credits moved by people rather than by usage: a platform admin's signed
 * correction, a one-off allocation, and a transfer between two workspaces of
 * the same owner. Each is one command in one transaction; the ledger stays
 * append-only, so a correction is a new entry and never an edit.
 */

const reason = z
  .string()
  .trim()
  .min(3, "Say why, in at least 3 characters")
  .max(500, "Keep the reason under 500 characters");

const wholeCredits = z
  .number({ error: "Enter a whole number of credits" })
  .int("Enter a whole number of credits")
  .min(-MAX_CREDITS, "That is more credits than a balance can hold")
  .max(MAX_CREDITS, "That is more credits than a balance can hold");

/** A date PostgreSQL can store and people can read: before the year 10000. */
const expiry = z.coerce
  .date({ error: "Enter a valid date" })
  .max(new Date("9999-12-31T23:59:59Z"), "Choose an expiry before the year 10000")
  .nullable()
  .optional();

/** Optional caller-chosen key, so a double-clicked form does not adjust twice. */
const idempotencyKey = z.string().trim().min(1).max(255).optional();

async function requireWorkspace(tx: Tx, workspaceId: string, mustBeActive: boolean) {
  const [row] = await tx
    .select({ id: workspaces.id, name: workspaces.name, status: workspaces.status })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId));
  if (!row) throw new AppError("not_found", "Workspace not found");
  if (mustBeActive && row.status !== "active") {
    throw inactiveWorkspaceError(row.status, `${row.name} takes no credit changes`);
  }

  return row;
}

export const adjustCreditsInput = z.object({
  workspaceId: z.uuid(),
  /** Positive adds credits, negative removes them. */
  credits: wholeCredits.refine((value) => value !== 0, "An adjustment cannot be zero"),
  reason,
  /** When added credits lapse; removing credits ignores it. */
  expiresAt: expiry,
  idempotencyKey,
});

/**
 * A platform admin's correction. Added credits become an `adjustment` grant
 * drawn after allowances and before purchases; removed credits are drawn
 * like a consumption, so the balance never goes below zero.
 */
export const adjustCredits = defineCommand({
  name: "credits.adjust",
  input: adjustCreditsInput,
  async run({ tx, actor, clock }, input) {
    if (actor.type !== "user") throw new AppError("forbidden", "Adjustments are made by a person");
    // An admin may correct a suspended workspace too: that is often why it was suspended.
    await requireWorkspace(tx, input.workspaceId, false);
    const threshold = await lowBalanceThresholdOf(tx, input.workspaceId);
    const key = `adjustment:${input.idempotencyKey ?? crypto.randomUUID()}`;
    if (input.expiresAt && input.expiresAt.getTime() <= clock.now().getTime()) {
      throw new AppError("invalid_request", "The expiry must be in the future", {
        field: "expiresAt",
      });
    }

    let balanceAfter: number;
    const events: EventDraft[] = [];
    if (input.credits > 0) {
      const granted = await grantCredits(tx, clock, {
        workspaceId: input.workspaceId,
        source: "adjustment",
        amount: input.credits,
        idempotencyKey: key,
        reason: input.reason,
        actor,
        priority: 150,
        expiresAt: input.expiresAt ?? null,
        entryKind: "adjustment",
        lowBalanceThreshold: threshold,
      });
      if (!granted.created) {
        return { result: { balanceAfter: granted.balanceAfter, replayed: true }, audit: false };
      }
      balanceAfter = granted.balanceAfter;
      events.push(...granted.events);
    } else {
      const drawn = await drawCredits(tx, clock, {
        workspaceId: input.workspaceId,
        amount: -input.credits,
        actor,
        reason: input.reason,
        idempotencyKey: key,
        usageRecordId: null,
        lowBalanceThreshold: threshold,
        kind: "adjustment",
      });
      if (!drawn.ok) {
        throw new AppError(
          "insufficient_credits",
          `The balance is ${drawn.balance.toLocaleString("en-US")}; an adjustment cannot take ` +
            `it below zero`,
          { field: "credits", details: { balance: drawn.balance } },
        );
      }
      balanceAfter = drawn.balanceAfter;
      events.push(...drawn.events);
    }
    events.push(
      event("credits/adjusted", {
        workspaceId: input.workspaceId,
        credits: input.credits,
        reason: input.reason,
        balanceAfter,
        actor: { type: "user", id: actor.userId },
      }),
    );

    return {
      result: { balanceAfter, replayed: false },
      events,
      workspaceId: input.workspaceId,
    };
  },
});

export const allocateCreditsInput = z.object({
  workspaceId: z.uuid(),
  credits: wholeCredits.min(1, "Allocate at least 1 credit"),
  source: z.enum(["promotion", "trial", "adjustment"]).default("promotion"),
  reason,
  expiresAt: expiry,
  idempotencyKey,
});

/**
 * A one-off allocation on top of the tier's monthly allowance (a trial
 * extension, a goodwill gesture). Periods allocate the allowance itself.
 */
export const allocateCredits = defineCommand({
  name: "credits.allocate",
  input: allocateCreditsInput,
  async run({ tx, actor, clock }, input) {
    // An admin may correct a suspended workspace too: that is often why it was suspended.
    await requireWorkspace(tx, input.workspaceId, false);
    if (input.expiresAt && input.expiresAt.getTime() <= clock.now().getTime()) {
      throw new AppError("invalid_request", "The expiry must be in the future", {
        field: "expiresAt",
      });
    }
    const granted = await grantCredits(tx, clock, {
      workspaceId: input.workspaceId,
      source: input.source,
      amount: input.credits,
      idempotencyKey: `allocation:${input.idempotencyKey ?? crypto.randomUUID()}`,
      reason: input.reason,
      actor,
      priority: 150,
      expiresAt: input.expiresAt ?? null,
      lowBalanceThreshold: await lowBalanceThresholdOf(tx, input.workspaceId),
    });
    if (!granted.created) {
      return {
        result: { grantId: granted.grantId, balanceAfter: granted.balanceAfter, replayed: true },
        audit: false,
      };
    }

    return {
      result: { grantId: granted.grantId, balanceAfter: granted.balanceAfter, replayed: false },
      events: granted.events,
      workspaceId: input.workspaceId,
    };
  },
});

/** A transfer's fields; the procedure takes the sending workspace from its own scope. */
export const transferFields = z.object({
  fromWorkspaceId: z.uuid(),
  toWorkspaceId: z.uuid(),
  credits: wholeCredits.min(1, "Transfer at least 1 credit"),
  reason,
  idempotencyKey,
});

export const transferCreditsInput = transferFields.refine(
  (input) => input.fromWorkspaceId !== input.toWorkspaceId,
  {
    message: "Choose a different workspace to receive the credits",
    path: ["toWorkspaceId"],
  },
);

/**
 * Moves credits between two workspaces the caller owns. The sending side is
 * drawn like a consumption; every grant it touched reappears on the
 * receiving side as a `transfer` grant with the same expiry, so moving
 * credits never extends their life. Both balances are locked in id order,
 * so two opposite transfers cannot deadlock.
 */
export const transferCredits = defineCommand({
  name: "credits.transfer",
  input: transferCreditsInput,
  async run({ tx, actor, clock }, input) {
    if (actor.type !== "user") throw new AppError("forbidden", "Transfers are made by a person");
    const owned = await tx
      .select({ workspaceId: workspaceMembers.workspaceId })
      .from(workspaceMembers)
      .where(
        and(
          eq(workspaceMembers.userId, actor.userId),
          eq(workspaceMembers.role, "owner"),
          inArray(workspaceMembers.workspaceId, [input.fromWorkspaceId, input.toWorkspaceId]),
        ),
      );
    if (owned.length !== 2) {
      throw new AppError("forbidden", "Credits move only between workspaces you own", {
        field: "toWorkspaceId",
      });
    }
    const from = await requireWorkspace(tx, input.fromWorkspaceId, true);
    const to = await requireWorkspace(tx, input.toWorkspaceId, true);
    await requireTierFeature(tx, input.fromWorkspaceId, "transfers");
    for (const workspaceId of [input.fromWorkspaceId, input.toWorkspaceId].sort()) {
      await lockBalance(tx, workspaceId);
    }

    // A key names the transfer: a second submission of the same form finds it and moves nothing.
    const id = input.idempotencyKey
      ? uuidFromName(`transfer:${actor.userId}:${input.idempotencyKey}`)
      : randomUUID();
    const [transfer] = await tx
      .insert(creditTransfers)
      .values({
        id,
        fromWorkspaceId: input.fromWorkspaceId,
        toWorkspaceId: input.toWorkspaceId,
        credits: input.credits,
        reason: input.reason,
        userId: actor.userId,
        createdAt: clock.now(),
      })
      .onConflictDoNothing({ target: creditTransfers.id })
      .returning({ id: creditTransfers.id });
    if (!transfer) {
      const [earlier] = await tx.select().from(creditTransfers).where(eq(creditTransfers.id, id));
      if (
        earlier?.fromWorkspaceId !== input.fromWorkspaceId ||
        earlier.toWorkspaceId !== input.toWorkspaceId ||
        earlier.credits !== input.credits
      ) {
        throw new AppError(
          "idempotency_conflict",
          "This key was used for another transfer; reload the form and try again",
        );
      }
      const [fromBalance, toBalance] = await Promise.all([
        lockBalance(tx, input.fromWorkspaceId),
        lockBalance(tx, input.toWorkspaceId),
      ]);

      return {
        result: {
          transferId: id,
          fromBalance: fromBalance.balance,
          toBalance: toBalance.balance,
          replayed: true,
        },
        audit: false,
      };
    }

    const drawn = await drawCredits(tx, clock, {
      workspaceId: input.fromWorkspaceId,
      amount: input.credits,
      actor,
      reason: `Transferred to ${to.name}: ${input.reason}`,
      idempotencyKey: `transfer:${transfer.id}`,
      usageRecordId: null,
      lowBalanceThreshold: await lowBalanceThresholdOf(tx, input.fromWorkspaceId),
      kind: "transfer",
    });
    if (!drawn.ok) {
      throw new AppError(
        "insufficient_credits",
        `${from.name} has ${drawn.balance.toLocaleString("en-US")} credits to give`,
        { field: "credits", details: { balance: drawn.balance } },
      );
    }

    // One receiving grant per distinct expiry keeps the carried expiries exact.
    const byExpiry = new Map<number | null, number>();
    for (const draw of drawn.draws) {
      const at = draw.expiresAt?.getTime() ?? null;
      byExpiry.set(at, (byExpiry.get(at) ?? 0) + draw.amount);
    }
    const receiverThreshold = await lowBalanceThresholdOf(tx, input.toWorkspaceId);
    const events: EventDraft[] = [...drawn.events];
    let receiverBalance = 0;
    for (const [at, amount] of byExpiry) {
      const granted = await grantCredits(tx, clock, {
        workspaceId: input.toWorkspaceId,
        source: "transfer",
        amount,
        idempotencyKey: `transfer:${transfer.id}:${at ?? "never"}`,
        reason: `Transferred from ${from.name}: ${input.reason}`,
        actor,
        priority: 150,
        expiresAt: at === null ? null : new Date(at),
        entryKind: "transfer",
        lowBalanceThreshold: receiverThreshold,
      });
      receiverBalance = granted.balanceAfter;
      events.push(...granted.events);
    }

    events.push(
      event("credits/transferred", {
        workspaceId: input.fromWorkspaceId,
        transferId: transfer.id,
        counterpartWorkspaceId: input.toWorkspaceId,
        credits: -input.credits,
        balanceAfter: drawn.balanceAfter,
      }),
      event("credits/transferred", {
        workspaceId: input.toWorkspaceId,
        transferId: transfer.id,
        counterpartWorkspaceId: input.fromWorkspaceId,
        credits: input.credits,
        balanceAfter: receiverBalance,
      }),
    );

    return {
      result: {
        transferId: transfer.id,
        fromBalance: drawn.balanceAfter,
        toBalance: receiverBalance,
        replayed: false,
      },
      events,
      workspaceId: input.fromWorkspaceId,
    };
  },
});
