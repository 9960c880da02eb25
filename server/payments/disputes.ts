import { eq } from "drizzle-orm";
import { z } from "zod";

import { creditGrants, creditPurchases, disputes, payments } from "@/drizzle/schema";
import type { Actor } from "@/server/actor";
import type { Clock } from "@/server/clock";
import { drawCredits, grantCredits, lowBalanceThresholdOf } from "@/server/credits/ledger";
import { PURCHASE_PRIORITY } from "@/server/credits/purchases";
import type { Tx } from "@/server/db/client";
import { event, type EventDraft } from "@/server/events/catalogue";
import type { Logger } from "@/server/logger";

import { paymentForCharge, type PaymentRow } from "./converge";
import type { StripeEventHandler } from "./reactions";

/**
 * Disputes (chargebacks). The gateway reports a dispute on a charge with
 * charge.dispute.created, then .updated as it moves, then .closed with the
 * verdict; any of them may come first, twice, or alone. Every one of them
 * goes through applyDispute, which records the dispute once (by the
 * gateway's dispute id) and then brings it to the state the event reports:
 *
 * - opened: for a purchase, every unspent credit it bought is clawed back
 *   from its grant (a ledger debit of kind `adjustment`, key
 *   `dispute:<disputeId>`); the credits already spent are the shortfall.
 *   payments/dispute-opened alerts the platform admins.
 * - won (or an inquiry closed without a chargeback): exactly the clawed-back
 *   credits are granted again, once (key `dispute-won:<disputeId>`).
 * - lost: the money went back by chargeback; the dispute records it and the
 *   payment's amount refunded stays as it was.
 *
 * payments/dispute-closed tells the admins the verdict.
 */

const actor: Actor = { type: "system", reason: "payment dispute" };

const reference = z.union([z.string(), z.object({ id: z.string() }).loose()]).nullish();

const dispute = z
  .object({
    id: z.string(),
    object: z.literal("dispute"),
    charge: reference,
    payment_intent: reference,
    amount: z.number().int().nonnegative(),
    currency: z.string(),
    reason: z.string().nullish(),
    status: z.string(),
    created: z.number().int().nullish(),
    metadata: z.record(z.string(), z.unknown()).nullish(),
  })
  .loose();

export type GatewayDisputeObject = z.output<typeof dispute>;

function idOf(value: z.output<typeof reference>): string | null {
  if (!value) return null;

  return typeof value === "string" ? value : value.id;
}

/** The verdict a gateway status means, or null while the dispute is undecided. */
export function verdictOf(status: string): "won" | "lost" | null {
  if (status === "won" || status === "warning_closed") return "won";
  if (status === "lost") return "lost";

  return null;
}

type DisputeRow = typeof disputes.$inferSelect;

/** Claws back the purchase's unspent credits for a dispute just recorded. */
async function clawBack(
  tx: Tx,
  clock: Clock,
  payment: PaymentRow,
  row: DisputeRow,
): Promise<{ clawed: number; shortfall: number; events: EventDraft[] }> {
  if (payment.kind !== "purchase" || !payment.purchaseId) {
    return { clawed: 0, shortfall: 0, events: [] };
  }
  const [purchase] = await tx
    .select()
    .from(creditPurchases)
    .where(eq(creditPurchases.id, payment.purchaseId))
    .for("update");
  if (!purchase?.grantId) return { clawed: 0, shortfall: 0, events: [] };
  const [grant] = await tx
    .select({ remaining: creditGrants.remaining })
    .from(creditGrants)
    .where(eq(creditGrants.id, purchase.grantId));
  const unspent = grant?.remaining ?? 0;
  const shortfall = Math.max(purchase.credits - purchase.refundedCredits - unspent, 0);
  if (unspent === 0) return { clawed: 0, shortfall, events: [] };

  const drawn = await drawCredits(tx, clock, {
    workspaceId: payment.workspaceId,
    amount: unspent,
    actor,
    reason: `Disputed payment: credits clawed back (dispute ${row.gatewayDisputeId})`,
    idempotencyKey: `dispute:${row.id}`,
    usageRecordId: null,
    lowBalanceThreshold: await lowBalanceThresholdOf(tx, payment.workspaceId),
    kind: "adjustment",
    grantIds: [purchase.grantId],
    topUp: false,
  });
  if (!drawn.ok) throw new Error(`Dispute ${row.id} found fewer credits than it counted`);

  return { clawed: unspent, shortfall, events: drawn.events };
}

/**
 * Records the dispute once and brings it to the gateway's reported status.
 * Returns the events to emit; nothing when the charge is not Tally's.
 */
export async function applyDispute(
  tx: Tx,
  deps: Parameters<typeof paymentForCharge>[1],
  log: Logger,
  object: GatewayDisputeObject,
): Promise<EventDraft[]> {
  const events: EventDraft[] = [];
  const now = deps.clock.now();
  let [row] = await tx
    .select()
    .from(disputes)
    .where(eq(disputes.gatewayDisputeId, object.id))
    .for("update");

  if (!row) {
    const chargeId = idOf(object.charge);
    const payment = await paymentForCharge(
      tx,
      deps,
      log,
      { chargeId, paymentIntentId: idOf(object.payment_intent), metadata: object.metadata },
      events,
    );
    if (!payment) {
      log.info(
        { disputeId: object.id, chargeId },
        "dispute is not on a Tally payment; acknowledged",
      );
      return events;
    }
    const [inserted] = await tx
      .insert(disputes)
      .values({
        gatewayDisputeId: object.id,
        workspaceId: payment.workspaceId,
        paymentId: payment.id,
        chargeId: chargeId ?? payment.chargeId,
        amountMinor: object.amount,
        currency: object.currency.toUpperCase(),
        reason: object.reason ?? null,
        gatewayStatus: object.status,
        openedAt: object.created ? new Date(object.created * 1000) : now,
        createdAt: now,
      })
      .onConflictDoNothing()
      .returning();
    if (!inserted) throw new Error(`Dispute ${object.id} was recorded concurrently; retry`);

    const taken = await clawBack(tx, deps.clock, payment, inserted);
    [row] = await tx
      .update(disputes)
      .set({ clawedBackCredits: taken.clawed, shortfallCredits: taken.shortfall })
      .where(eq(disputes.id, inserted.id))
      .returning();
    events.push(
      ...taken.events,
      event("payments/dispute-opened", {
        workspaceId: payment.workspaceId,
        disputeId: inserted.id,
        paymentId: payment.id,
        amountMinor: inserted.amountMinor,
        currency: inserted.currency,
        clawedBackCredits: taken.clawed,
        shortfallCredits: taken.shortfall,
      }),
    );
    log.warn(
      { disputeId: inserted.id, paymentId: payment.id, clawedBack: taken.clawed },
      "payment disputed; unspent credits clawed back",
    );
  }
  if (!row) throw new Error(`Dispute ${object.id} vanished`);

  if (row.outcome !== "open") {
    // Decided: a late update (under_review after lost) changes nothing.
    return events;
  }
  const verdict = verdictOf(object.status);
  if (!verdict) {
    if (row.gatewayStatus !== object.status) {
      await tx
        .update(disputes)
        .set({ gatewayStatus: object.status })
        .where(eq(disputes.id, row.id));
    }
    return events;
  }

  let reinstated = 0;
  if (verdict === "won" && row.clawedBackCredits > 0) {
    const grant = await grantCredits(tx, deps.clock, {
      workspaceId: row.workspaceId,
      source: "adjustment",
      amount: row.clawedBackCredits,
      idempotencyKey: `dispute-won:${row.id}`,
      reason: `Dispute won: clawed-back credits reinstated (dispute ${row.gatewayDisputeId})`,
      actor,
      priority: PURCHASE_PRIORITY,
      lowBalanceThreshold: await lowBalanceThresholdOf(tx, row.workspaceId),
    });
    events.push(...grant.events);
    reinstated = row.clawedBackCredits;
  }
  await tx
    .update(disputes)
    .set({
      gatewayStatus: object.status,
      outcome: verdict,
      reinstatedCredits: reinstated,
      closedAt: now,
    })
    .where(eq(disputes.id, row.id));
  events.push(
    event("payments/dispute-closed", {
      workspaceId: row.workspaceId,
      disputeId: row.id,
      outcome: verdict,
      reinstatedCredits: reinstated,
    }),
  );
  log.info({ disputeId: row.id, outcome: verdict, reinstated }, "dispute closed");

  return events;
}

const onDispute: StripeEventHandler = async (tx, payload, { deps, log }) => {
  const data = payload.data as { object?: unknown } | undefined;
  const parsed = dispute.safeParse(data?.object);
  if (!parsed.success) {
    throw new Error(`Webhook ${String(payload.id)} does not carry a dispute`);
  }

  return applyDispute(tx, deps, log, parsed.data);
};

export const disputeWebhookHandlers: Record<string, StripeEventHandler> = {
  "charge.dispute.created": onDispute,
  "charge.dispute.updated": onDispute,
  "charge.dispute.closed": onDispute,
  "charge.dispute.funds_withdrawn": onDispute,
  "charge.dispute.funds_reinstated": onDispute,
};

/** The payment a dispute is on, for the admin pages. */
export async function disputePayment(tx: Tx, disputeId: string): Promise<PaymentRow | undefined> {
  const [row] = await tx
    .select({ payment: payments })
    .from(disputes)
    .innerJoin(payments, eq(payments.id, disputes.paymentId))
    .where(eq(disputes.id, disputeId));

  return row?.payment;
}
