import { eq } from "drizzle-orm";
import { z } from "zod";

import { creditPurchases, payments } from "@/drizzle/schema";
import { completePurchase } from "@/server/credits/purchases";
import type { Tx } from "@/server/db/client";
import type { EventDraft } from "@/server/events/catalogue";
import type { Logger } from "@/server/logger";

import type { ReactionDeps } from "@/server/events/reactions";

/**
 * Finding the Tally payment a gateway event names, when the event may arrive
 * before Tally has recorded that payment. Refunds and disputes name a charge
 * (ch_…) and perhaps its payment intent; the payment row is looked up by
 * each, and failing that the gateway is asked what the charge belongs to. A
 * purchase's payment that the gateway reports as succeeded is completed from
 * what it says (the same completePurchase every success path ends in); an
 * invoice's payment not recorded yet is an error, so the backbone retries the
 * event until the collection that made the charge has committed. A charge
 * that names nothing of Tally's is not ours.
 */

export type PaymentRow = typeof payments.$inferSelect;

const uuid = z.uuid();

export interface ChargeReference {
  chargeId: string | null;
  paymentIntentId: string | null;
  /** Metadata on the event's own object (a refund's, a dispute's), when it has any. */
  metadata?: Record<string, unknown> | null;
}

async function byColumn(
  tx: Tx,
  column: typeof payments.chargeId | typeof payments.paymentIntentId,
  value: string,
): Promise<PaymentRow | undefined> {
  const [row] = await tx.select().from(payments).where(eq(column, value)).limit(1);

  return row;
}

async function recordCharge(tx: Tx, row: PaymentRow, chargeId: string | null): Promise<PaymentRow> {
  if (!chargeId || row.chargeId) return row;
  const [updated] = await tx
    .update(payments)
    .set({ chargeId })
    .where(eq(payments.id, row.id))
    .returning();

  return updated ?? row;
}

/**
 * The payment row for a charge, learning it from the gateway when needed.
 * Returns null when the charge is not Tally's; throws (to be retried) when it
 * is Tally's but not recorded yet. `events` collects what a convergence
 * emits (a purchase completed here emits credits/purchased).
 */
export async function paymentForCharge(
  tx: Tx,
  deps: Pick<ReactionDeps, "gateway" | "clock">,
  log: Logger,
  ref: ChargeReference,
  events: EventDraft[],
): Promise<PaymentRow | null> {
  if (ref.chargeId) {
    const row = await byColumn(tx, payments.chargeId, ref.chargeId);
    if (row) return row;
  }
  if (ref.paymentIntentId) {
    const row = await byColumn(tx, payments.paymentIntentId, ref.paymentIntentId);
    if (row) return recordCharge(tx, row, ref.chargeId);
  }

  const fetched = ref.chargeId
    ? await deps.gateway.retrieveCharge(ref.chargeId)
    : ref.paymentIntentId
      ? await deps.gateway.retrievePayment(ref.paymentIntentId)
      : null;
  const metadata = { ...(ref.metadata ?? {}), ...(fetched?.metadata ?? {}) };
  if (fetched) {
    const row = await byColumn(tx, payments.paymentIntentId, fetched.paymentIntentId);
    if (row) return recordCharge(tx, row, ref.chargeId ?? fetched.chargeId);
  }

  const purchaseId = uuid.safeParse(metadata.purchase_id);
  if (purchaseId.success) {
    const [purchase] = await tx
      .select({ id: creditPurchases.id })
      .from(creditPurchases)
      .where(eq(creditPurchases.id, purchaseId.data));
    if (!purchase || !fetched || fetched.status !== "succeeded") {
      throw new Error(
        `Charge ${ref.chargeId ?? ref.paymentIntentId} pays purchase ${purchaseId.data}, whose ` +
          "payment is not recorded yet",
      );
    }
    events.push(
      ...(await completePurchase(tx, deps.clock, log, {
        purchaseId: purchase.id,
        paymentIntentId: fetched.paymentIntentId,
        chargeId: ref.chargeId ?? fetched.chargeId,
        amountMinor: fetched.amountMinor,
        currency: fetched.currency,
        actor: { type: "system", reason: "payment webhook" },
      })),
    );
    const row = await byColumn(tx, payments.paymentIntentId, fetched.paymentIntentId);
    if (!row) throw new Error(`Purchase ${purchase.id} was completed without a payment row`);
    log.info({ purchaseId: purchase.id }, "purchase payment learnt from the gateway");

    return row;
  }
  if (uuid.safeParse(metadata.invoice_id).success || uuid.safeParse(metadata.payment_id).success) {
    throw new Error(
      `Charge ${ref.chargeId ?? ref.paymentIntentId} pays invoice ${String(metadata.invoice_id)}, ` +
        "whose payment is not recorded yet",
    );
  }

  return null;
}
