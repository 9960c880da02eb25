import { and, asc, desc, eq, inArray, isNotNull, isNull, lt, ne, notExists, or } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { z } from "zod";

import {
  creditPacks,
  creditPurchases,
  creditRefunds,
  disputes,
  invoiceLines,
  invoices,
  paymentRefunds,
  payments,
  subscriptions,
  tiers,
  workspaces,
} from "@/drizzle/schema";
import type { DbOrTx } from "@/server/db/client";
import { instantInput } from "@/server/dates";
import { AppError } from "@/server/errors";
import { customerCreditBalance } from "@/server/workspaces/lifecycle";

import { amountRemainingSql } from "./invoices";

const purchaseInvoices = alias(invoices, "purchase_invoices");
import { amountRemainingMinor, totalRows, type TotalRow } from "./invoice-view";

/**
 * What a workspace's billing members see of its billing: the plan and
 * period, its invoices, what it paid, the next invoice. Every query takes
 * the workspace id the procedure checked and reads nothing outside it.
 * Drafts are the billing machinery's own business and are never shown.
 */

const scheduledTiers = alias(tiers, "scheduled_tiers");

/** The plan, the subscription's period and payment method, and what waits for the period's end. */
export async function billingSummary(db: DbOrTx, workspaceId: string) {
  const [row] = await db
    .select({
      tier: {
        code: tiers.code,
        name: tiers.name,
        currency: tiers.currency,
        monthlyPriceMinor: tiers.monthlyPriceMinor,
        monthlyCredits: tiers.monthlyCredits,
        includedSeats: tiers.includedSeats,
        seatPriceMinor: tiers.seatPriceMinor,
        overageUnitCredits: tiers.overageUnitCredits,
        overageUnitPriceMinor: tiers.overageUnitPriceMinor,
      },
      subscription: {
        id: subscriptions.id,
        status: subscriptions.status,
        currency: subscriptions.currency,
        anchorAt: subscriptions.anchorAt,
        currentPeriodStart: subscriptions.currentPeriodStart,
        currentPeriodEnd: subscriptions.currentPeriodEnd,
        seats: subscriptions.seats,
        paymentMethodLabel: subscriptions.paymentMethodLabel,
        trialEndsAt: subscriptions.trialEndsAt,
      },
      cancelAt: workspaces.cancelAt,
      scheduledTierName: scheduledTiers.name,
      scheduledTierAt: workspaces.scheduledTierAt,
    })
    .from(workspaces)
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .leftJoin(subscriptions, eq(subscriptions.workspaceId, workspaces.id))
    .leftJoin(scheduledTiers, eq(scheduledTiers.id, workspaces.scheduledTierId))
    .where(eq(workspaces.id, workspaceId));
  if (!row) throw new AppError("not_found", "Workspace not found");

  const subscription = row.subscription;
  const extraSeats = subscription ? Math.max(0, subscription.seats - row.tier.includedSeats) : 0;

  return {
    tier: row.tier,
    subscription: subscription
      ? {
          ...subscription,
          /** The day of month periods start on; shorter months start on their last day. */
          anchorDay: subscription.anchorAt.getUTCDate(),
        }
      : null,
    seats: {
      billed: subscription?.seats ?? null,
      included: row.tier.includedSeats,
      extra: extraSeats,
    },
    paymentMethodLabel: subscription?.paymentMethodLabel ?? null,
    scheduled: {
      tier:
        row.scheduledTierName && row.scheduledTierAt
          ? { name: row.scheduledTierName, at: row.scheduledTierAt }
          : null,
      cancelAt: row.cancelAt,
    },
    /** Credit owed to the customer, taken off the next invoice: zero or positive minor units. */
    creditBalanceMinor: 0 - (await customerCreditBalance(db, workspaceId)),
  };
}

export const invoiceListInput = z.object({
  limit: z.number().int().min(1).max(100).default(20),
  /** The `nextCursor` of the previous page. */
  cursor: z
    .object({ finalizedAt: instantInput("The cursor's finalizedAt"), id: z.uuid() })
    .nullish()
    .transform((cursor) => cursor ?? null),
});
export type InvoiceListInput = z.input<typeof invoiceListInput>;

/** The workspace's finalized invoices, newest first, a page at a time. */
export async function listInvoices(db: DbOrTx, workspaceId: string, input: InvoiceListInput = {}) {
  const { limit, cursor } = invoiceListInput.parse(input);
  const rows = await db
    .select({
      id: invoices.id,
      number: invoices.number,
      kind: invoices.kind,
      status: invoices.status,
      currency: invoices.currency,
      totalMinor: invoices.totalMinor,
      /** What is still to pay: nothing unless the invoice is open. */
      amountRemainingMinor: amountRemainingSql.mapWith(Number),
      amountPaidMinor: invoices.amountPaidMinor,
      periodStart: invoices.periodStart,
      periodEnd: invoices.periodEnd,
      finalizedAt: invoices.finalizedAt,
      dueAt: invoices.dueAt,
      paidAt: invoices.paidAt,
    })
    .from(invoices)
    .where(
      and(
        eq(invoices.workspaceId, workspaceId),
        ne(invoices.status, "draft"),
        cursor
          ? or(
              lt(invoices.finalizedAt, cursor.finalizedAt),
              and(eq(invoices.finalizedAt, cursor.finalizedAt), lt(invoices.id, cursor.id)),
            )
          : undefined,
      ),
    )
    .orderBy(desc(invoices.finalizedAt), desc(invoices.id))
    .limit(limit + 1);

  const page = rows.slice(0, limit).map((row) => ({
    ...row,
    number: row.number ?? "",
    finalizedAt: row.finalizedAt ?? new Date(0),
  }));
  const last = page.at(-1);

  return {
    invoices: page,
    nextCursor: rows.length > limit && last ? { finalizedAt: last.finalizedAt, id: last.id } : null,
  };
}

/** One finalized invoice of the workspace with its lines and totals rows; not_found otherwise. */
export async function invoiceDetails(db: DbOrTx, workspaceId: string, invoiceId: string) {
  const [invoice] = await db
    .select()
    .from(invoices)
    .where(
      and(
        eq(invoices.id, invoiceId),
        eq(invoices.workspaceId, workspaceId),
        ne(invoices.status, "draft"),
      ),
    );
  if (!invoice) throw new AppError("not_found", "No such invoice in this workspace");

  const lines = await db
    .select({
      id: invoiceLines.id,
      position: invoiceLines.position,
      kind: invoiceLines.kind,
      description: invoiceLines.description,
      quantity: invoiceLines.quantity,
      unitAmountMinor: invoiceLines.unitAmountMinor,
      amountMinor: invoiceLines.amountMinor,
      rounding: invoiceLines.rounding,
      periodStart: invoiceLines.periodStart,
      periodEnd: invoiceLines.periodEnd,
    })
    .from(invoiceLines)
    .where(eq(invoiceLines.invoiceId, invoice.id))
    .orderBy(asc(invoiceLines.position));
  const totals: TotalRow[] = totalRows(invoice, lines);

  return {
    id: invoice.id,
    number: invoice.number ?? "",
    kind: invoice.kind,
    status: invoice.status,
    currency: invoice.currency,
    periodStart: invoice.periodStart,
    periodEnd: invoice.periodEnd,
    finalizedAt: invoice.finalizedAt,
    dueAt: invoice.dueAt,
    paidAt: invoice.paidAt,
    voidedAt: invoice.voidedAt,
    voidReason: invoice.voidReason,
    uncollectibleAt: invoice.uncollectibleAt,
    seller: invoice.seller,
    buyer: invoice.buyer,
    subtotalMinor: invoice.subtotalMinor,
    discountMinor: invoice.discountMinor,
    taxRateBps: invoice.taxRateBps,
    taxMinor: invoice.taxMinor,
    totalMinor: invoice.totalMinor,
    amountDueMinor: invoice.amountDueMinor,
    amountPaidMinor: invoice.amountPaidMinor,
    amountRemainingMinor: amountRemainingMinor(invoice),
    lines,
    totals,
    pdfUrl: `/api/invoices/${invoice.id}/pdf`,
  };
}

export interface PaymentHistoryEntry {
  /** The payment's id; for a paid invoice no payment was needed for, the invoice's. */
  id: string;
  kind: "invoice" | "credit_purchase";
  description: string;
  invoiceId: string | null;
  invoiceNumber: string | null;
  amountMinor: number;
  currency: string;
  status: "pending" | "processing" | "succeeded" | "failed";
  /** Why a failed payment failed, as the gateway said. */
  failureMessage: string | null;
  /** When it settled (paid or failed), or was started while still pending. */
  paidAt: Date;
  method: string;
  amountRefundedMinor: number;
  /** A payment under a chargeback, or whose chargeback was lost. */
  disputed: boolean;
  refunds: { id: string; amountMinor: number; status: string; createdAt: Date }[];
}

/**
 * What the workspace paid and tried to pay, newest first: every payment at
 * the gateway (invoice charges, each retry its own row, and credit
 * purchases) with its status and its refunds, and the paid invoices that
 * needed no payment (nothing due, or settled before payments were recorded).
 * Each payment names the card it was taken from as recorded when it was
 * made ("—" when that is unknown, as for payments made before cards were
 * recorded); a checkout purchase without a recorded card says how it was paid.
 */
export async function paymentHistory(
  db: DbOrTx,
  workspaceId: string,
  options: { limit?: number } = {},
): Promise<PaymentHistoryEntry[]> {
  const limit = options.limit ?? 50;

  const rows = await db
    .select({
      payment: payments,
      invoiceNumber: invoices.number,
      purchaseInvoiceId: purchaseInvoices.id,
      purchaseInvoiceNumber: purchaseInvoices.number,
      packName: creditPacks.name,
      credits: creditPurchases.credits,
    })
    .from(payments)
    .leftJoin(invoices, eq(invoices.id, payments.invoiceId))
    .leftJoin(creditPurchases, eq(creditPurchases.id, payments.purchaseId))
    .leftJoin(creditPacks, eq(creditPacks.id, creditPurchases.packId))
    .leftJoin(purchaseInvoices, eq(purchaseInvoices.purchaseId, payments.purchaseId))
    .where(eq(payments.workspaceId, workspaceId))
    .orderBy(desc(payments.createdAt), desc(payments.id))
    .limit(limit);
  const paymentIds = rows.map((row) => row.payment.id);
  const purchaseIds = rows.flatMap((row) =>
    row.payment.purchaseId ? [row.payment.purchaseId] : [],
  );
  const [refunds, creditRefundRows, disputed] = await Promise.all([
    paymentIds.length
      ? db
          .select()
          .from(paymentRefunds)
          .where(inArray(paymentRefunds.paymentId, paymentIds))
          .orderBy(asc(paymentRefunds.createdAt))
      : [],
    // Credit refunds from before refunds were recorded against payments.
    purchaseIds.length
      ? db
          .select()
          .from(creditRefunds)
          .where(inArray(creditRefunds.purchaseId, purchaseIds))
          .orderBy(asc(creditRefunds.createdAt))
      : [],
    paymentIds.length
      ? db
          .select({ paymentId: disputes.paymentId })
          .from(disputes)
          .where(and(inArray(disputes.paymentId, paymentIds), ne(disputes.outcome, "won")))
      : [],
  ]);
  const recordedCreditRefunds = new Set(refunds.map((refund) => refund.creditRefundId));
  const recordedGatewayRefunds = new Set(refunds.map((refund) => refund.gatewayRefundId));

  const paidWithoutPayment = await db
    .select({
      id: invoices.id,
      number: invoices.number,
      amountPaidMinor: invoices.amountPaidMinor,
      amountDueMinor: invoices.amountDueMinor,
      currency: invoices.currency,
      paidAt: invoices.paidAt,
    })
    .from(invoices)
    .where(
      and(
        eq(invoices.workspaceId, workspaceId),
        eq(invoices.status, "paid"),
        isNull(invoices.purchaseId),
        isNotNull(invoices.paidAt),
        notExists(
          db
            .select({ id: payments.id })
            .from(payments)
            .where(and(eq(payments.invoiceId, invoices.id), eq(payments.status, "succeeded"))),
        ),
      ),
    )
    .orderBy(desc(invoices.paidAt))
    .limit(limit);

  const entries: PaymentHistoryEntry[] = [
    ...rows.map(({ payment, ...row }) => ({
      id: payment.id,
      kind: payment.kind === "invoice" ? ("invoice" as const) : ("credit_purchase" as const),
      description:
        payment.kind === "invoice"
          ? `Invoice ${row.invoiceNumber ?? ""}`.trim() +
            (payment.attempt > 1 ? `, attempt ${payment.attempt}` : "")
          : `${row.packName ?? "Credit pack"} (${(row.credits ?? 0).toLocaleString("en-US")} credits)`,
      invoiceId: payment.invoiceId ?? row.purchaseInvoiceId,
      invoiceNumber: payment.kind === "invoice" ? row.invoiceNumber : row.purchaseInvoiceNumber,
      amountMinor: payment.amountMinor,
      currency: payment.currency,
      status: payment.status,
      failureMessage: payment.failureMessage,
      paidAt: payment.settledAt ?? payment.createdAt,
      method:
        payment.kind === "invoice"
          ? (payment.paymentMethodLabel ?? "—")
          : payment.paymentMethodLabel
            ? payment.trigger === "auto_top_up"
              ? `${payment.paymentMethodLabel}, auto top-up`
              : payment.paymentMethodLabel
            : payment.trigger === "auto_top_up"
              ? "Saved card, auto top-up"
              : payment.gateway === "stripe"
                ? "Card, Stripe checkout"
                : "Card, simulated checkout",
      amountRefundedMinor: payment.amountRefundedMinor,
      disputed: disputed.some((row) => row.paymentId === payment.id),
      refunds: [
        ...refunds
          .filter((refund) => refund.paymentId === payment.id)
          .map((refund) => ({
            id: refund.id,
            amountMinor: refund.amountMinor,
            status: refund.status,
            createdAt: refund.createdAt,
          })),
        ...creditRefundRows
          .filter(
            (refund) =>
              refund.purchaseId === payment.purchaseId &&
              !recordedCreditRefunds.has(refund.id) &&
              !recordedGatewayRefunds.has(refund.gatewayRefundId),
          )
          .map((refund) => ({
            id: refund.id,
            amountMinor: refund.amountMinor,
            status: refund.status,
            createdAt: refund.createdAt,
          })),
      ],
    })),
    ...paidWithoutPayment.map((invoice) => ({
      id: invoice.id,
      kind: "invoice" as const,
      description: `Invoice ${invoice.number}`,
      invoiceId: invoice.id,
      invoiceNumber: invoice.number,
      amountMinor: invoice.amountPaidMinor || invoice.amountDueMinor,
      currency: invoice.currency,
      status: "succeeded" as const,
      failureMessage: null,
      paidAt: invoice.paidAt!,
      method: invoice.amountDueMinor === 0 ? "Nothing to pay" : "—",
      amountRefundedMinor: 0,
      disputed: false,
      refunds: [],
    })),
  ];

  return entries.sort((a, b) => b.paidAt.getTime() - a.paidAt.getTime()).slice(0, limit);
}
