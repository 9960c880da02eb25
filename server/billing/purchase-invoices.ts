import { eq } from "drizzle-orm";

import { creditPacks, creditPurchases, invoices, payments } from "@/drizzle/schema";
import { packDescription } from "@/server/credits/purchases";
import type { ReactionHandler } from "@/server/events/reactions";

import { ROUNDING } from "./invoice-math";
import { issueInvoice } from "./invoices";

/**
 * credits/purchased → the purchase's invoice, issued paid: one line for the
 * pack at the price paid. The price is what the customer paid, tax included,
 * so the invoice shows the tax inside it rather than adding any. One invoice
 * per purchase (issueInvoice keys it by the purchase), so a redelivered event
 * issues nothing new.
 */
export const issuePurchaseInvoice: ReactionHandler<"credits/purchased"> = async ({
  tx,
  event: purchased,
  deps,
  log,
}) => {
  const [row] = await tx
    .select({ purchase: creditPurchases, packName: creditPacks.name })
    .from(creditPurchases)
    .innerJoin(creditPacks, eq(creditPacks.id, creditPurchases.packId))
    .where(eq(creditPurchases.id, purchased.data.purchaseId));
  if (!row) throw new Error(`Purchase ${purchased.data.purchaseId} not found`);
  const { purchase, packName } = row;

  const issued = await issueInvoice(tx, deps.clock, deps.billing, {
    workspaceId: purchase.workspaceId,
    kind: "purchase",
    currency: purchase.currency,
    purchaseId: purchase.id,
    paidAt: purchase.paidAt ?? purchased.occurredAt,
    taxInclusive: true,
    lines: [
      {
        kind: "purchase",
        description: packDescription({ name: packName, credits: purchase.credits }),
        quantity: 1,
        unitAmountMinor: purchase.amountMinor,
        amountMinor: purchase.amountMinor,
        rounding: ROUNDING.exact,
      },
    ],
  });
  if (issued.created) {
    // A refund recorded before the invoice existed (a gateway refund learnt early) counts on it too.
    const [payment] = await tx
      .select({ refunded: payments.amountRefundedMinor })
      .from(payments)
      .where(eq(payments.purchaseId, purchase.id));
    if (payment && payment.refunded > 0) {
      await tx
        .update(invoices)
        .set({ amountRefundedMinor: payment.refunded })
        .where(eq(invoices.id, issued.invoice.id));
    }
    log.info(
      { purchaseId: purchase.id, invoiceId: issued.invoice.id, number: issued.invoice.number },
      "purchase invoiced",
    );
  } else {
    log.warn({ purchaseId: purchase.id }, "purchase already invoiced; nothing issued");
  }

  return issued.events;
};
