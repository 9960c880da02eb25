import { createHash, randomUUID } from "node:crypto";

import { and, eq, sql } from "drizzle-orm";
import { z } from "zod";

import {
  creditGrants,
  creditPurchases,
  creditRefunds,
  disputes,
  idempotencyKeys,
  payments,
} from "@/drizzle/schema";
import { defineCommand } from "@/server/commands";
import type { Tx } from "@/server/db/client";
import { AppError } from "@/server/errors";
import { event } from "@/server/events/catalogue";
import type { ReactionHandler } from "@/server/events/reactions";
import { recordCreditRefundPayment } from "@/server/payments/refunds";

import { drawCredits, lockBalance, lowBalanceThresholdOf, MAX_CREDITS } from "./ledger";
import { refundAmountMinor } from "./refund-rule";

/**
 * Refunds of purchased credits. A refund gives back unused credits of one
 * purchase for money, pro rata to what was paid (./refund-rule.ts), and
 * never more than is left unused on that purchase's own grant: the credits
 * are drawn from that grant alone (ledger entries of kind `refund`), in the
 * same transaction that records the refund and emits credits/refunded.
 *
 * The money goes back afterwards, in a reaction to credits/refunded that
 * calls the gateway with the key `refund:<refundId>`. A gateway that cannot
 * be reached or refuses makes the reaction fail; it is retried with backoff
 * and then dead-lettered for an admin to replay. Meanwhile the refund stays
 * pending and the credits stay refunded: the customer gave them up when
 * asking, and what is owed is the money, which a replay sends. The money
 * sent is recorded as a payment refund (server/payments/refunds.ts), and a
 * later refund.failed from the gateway marks both failed.
 */

const SCOPE = "credits.refund";

const DISPUTED =
  "The payment for this purchase is disputed; the dispute decides the money, so it cannot be refunded now";

/**
 * Whether the purchase's payment has a dispute still open. Callers hold the
 * purchase's row lock, which the dispute handler takes too when it records a
 * dispute on a purchase (server/payments/disputes.ts), so the answer holds
 * until they commit.
 */
async function openDisputeOn(tx: Tx, purchaseId: string): Promise<boolean> {
  const [row] = await tx
    .select({ id: disputes.id })
    .from(disputes)
    .innerJoin(payments, eq(payments.id, disputes.paymentId))
    .where(and(eq(payments.purchaseId, purchaseId), eq(disputes.outcome, "open")))
    .limit(1);

  return row !== undefined;
}

export const requestRefundInput = z.object({
  workspaceId: z.uuid(),
  purchaseId: z.uuid({ error: "Choose a purchase to refund" }),
  /** How many unused credits to give back; all of them when left out. */
  credits: z
    .number({ error: "Enter a whole number of credits" })
    .int("Enter a whole number of credits")
    .min(1, "Refund at least 1 credit")
    .max(MAX_CREDITS, "That is more credits than any purchase holds")
    .optional(),
  reason: z
    .string({ error: "Say why you want a refund" })
    .trim()
    .min(3, "Say why, in at least 3 characters")
    .max(500, "Keep the reason under 500 characters"),
  /** A key per refund form, so a double submit refunds once. */
  idempotencyKey: z.string().trim().min(1).max(255).optional(),
});

export interface RefundResult {
  refundId: string;
  purchaseId: string;
  credits: number;
  amountMinor: number;
  currency: string;
  balanceAfter: number;
  replayed: boolean;
}

function fingerprint(purchaseId: string, credits: number | undefined, reason: string): string {
  return createHash("sha256")
    .update(JSON.stringify({ purchaseId, credits: credits ?? null, reason }))
    .digest("hex");
}

/** The stored result of an earlier request with this key, or undefined once the key is claimed. */
async function claimKey(
  tx: Tx,
  workspaceId: string,
  key: string,
  hash: string,
  now: Date,
): Promise<RefundResult | undefined> {
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
  if (!stored || stored.requestHash !== hash) {
    throw new AppError(
      "idempotency_conflict",
      "This refund form was already sent with other values; reload it to ask for another refund",
    );
  }

  return { ...(stored.responseBody as unknown as RefundResult), replayed: true };
}

export const requestRefund = defineCommand({
  name: "credits.requestRefund",
  input: requestRefundInput,
  async run({ tx, actor, clock }, input) {
    const hash = fingerprint(input.purchaseId, input.credits, input.reason);
    if (input.idempotencyKey) {
      const replay = await claimKey(tx, input.workspaceId, input.idempotencyKey, hash, clock.now());
      if (replay) return { result: replay, workspaceId: input.workspaceId, audit: false };
    }

    const [purchase] = await tx
      .select()
      .from(creditPurchases)
      .where(
        and(
          eq(creditPurchases.id, input.purchaseId),
          eq(creditPurchases.workspaceId, input.workspaceId),
        ),
      )
      .for("update");
    if (!purchase) {
      throw new AppError("not_found", "No such purchase in this workspace", {
        field: "purchaseId",
      });
    }
    if (purchase.status !== "paid" || !purchase.grantId) {
      throw new AppError("invalid_request", "Only a paid purchase can be refunded", {
        field: "purchaseId",
      });
    }
    if (!purchase.paymentIntentId) {
      throw new AppError("invalid_request", "This purchase has no payment to give money back to", {
        field: "purchaseId",
      });
    }

    if (await openDisputeOn(tx, purchase.id)) {
      throw new AppError("conflict", DISPUTED, { field: "purchaseId" });
    }

    // With the balance locked, the grant's remainder cannot change until this commits.
    await lockBalance(tx, input.workspaceId);
    const [grant] = await tx
      .select({ remaining: creditGrants.remaining })
      .from(creditGrants)
      .where(eq(creditGrants.id, purchase.grantId));
    const unused = grant?.remaining ?? 0;
    if (unused === 0) {
      throw new AppError(
        "invalid_request",
        "Every credit of this purchase is used, reserved or already refunded",
        { field: "credits", details: { refundableCredits: 0 } },
      );
    }
    const credits = input.credits ?? unused;
    if (credits > unused) {
      throw new AppError(
        "invalid_request",
        `Only ${unused.toLocaleString("en-US")} credits of this purchase are unused`,
        { field: "credits", details: { refundableCredits: unused } },
      );
    }
    const amountMinor = refundAmountMinor(
      {
        amountMinor: purchase.amountMinor,
        purchasedCredits: purchase.credits,
        refundedCredits: purchase.refundedCredits,
        refundedMinor: purchase.refundedMinor,
      },
      credits,
    );
    if (amountMinor === 0) {
      throw new AppError(
        "invalid_request",
        "That many credits are worth less than the smallest unit of the currency; refund more",
        { field: "credits" },
      );
    }

    const refundId = randomUUID();
    const drawn = await drawCredits(tx, clock, {
      workspaceId: input.workspaceId,
      amount: credits,
      actor,
      reason: `Refund: ${input.reason}`,
      idempotencyKey: `refund:${refundId}`,
      usageRecordId: null,
      lowBalanceThreshold: await lowBalanceThresholdOf(tx, input.workspaceId),
      kind: "refund",
      grantIds: [purchase.grantId],
      // Money asked back is no reason to buy credits automatically.
      topUp: false,
    });
    if (!drawn.ok) throw new Error(`Refund ${refundId} found fewer credits than it counted`);

    await tx.insert(creditRefunds).values({
      id: refundId,
      workspaceId: input.workspaceId,
      purchaseId: purchase.id,
      credits,
      amountMinor,
      currency: purchase.currency,
      reason: input.reason,
      userId: actor.type === "user" ? actor.userId : null,
      createdAt: clock.now(),
    });
    await tx
      .update(creditPurchases)
      .set({
        refundedCredits: sql`${creditPurchases.refundedCredits} + ${credits}`,
        refundedMinor: sql`${creditPurchases.refundedMinor} + ${amountMinor}`,
      })
      .where(eq(creditPurchases.id, purchase.id));

    const result: RefundResult = {
      refundId,
      purchaseId: purchase.id,
      credits,
      amountMinor,
      currency: purchase.currency,
      balanceAfter: drawn.balanceAfter,
      replayed: false,
    };
    if (input.idempotencyKey) {
      await tx
        .update(idempotencyKeys)
        .set({ responseStatus: 200, responseBody: { ...result } })
        .where(
          and(
            eq(idempotencyKeys.workspaceId, input.workspaceId),
            eq(idempotencyKeys.scope, SCOPE),
            eq(idempotencyKeys.key, input.idempotencyKey),
          ),
        );
    }

    return {
      result,
      workspaceId: input.workspaceId,
      audit: { refundId, purchaseId: purchase.id, credits, amountMinor, reason: input.reason },
      events: [
        ...drawn.events,
        event("credits/refunded", {
          workspaceId: input.workspaceId,
          purchaseId: purchase.id,
          grantId: purchase.grantId,
          credits,
          amountMinor,
          currency: purchase.currency,
          refundId,
        }),
      ],
    };
  },
});

/**
 * credits/refunded → the money back at the gateway, under the key
 * `refund:<refundId>`, so a retry finds the refund the first attempt made.
 * A gateway that accepts the refund (succeeded, or pending at Stripe) settles
 * it; one that answers with a failed refund marks it failed for an admin to
 * resolve; an error is thrown and retried.
 */
export const sendRefundToGateway: ReactionHandler<"credits/refunded"> = async ({
  tx,
  event,
  deps,
  log,
}) => {
  const [refund] = await tx
    .select()
    .from(creditRefunds)
    .where(eq(creditRefunds.id, event.data.refundId))
    .for("update");
  if (!refund || refund.status !== "pending") return;
  const [purchase] = await tx
    .select({
      paymentIntentId: creditPurchases.paymentIntentId,
      gateway: creditPurchases.gateway,
    })
    .from(creditPurchases)
    .where(eq(creditPurchases.id, refund.purchaseId))
    // Serialises with a dispute being recorded on this purchase.
    .for("update");
  if (purchase && (await openDisputeOn(tx, refund.purchaseId))) {
    // A dispute opened after the refund was asked for: the card network may give the whole
    // payment back, so sending this too could return more than was paid.
    await tx
      .update(creditRefunds)
      .set({
        status: "failed",
        failureReason:
          "Not sent: the payment was disputed after the refund was asked for, and the dispute decides the money",
        settledAt: deps.clock.now(),
      })
      .where(eq(creditRefunds.id, refund.id));
    log.error(
      { refundId: refund.id, purchaseId: refund.purchaseId },
      "refund not sent: the payment is disputed",
    );
    return;
  }
  if (!purchase?.paymentIntentId) {
    throw new Error(`Purchase ${refund.purchaseId} has no payment to refund`);
  }
  if (purchase.gateway !== deps.gateway.kind) {
    throw new Error(
      `Purchase ${refund.purchaseId} was paid through ${purchase.gateway}; the gateway in use is ` +
        deps.gateway.kind,
    );
  }

  const answer = await deps.gateway.refund(
    {
      paymentIntentId: purchase.paymentIntentId,
      amountMinor: refund.amountMinor,
      metadata: {
        refund_id: refund.id,
        purchase_id: refund.purchaseId,
        workspace_id: refund.workspaceId,
      },
    },
    `refund:${refund.id}`,
  );
  const failed = answer.status === "failed";
  await tx
    .update(creditRefunds)
    .set({
      status: failed ? "failed" : "succeeded",
      gatewayRefundId: answer.refundId,
      failureReason: failed ? "The payment gateway could not send the money back" : null,
      settledAt: deps.clock.now(),
    })
    .where(eq(creditRefunds.id, refund.id));
  await recordCreditRefundPayment(tx, deps.clock, refund, answer);
  if (failed) {
    // TODO: a refund the gateway fails stays failed on the purchase with its credits refunded;
    // a platform admin settles it by hand (adjust credits or refund at the gateway), and is not
    // notified yet beyond the admin refunds page.
    log.error({ refundId: refund.id, gatewayRefundId: answer.refundId }, "gateway failed a refund");
  } else {
    log.info({ refundId: refund.id, gatewayRefundId: answer.refundId }, "refund sent to gateway");
  }
};
