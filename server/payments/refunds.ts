import { and, desc, eq, gt, inArray, isNull, lt, sql, type SQL } from "drizzle-orm";
import { z } from "zod";

import {
  billingAdjustments,
  creditGrants,
  creditPurchases,
  creditRefunds,
  invoices,
  paymentRefunds,
  payments,
  workspaces,
} from "@/drizzle/schema";
import type { Actor } from "@/server/actor";
import type { Clock } from "@/server/clock";
import { drawCredits, lowBalanceThresholdOf } from "@/server/credits/ledger";
import { uuidFromName } from "@/server/credits/purchases";
import { proRataMinor } from "@/server/credits/refund-rule";
import type { Tx } from "@/server/db/client";
import type { EventDraft } from "@/server/events/catalogue";
import type { ReactionHandler } from "@/server/events/reactions";
import type { Logger } from "@/server/logger";
import { formatMoney } from "@/server/money";

import { paymentForCharge, type PaymentRow } from "./converge";
import type { StripeEventHandler } from "./reactions";

/**
 * Money given back at the gateway, recorded in `payment_refunds` whoever
 * started it:
 *
 * - a credit refund (origin credit_refund): the customer gave unused
 *   credits back; credits/refunded sent the money (credits/refunds.ts);
 * - a cancellation (origin cancellation): the credit a cancelled workspace
 *   is owed is paid back against its latest invoice payments;
 * - the gateway itself (origin gateway): someone refunded at Stripe's
 *   dashboard; charge.refunded tells Tally, which records it and, for a
 *   purchase, takes back the purchase's unspent credits pro rata.
 *
 * Each gateway refund is recorded once, by its id. Every recorded refund
 * that the gateway has not failed counts in the payment's and the invoice's
 * amount refunded.
 */

const actor: Actor = { type: "system", reason: "payment webhook" };

type RefundStatus = "pending" | "succeeded" | "failed";

/** Adds (or, for a refund that failed after all, takes away) money refunded on a payment. */
async function countRefunded(tx: Tx, payment: PaymentRow, deltaMinor: number): Promise<void> {
  if (deltaMinor === 0) return;
  await tx
    .update(payments)
    .set({
      amountRefundedMinor: sql`least(${payments.amountMinor}, greatest(0, ${payments.amountRefundedMinor} + ${deltaMinor}))`,
    })
    .where(eq(payments.id, payment.id));
  const invoiceOf =
    payment.kind === "invoice" && payment.invoiceId
      ? eq(invoices.id, payment.invoiceId)
      : payment.purchaseId
        ? eq(invoices.purchaseId, payment.purchaseId)
        : undefined;
  if (!invoiceOf) return;
  await tx
    .update(invoices)
    .set({
      amountRefundedMinor: sql`greatest(0, ${invoices.amountRefundedMinor} + ${deltaMinor})`,
    })
    .where(invoiceOf);
}

/**
 * Records what the gateway answered to a credit refund's money (called by
 * sendRefundToGateway in the same transaction): its payment_refunds row,
 * and the money counted on the purchase's payment.
 */
export async function recordCreditRefundPayment(
  tx: Tx,
  clock: Clock,
  refund: typeof creditRefunds.$inferSelect,
  answer: { refundId: string; status: RefundStatus },
): Promise<void> {
  const [payment] = await tx
    .select()
    .from(payments)
    .where(eq(payments.purchaseId, refund.purchaseId))
    .for("update");
  if (!payment) return;
  const [known] = await tx
    .select()
    .from(paymentRefunds)
    .where(eq(paymentRefunds.gatewayRefundId, answer.refundId));
  if (known) return;
  await tx.insert(paymentRefunds).values({
    workspaceId: refund.workspaceId,
    paymentId: payment.id,
    origin: "credit_refund",
    creditRefundId: refund.id,
    gatewayRefundId: answer.refundId,
    amountMinor: refund.amountMinor,
    currency: refund.currency,
    reason: refund.reason,
    status: answer.status,
    failureReason:
      answer.status === "failed" ? "The payment gateway could not send the money back" : null,
    createdAt: clock.now(),
    settledAt: answer.status === "pending" ? null : clock.now(),
  });
  if (answer.status !== "failed") await countRefunded(tx, payment, refund.amountMinor);
}

// ---------------------------------------------------------------------------
// Refunds learnt from the gateway's webhooks.

const metadata = z.record(z.string(), z.unknown()).nullish();
const reference = z.union([z.string(), z.object({ id: z.string() }).loose()]).nullish();

const gatewayRefund = z
  .object({
    id: z.string(),
    amount: z.number().int().positive(),
    status: z.string().nullish(),
    failure_reason: z.string().nullish(),
    charge: reference,
    payment_intent: reference,
    metadata,
  })
  .loose();

const charge = z
  .object({
    id: z.string(),
    object: z.literal("charge"),
    amount_refunded: z.number().int().nonnegative(),
    currency: z.string(),
    payment_intent: reference,
    metadata,
    refunds: z
      .object({ data: z.array(gatewayRefund) })
      .loose()
      .nullish(),
  })
  .loose();

function idOf(value: z.output<typeof reference>): string | null {
  if (!value) return null;

  return typeof value === "string" ? value : value.id;
}

function objectOf<T extends z.ZodType>(schema: T, payload: Record<string, unknown>): z.output<T> {
  const data = payload.data as { object?: unknown } | undefined;
  const parsed = schema.safeParse(data?.object);
  if (!parsed.success) {
    throw new Error(`Webhook ${String(payload.id)} does not carry the expected object`);
  }

  return parsed.data;
}

function statusOf(status: string | null | undefined): RefundStatus {
  if (status === "succeeded") return "succeeded";
  if (status === "failed" || status === "canceled") return "failed";

  return "pending";
}

/** A refund Tally knows moves to the status the gateway reports; a failure un-counts its money. */
async function settleKnownRefund(
  tx: Tx,
  clock: Clock,
  log: Logger,
  row: typeof paymentRefunds.$inferSelect,
  status: RefundStatus,
  failureReason: string | null,
): Promise<void> {
  if (row.status === status || row.status === "failed") return;
  await tx
    .update(paymentRefunds)
    .set({
      status,
      failureReason:
        status === "failed" ? (failureReason ?? "The gateway failed the refund") : null,
      settledAt: status === "pending" ? null : clock.now(),
    })
    .where(eq(paymentRefunds.id, row.id));
  if (status !== "failed") return;

  const [payment] = await tx.select().from(payments).where(eq(payments.id, row.paymentId));
  if (payment) await countRefunded(tx, payment, -row.amountMinor);
  if (row.creditRefundId) {
    // The credits stay given up; what the customer is owed is the money, for an admin to settle.
    await tx
      .update(creditRefunds)
      .set({ status: "failed", failureReason: failureReason ?? "The gateway failed the refund" })
      .where(eq(creditRefunds.id, row.creditRefundId));
  }
  log.error(
    { paymentRefundId: row.id, gatewayRefundId: row.gatewayRefundId, failureReason },
    "the gateway failed a refund",
  );
}

interface SeenRefund {
  id: string;
  amountMinor: number;
  status: RefundStatus;
  failureReason: string | null;
  metadata: Record<string, unknown>;
}

/**
 * One refund the gateway reports on a payment. Known by its id: its status
 * is brought up to date. Tally's own but not yet tied to its id (the
 * reaction that asked for it has not committed, or rolled back after the
 * gateway answered): tied now. Unknown: made at the gateway, recorded and
 * reconciled.
 */
/** The payment refund a condition names, locked; refunds are looked up three ways below. */
async function lockPaymentRefund(tx: Tx, where: SQL) {
  const [row] = await tx.select().from(paymentRefunds).where(where).for("update");

  return row;
}

async function applyGatewayRefund(
  tx: Tx,
  clock: Clock,
  log: Logger,
  payment: PaymentRow,
  seen: SeenRefund,
): Promise<EventDraft[]> {
  const known = await lockPaymentRefund(tx, eq(paymentRefunds.gatewayRefundId, seen.id));
  if (known) {
    await settleKnownRefund(tx, clock, log, known, seen.status, seen.failureReason);
    return [];
  }

  const ownId = z.uuid().safeParse(seen.metadata.payment_refund_id);
  if (ownId.success) {
    const own = await lockPaymentRefund(tx, eq(paymentRefunds.id, ownId.data));
    if (own) {
      await tx
        .update(paymentRefunds)
        .set({ gatewayRefundId: seen.id })
        .where(eq(paymentRefunds.id, own.id));
      await settleKnownRefund(tx, clock, log, own, seen.status, seen.failureReason);
      return [];
    }
  }
  const creditRefundId = z.uuid().safeParse(seen.metadata.refund_id);
  if (creditRefundId.success) {
    // Waits for the reaction sending this refund, if it is still running.
    const [creditRefund] = await tx
      .select()
      .from(creditRefunds)
      .where(eq(creditRefunds.id, creditRefundId.data))
      .for("update");
    if (creditRefund) {
      const recorded = await lockPaymentRefund(
        tx,
        eq(paymentRefunds.creditRefundId, creditRefund.id),
      );
      if (recorded) {
        if (!recorded.gatewayRefundId) {
          await tx
            .update(paymentRefunds)
            .set({ gatewayRefundId: seen.id })
            .where(eq(paymentRefunds.id, recorded.id));
        }
        await settleKnownRefund(tx, clock, log, recorded, seen.status, seen.failureReason);
        return [];
      }
      // The gateway holds the refund the reaction asked for, but the reaction's record of it
      // was lost: settle the credit refund here, and the reaction finds nothing left to do.
      if (creditRefund.status === "pending") {
        await tx
          .update(creditRefunds)
          .set({
            status: seen.status === "failed" ? "failed" : "succeeded",
            gatewayRefundId: seen.id,
            settledAt: clock.now(),
          })
          .where(eq(creditRefunds.id, creditRefund.id));
      }
      await recordCreditRefundPayment(tx, clock, creditRefund, {
        refundId: seen.id,
        status: seen.status,
      });
      return [];
    }
  }

  return recordRefundMadeAtGateway(tx, clock, log, payment, seen);
}

/**
 * A refund made at the gateway, not through Tally: recorded (origin
 * gateway) and counted; for a purchase, the credits that money bought are
 * taken back from the purchase's grant, pro rata to the amount and never
 * more than is unspent, through a credit refund that is already settled (so
 * no second refund is sent). What was already spent is the shortfall, said
 * in the refund's reason and logged.
 */
async function recordRefundMadeAtGateway(
  tx: Tx,
  clock: Clock,
  log: Logger,
  payment: PaymentRow,
  seen: SeenRefund,
): Promise<EventDraft[]> {
  const room = Math.max(payment.amountMinor - payment.amountRefundedMinor, 0);
  if (seen.amountMinor > room) {
    // The gateway never refunds more than a charge has left: the event is forged or garbled.
    throw new Error(
      `Gateway refund ${seen.id} of ${seen.amountMinor} ${payment.currency} is more than the ` +
        `${room} left to refund on payment ${payment.id}`,
    );
  }
  const amountMinor = seen.amountMinor;
  let reason = "Refunded at the payment gateway";
  const events: EventDraft[] = [];

  let creditRefundId: string | null = null;
  if (payment.kind === "purchase" && payment.purchaseId && amountMinor > 0) {
    const [purchase] = await tx
      .select()
      .from(creditPurchases)
      .where(eq(creditPurchases.id, payment.purchaseId))
      .for("update");
    if (purchase?.grantId) {
      const owed = Math.min(
        purchase.credits - purchase.refundedCredits,
        proRataMinor(purchase.credits, purchase.amountMinor, amountMinor),
      );
      const [grant] = await tx
        .select({ remaining: creditGrants.remaining })
        .from(creditGrants)
        .where(eq(creditGrants.id, purchase.grantId));
      const taken = Math.min(owed, grant?.remaining ?? 0);
      const shortfall = owed - taken;
      reason =
        `Refunded at the payment gateway (${formatMoney(amountMinor, purchase.currency)}): ` +
        `${taken.toLocaleString("en-US")} unspent credits taken back` +
        (shortfall > 0 ? `, ${shortfall.toLocaleString("en-US")} already spent (shortfall)` : "");
      if (taken > 0) {
        creditRefundId = uuidFromName(`gateway-refund:${seen.id}`);
        const drawn = await drawCredits(tx, clock, {
          workspaceId: purchase.workspaceId,
          amount: taken,
          actor,
          reason,
          idempotencyKey: `refund:${creditRefundId}`,
          usageRecordId: null,
          lowBalanceThreshold: await lowBalanceThresholdOf(tx, purchase.workspaceId),
          kind: "refund",
          grantIds: [purchase.grantId],
          topUp: false,
        });
        if (!drawn.ok)
          throw new Error(`Gateway refund ${seen.id} found fewer credits than counted`);
        events.push(...drawn.events);
        await tx.insert(creditRefunds).values({
          id: creditRefundId,
          workspaceId: purchase.workspaceId,
          purchaseId: purchase.id,
          credits: taken,
          amountMinor,
          currency: purchase.currency,
          reason,
          status: "succeeded",
          gatewayRefundId: seen.id,
          createdAt: clock.now(),
          settledAt: clock.now(),
        });
      }
      await tx
        .update(creditPurchases)
        .set({
          refundedCredits: sql`${creditPurchases.refundedCredits} + ${taken}`,
          refundedMinor: sql`least(${creditPurchases.amountMinor}, ${creditPurchases.refundedMinor} + ${amountMinor})`,
        })
        .where(eq(creditPurchases.id, purchase.id));
      if (shortfall > 0) {
        log.warn(
          { purchaseId: purchase.id, gatewayRefundId: seen.id, shortfallCredits: shortfall },
          "refunded at the gateway after some credits were spent",
        );
      }
    }
  }

  await tx.insert(paymentRefunds).values({
    workspaceId: payment.workspaceId,
    paymentId: payment.id,
    origin: "gateway",
    // The credit refund that took the purchase's credits back, when there was one to take.
    creditRefundId,
    invoiceId: payment.invoiceId,
    gatewayRefundId: seen.id,
    amountMinor: seen.amountMinor,
    currency: payment.currency,
    reason,
    status: seen.status,
    failureReason: seen.status === "failed" ? seen.failureReason : null,
    createdAt: clock.now(),
    settledAt: seen.status === "pending" ? null : clock.now(),
  });
  if (seen.status !== "failed") await countRefunded(tx, payment, amountMinor);
  log.info(
    { paymentId: payment.id, gatewayRefundId: seen.id, amountMinor, creditRefundId },
    "refund made at the gateway recorded",
  );

  return events;
}

/** What Tally has counted as refunded on a payment, by the rows it holds. */
async function recordedRefundedMinor(tx: Tx, paymentId: string): Promise<number> {
  const [row] = await tx
    .select({
      sum: sql<number>`coalesce(sum(${paymentRefunds.amountMinor}), 0)::int`,
    })
    .from(paymentRefunds)
    .where(
      and(
        eq(paymentRefunds.paymentId, paymentId),
        inArray(paymentRefunds.status, ["pending", "succeeded"]),
      ),
    );

  return row?.sum ?? 0;
}

/**
 * charge.refunded (and charge.refund.updated, refund.updated, refund.failed)
 * → each refund the event reports, applied once by its id. A charge event
 * that does not list its refunds is compared by total: what the gateway has
 * refunded beyond what Tally holds is one refund made at the gateway, keyed
 * by the charge and that total, so a redelivery records nothing new.
 */
const chargeRefunded: StripeEventHandler = async (tx, payload, { deps, log }) => {
  const object = objectOf(charge, payload);
  const events: EventDraft[] = [];
  const payment = await paymentForCharge(
    tx,
    deps,
    log,
    {
      chargeId: object.id,
      paymentIntentId: idOf(object.payment_intent),
      metadata: object.metadata,
    },
    events,
  );
  if (!payment) {
    log.info({ chargeId: object.id }, "refunded charge is not Tally's; acknowledged");
    return events;
  }
  const [locked] = await tx
    .select()
    .from(payments)
    .where(eq(payments.id, payment.id))
    .for("update");
  if (!locked) return events;
  if (object.amount_refunded > locked.amountMinor) {
    throw new Error(
      `Charge ${object.id} says ${object.amount_refunded} ${locked.currency} was refunded; ` +
        `payment ${locked.id} took only ${locked.amountMinor}`,
    );
  }
  if (object.currency.toUpperCase() !== locked.currency.toUpperCase()) {
    throw new Error(
      `Charge ${object.id} is in ${object.currency}; payment ${locked.id} is in ${locked.currency}`,
    );
  }

  const listed = object.refunds?.data ?? [];
  if (listed.length > 0) {
    for (const refund of listed) {
      const [fresh] = await tx.select().from(payments).where(eq(payments.id, payment.id));
      events.push(
        ...(await applyGatewayRefund(tx, deps.clock, log, fresh ?? locked, {
          id: refund.id,
          amountMinor: refund.amount,
          status: statusOf(refund.status),
          failureReason: refund.failure_reason ?? null,
          metadata: refund.metadata ?? {},
        })),
      );
    }
    return events;
  }

  const recorded = await recordedRefundedMinor(tx, payment.id);
  const unseen = object.amount_refunded - recorded;
  if (unseen > 0) {
    events.push(
      ...(await applyGatewayRefund(tx, deps.clock, log, locked, {
        id: `${object.id}:refunded:${object.amount_refunded}`,
        amountMinor: unseen,
        status: "succeeded",
        failureReason: null,
        metadata: {},
      })),
    );
  }

  return events;
};

const refundObject = gatewayRefund.extend({ object: z.literal("refund") });

/** refund.updated / refund.failed / charge.refund.updated: one refund's new status. */
const refundUpdated: StripeEventHandler = async (tx, payload, { deps, log }) => {
  const refund = objectOf(refundObject, payload);
  const [known] = await tx
    .select()
    .from(paymentRefunds)
    .where(eq(paymentRefunds.gatewayRefundId, refund.id))
    .for("update");
  if (known) {
    await settleKnownRefund(
      tx,
      deps.clock,
      log,
      known,
      statusOf(refund.status),
      refund.failure_reason ?? null,
    );
    return [];
  }
  const events: EventDraft[] = [];
  const payment = await paymentForCharge(
    tx,
    deps,
    log,
    {
      chargeId: idOf(refund.charge),
      paymentIntentId: idOf(refund.payment_intent),
      metadata: refund.metadata,
    },
    events,
  );
  if (!payment) {
    log.info({ refundId: refund.id }, "refund is not on a Tally payment; acknowledged");
    return events;
  }
  events.push(
    ...(await applyGatewayRefund(tx, deps.clock, log, payment, {
      id: refund.id,
      amountMinor: refund.amount,
      status: statusOf(refund.status),
      failureReason: refund.failure_reason ?? null,
      metadata: refund.metadata ?? {},
    })),
  );

  return events;
};

export const refundWebhookHandlers: Record<string, StripeEventHandler> = {
  "charge.refunded": chargeRefunded,
  "charge.refund.updated": refundUpdated,
  "refund.updated": refundUpdated,
  "refund.failed": refundUpdated,
};

// ---------------------------------------------------------------------------
// A cancelled workspace's credit, paid back.

/**
 * billing/invoice-generated → for a cancelled workspace, every credit it is
 * still owed (open credit_carried_forward and cancellation_refund
 * adjustments, which no next invoice will take up) is paid back at the
 * gateway against its latest succeeded invoice payments in that currency,
 * newest first and never more than each has left unrefunded. Each part is a
 * payment_refunds row (origin cancellation) whose id is derived from the
 * adjustment and the payment, so a retried reaction asks the gateway again
 * with the same key (`refund:<paymentRefundId>`) and gets the same refund.
 * The adjustment is then marked taken up, so nothing is owed twice. What the
 * payments cannot take is carried as a new open adjustment, for support; a
 * workspace with no payment to refund against keeps its adjustment open.
 */
export const refundCancelledCredit: ReactionHandler<"billing/invoice-generated"> = async ({
  tx,
  event,
  deps,
  log,
}) => {
  const workspaceId = event.data.workspaceId;
  const [workspace] = await tx
    .select({ status: workspaces.status })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId));
  if (workspace?.status !== "cancelled") return;

  const open = await tx
    .select()
    .from(billingAdjustments)
    .where(
      and(
        eq(billingAdjustments.workspaceId, workspaceId),
        isNull(billingAdjustments.invoicedAt),
        lt(billingAdjustments.amountMinor, 0),
        inArray(billingAdjustments.kind, ["credit_carried_forward", "cancellation_refund"]),
        // What an earlier pass could not pay back waits for support, not for another pass.
        sql`${billingAdjustments.sourceEventId} NOT LIKE 'unrefunded:%'`,
      ),
    )
    .orderBy(billingAdjustments.createdAt)
    .for("update");

  for (const adjustment of open) {
    let owed = -adjustment.amountMinor;
    const candidates = await tx
      .select()
      .from(payments)
      .where(
        and(
          eq(payments.workspaceId, workspaceId),
          eq(payments.kind, "invoice"),
          eq(payments.status, "succeeded"),
          eq(payments.currency, adjustment.currency),
          gt(payments.amountMinor, payments.amountRefundedMinor),
        ),
      )
      .orderBy(desc(payments.createdAt), desc(payments.id))
      .for("update");
    const usable = candidates.filter(
      (payment) => payment.gateway === deps.gateway.kind && payment.paymentIntentId,
    );
    if (usable.length === 0) {
      // Nothing was paid to give back against (an invoice still unpaid, or one settled outside
      // the gateway): the credit stays an open adjustment, shown on the final invoice.
      log.warn(
        { workspaceId, adjustmentId: adjustment.id, owedMinor: owed },
        "cancelled workspace is owed credit but has no payment to refund it against",
      );
      continue;
    }

    let first = true;
    for (const payment of usable) {
      if (owed === 0) break;
      if (!payment.paymentIntentId) continue;
      const amountMinor = Math.min(owed, payment.amountMinor - payment.amountRefundedMinor);
      const id = uuidFromName(`cancellation:${adjustment.id}:${payment.id}`);
      const answer = await deps.gateway.refund(
        {
          paymentIntentId: payment.paymentIntentId,
          amountMinor,
          metadata: {
            payment_refund_id: id,
            adjustment_id: adjustment.id,
            workspace_id: workspaceId,
          },
        },
        `refund:${id}`,
      );
      const [existing] = await tx
        .select({ id: paymentRefunds.id })
        .from(paymentRefunds)
        .where(eq(paymentRefunds.gatewayRefundId, answer.refundId));
      if (!existing) {
        const status: RefundStatus = answer.status;
        await tx.insert(paymentRefunds).values({
          id,
          workspaceId,
          paymentId: payment.id,
          origin: "cancellation",
          // One row per adjustment carries its id; further parts name it in their reason.
          adjustmentId: first ? adjustment.id : null,
          invoiceId: payment.invoiceId,
          gatewayRefundId: answer.refundId,
          amountMinor,
          currency: payment.currency,
          reason: first
            ? adjustment.description
            : `${adjustment.description} (continued, adjustment ${adjustment.id})`,
          status,
          failureReason: status === "failed" ? "The payment gateway could not send it back" : null,
          createdAt: deps.clock.now(),
          settledAt: status === "pending" ? null : deps.clock.now(),
        });
        if (status !== "failed") await countRefunded(tx, payment, amountMinor);
      }
      first = false;
      if (answer.status !== "failed") owed -= amountMinor;
    }

    const now = deps.clock.now();
    await tx
      .update(billingAdjustments)
      .set({ invoicedAt: now })
      .where(eq(billingAdjustments.id, adjustment.id));
    if (owed > 0) {
      // TODO: credit that no payment of the workspace can carry back stays as an open adjustment
      // for support to pay by hand; nothing reminds them yet.
      await tx
        .insert(billingAdjustments)
        .values({
          workspaceId,
          currency: adjustment.currency,
          amountMinor: -owed,
          description: `Still owed after paying back ${formatMoney(-adjustment.amountMinor - owed, adjustment.currency)} at the gateway`,
          kind: "credit_carried_forward",
          periodStart: adjustment.periodStart,
          periodEnd: adjustment.periodEnd,
          sourceEventId: `unrefunded:${adjustment.id}`,
        })
        .onConflictDoNothing();
      log.warn(
        { workspaceId, adjustmentId: adjustment.id, owedMinor: owed },
        "cancelled workspace's credit exceeds what its payments can take back",
      );
    }
    log.info(
      { workspaceId, adjustmentId: adjustment.id, refundedMinor: -adjustment.amountMinor - owed },
      "cancelled workspace's credit paid back at the gateway",
    );
  }
};
