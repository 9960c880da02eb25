import { and, asc, desc, eq, ilike, or, sql, type SQL } from "drizzle-orm";
import { z } from "zod";

import {
  creditPacks,
  creditPurchases,
  disputeOutcome,
  disputes,
  invoices,
  paymentKind,
  paymentRefundStatus,
  paymentRefunds,
  paymentStatus,
  payments,
  workspaces,
} from "@/drizzle/schema";
import { defineCommand, execute, type CommandMeta } from "@/server/commands";
import type { DbOrTx } from "@/server/db/client";
import { AppError } from "@/server/errors";
import type { Runtime } from "@/server/runtime";
import { adminPagingInput, containing } from "@/server/workspaces/admin-queries";

import type { GatewayDispute, PaymentGateway } from "./gateway";
import { isSimulatedGateway } from "./simulated";

/**
 * What platform admins read about money at the gateway: every payment
 * (`adminPayments.payments`, one with its refunds and disputes in
 * `adminPayments.payment`), every refund, every dispute. In the simulated
 * default an admin can also open a dispute on a succeeded payment and decide
 * it, as a cardholder's bank would, so the demo and the journeys can show a
 * chargeback end to end; the gateway's own webhooks then do the rest.
 */

const workspaceSearch = (query: string): SQL | undefined => {
  if (query === "") return undefined;
  const pattern = containing(query);

  return or(ilike(workspaces.name, pattern), ilike(workspaces.slug, pattern));
};

function paged<T>(rows: T[], total: number, input: { page: number; pageSize: number }) {
  return {
    rows,
    total,
    page: input.page,
    pageSize: input.pageSize,
    pages: Math.max(1, Math.ceil(total / input.pageSize)),
  };
}

// ---------------------------------------------------------------------------
// Payments

export const adminPaymentListInput = z.object({
  status: z.enum(paymentStatus.enumValues).or(z.literal("")).default(""),
  kind: z.enum(paymentKind.enumValues).or(z.literal("")).default(""),
  gateway: z.enum(["simulated", "stripe"]).or(z.literal("")).default(""),
  /** Part of the workspace's name or address. */
  workspace: z.string().trim().max(200).default(""),
  ...adminPagingInput,
});
export type AdminPaymentListInput = z.input<typeof adminPaymentListInput>;

/**
 * One page of payments, newest first, with per currency the count of the
 * matching payments and the sums of what succeeded and what was refunded.
 */
export async function listPaymentsForAdmin(db: DbOrTx, rawInput: AdminPaymentListInput) {
  const input = adminPaymentListInput.parse(rawInput);
  const where = and(
    input.status ? eq(payments.status, input.status) : undefined,
    input.kind ? eq(payments.kind, input.kind) : undefined,
    input.gateway ? eq(payments.gateway, input.gateway) : undefined,
    workspaceSearch(input.workspace),
  );
  const [rows, totals] = await Promise.all([
    db
      .select({
        id: payments.id,
        kind: payments.kind,
        status: payments.status,
        gateway: payments.gateway,
        trigger: payments.trigger,
        attempt: payments.attempt,
        amountMinor: payments.amountMinor,
        amountRefundedMinor: payments.amountRefundedMinor,
        currency: payments.currency,
        createdAt: payments.createdAt,
        invoiceNumber: invoices.number,
        packName: creditPacks.name,
        workspaceId: workspaces.id,
        workspaceName: workspaces.name,
        workspaceSlug: workspaces.slug,
        disputes: sql<number>`(SELECT count(*)::int FROM ${disputes} d
          WHERE d.payment_id = ${payments.id})`,
      })
      .from(payments)
      .innerJoin(workspaces, eq(workspaces.id, payments.workspaceId))
      .leftJoin(invoices, eq(invoices.id, payments.invoiceId))
      .leftJoin(creditPurchases, eq(creditPurchases.id, payments.purchaseId))
      .leftJoin(creditPacks, eq(creditPacks.id, creditPurchases.packId))
      .where(where)
      .orderBy(desc(payments.createdAt), desc(payments.id))
      .limit(input.pageSize)
      .offset((input.page - 1) * input.pageSize),
    db
      .select({
        currency: payments.currency,
        payments: sql<number>`count(*)::int`,
        succeededMinor:
          sql<number>`coalesce(sum(${payments.amountMinor}) FILTER (WHERE ${payments.status} = 'succeeded'), 0)::bigint`.mapWith(
            Number,
          ),
        refundedMinor:
          sql<number>`coalesce(sum(${payments.amountRefundedMinor}), 0)::bigint`.mapWith(Number),
      })
      .from(payments)
      .innerJoin(workspaces, eq(workspaces.id, payments.workspaceId))
      .where(where)
      .groupBy(payments.currency)
      .orderBy(payments.currency),
  ]);

  return {
    ...paged(
      rows,
      totals.reduce((sum, row) => sum + row.payments, 0),
      input,
    ),
    totalsByCurrency: totals,
  };
}

/** One payment with its workspace, what it paid for, its refunds and its disputes. */
export async function paymentDetailForAdmin(
  db: DbOrTx,
  gateway: Pick<PaymentGateway, "kind">,
  paymentId: string,
) {
  const [row] = await db
    .select({
      payment: payments,
      workspace: { id: workspaces.id, name: workspaces.name, slug: workspaces.slug },
      invoiceNumber: invoices.number,
      packName: creditPacks.name,
      credits: creditPurchases.credits,
    })
    .from(payments)
    .innerJoin(workspaces, eq(workspaces.id, payments.workspaceId))
    .leftJoin(invoices, eq(invoices.id, payments.invoiceId))
    .leftJoin(creditPurchases, eq(creditPurchases.id, payments.purchaseId))
    .leftJoin(creditPacks, eq(creditPacks.id, creditPurchases.packId))
    .where(eq(payments.id, paymentId));
  if (!row) throw new AppError("not_found", "Payment not found", { field: "paymentId" });

  const [refunds, disputeRows] = await Promise.all([
    db
      .select()
      .from(paymentRefunds)
      .where(eq(paymentRefunds.paymentId, paymentId))
      .orderBy(asc(paymentRefunds.createdAt)),
    db
      .select()
      .from(disputes)
      .where(eq(disputes.paymentId, paymentId))
      .orderBy(asc(disputes.openedAt)),
  ]);
  const canSimulateDispute =
    simulates(gateway) &&
    row.payment.gateway === "simulated" &&
    row.payment.status === "succeeded" &&
    disputeRows.length === 0;

  return { ...row, refunds, disputes: disputeRows, canSimulateDispute };
}

// ---------------------------------------------------------------------------
// Refunds

export const adminRefundListInput = z.object({
  status: z.enum(paymentRefundStatus.enumValues).or(z.literal("")).default(""),
  origin: z.enum(["credit_refund", "cancellation", "gateway"]).or(z.literal("")).default(""),
  workspace: z.string().trim().max(200).default(""),
  ...adminPagingInput,
});
export type AdminRefundListInput = z.input<typeof adminRefundListInput>;

export async function listRefundsForAdmin(db: DbOrTx, rawInput: AdminRefundListInput) {
  const input = adminRefundListInput.parse(rawInput);
  const where = and(
    input.status ? eq(paymentRefunds.status, input.status) : undefined,
    input.origin ? eq(paymentRefunds.origin, input.origin) : undefined,
    workspaceSearch(input.workspace),
  );
  const [rows, totals] = await Promise.all([
    db
      .select({
        id: paymentRefunds.id,
        paymentId: paymentRefunds.paymentId,
        origin: paymentRefunds.origin,
        status: paymentRefunds.status,
        amountMinor: paymentRefunds.amountMinor,
        currency: paymentRefunds.currency,
        reason: paymentRefunds.reason,
        failureReason: paymentRefunds.failureReason,
        gatewayRefundId: paymentRefunds.gatewayRefundId,
        createdAt: paymentRefunds.createdAt,
        workspaceId: workspaces.id,
        workspaceName: workspaces.name,
        workspaceSlug: workspaces.slug,
      })
      .from(paymentRefunds)
      .innerJoin(workspaces, eq(workspaces.id, paymentRefunds.workspaceId))
      .where(where)
      .orderBy(desc(paymentRefunds.createdAt), desc(paymentRefunds.id))
      .limit(input.pageSize)
      .offset((input.page - 1) * input.pageSize),
    db
      .select({
        currency: paymentRefunds.currency,
        refunds: sql<number>`count(*)::int`,
        amountMinor:
          sql<number>`coalesce(sum(${paymentRefunds.amountMinor}) FILTER (WHERE ${paymentRefunds.status} <> 'failed'), 0)::bigint`.mapWith(
            Number,
          ),
      })
      .from(paymentRefunds)
      .innerJoin(workspaces, eq(workspaces.id, paymentRefunds.workspaceId))
      .where(where)
      .groupBy(paymentRefunds.currency)
      .orderBy(paymentRefunds.currency),
  ]);

  return {
    ...paged(
      rows,
      totals.reduce((sum, row) => sum + row.refunds, 0),
      input,
    ),
    totalsByCurrency: totals,
  };
}

// ---------------------------------------------------------------------------
// Disputes

export const adminDisputeListInput = z.object({
  outcome: z.enum(disputeOutcome.enumValues).or(z.literal("")).default(""),
  workspace: z.string().trim().max(200).default(""),
  ...adminPagingInput,
});
export type AdminDisputeListInput = z.input<typeof adminDisputeListInput>;

export async function listDisputesForAdmin(db: DbOrTx, rawInput: AdminDisputeListInput) {
  const input = adminDisputeListInput.parse(rawInput);
  const where = and(
    input.outcome ? eq(disputes.outcome, input.outcome) : undefined,
    workspaceSearch(input.workspace),
  );
  const [rows, [count]] = await Promise.all([
    db
      .select({
        id: disputes.id,
        gatewayDisputeId: disputes.gatewayDisputeId,
        paymentId: disputes.paymentId,
        amountMinor: disputes.amountMinor,
        currency: disputes.currency,
        reason: disputes.reason,
        gatewayStatus: disputes.gatewayStatus,
        outcome: disputes.outcome,
        clawedBackCredits: disputes.clawedBackCredits,
        shortfallCredits: disputes.shortfallCredits,
        reinstatedCredits: disputes.reinstatedCredits,
        openedAt: disputes.openedAt,
        closedAt: disputes.closedAt,
        workspaceId: workspaces.id,
        workspaceName: workspaces.name,
        workspaceSlug: workspaces.slug,
      })
      .from(disputes)
      .innerJoin(workspaces, eq(workspaces.id, disputes.workspaceId))
      .where(where)
      .orderBy(desc(disputes.openedAt), desc(disputes.id))
      .limit(input.pageSize)
      .offset((input.page - 1) * input.pageSize),
    db
      .select({ n: sql<number>`count(*)::int` })
      .from(disputes)
      .innerJoin(workspaces, eq(workspaces.id, disputes.workspaceId))
      .where(where),
  ]);

  return paged(rows, count?.n ?? 0, input);
}

export async function disputeDetailForAdmin(
  db: DbOrTx,
  gateway: Pick<PaymentGateway, "kind">,
  disputeId: string,
) {
  const [row] = await db
    .select({
      dispute: disputes,
      payment: payments,
      workspace: { id: workspaces.id, name: workspaces.name, slug: workspaces.slug },
    })
    .from(disputes)
    .innerJoin(payments, eq(payments.id, disputes.paymentId))
    .innerJoin(workspaces, eq(workspaces.id, disputes.workspaceId))
    .where(eq(disputes.id, disputeId));
  if (!row) throw new AppError("not_found", "Dispute not found", { field: "disputeId" });

  return {
    ...row,
    canSimulateClose:
      simulates(gateway) && row.payment.gateway === "simulated" && row.dispute.outcome === "open",
  };
}

// ---------------------------------------------------------------------------
// Simulated disputes (the demo's and the journeys' chargebacks)

/** The simulated gateway's bank-side controls, when it has them. */
interface DisputeSimulator {
  openDispute(chargeOrPaymentIntentId: string, reason?: string): Promise<GatewayDispute>;
  closeDispute(disputeId: string, outcome: "won" | "lost"): Promise<GatewayDispute>;
}

/** Whether this gateway can play the cardholder's bank: the simulated one. */
function simulates(gateway: Pick<PaymentGateway, "kind">): boolean {
  const candidate = gateway as unknown as Partial<DisputeSimulator>;

  return (
    isSimulatedGateway(gateway as PaymentGateway) &&
    typeof candidate.openDispute === "function" &&
    typeof candidate.closeDispute === "function"
  );
}

function simulatorOf(gateway: PaymentGateway): DisputeSimulator {
  if (!simulates(gateway)) {
    throw new AppError(
      "conflict",
      "Disputes can only be simulated with the simulated gateway; at Stripe they come from the bank",
    );
  }

  return gateway as unknown as DisputeSimulator;
}

export const simulateDisputeInput = z.object({
  paymentId: z.uuid({ error: "Choose a payment" }),
  reason: z
    .enum(["fraudulent", "product_not_received", "duplicate", "subscription_canceled", "general"])
    .default("fraudulent"),
});

/** Checks (and audits) an admin's request to simulate a dispute; the gateway call follows. */
export const requestSimulatedDispute = defineCommand({
  name: "payments.simulateDispute",
  input: simulateDisputeInput,
  async run({ tx }, input) {
    const [payment] = await tx.select().from(payments).where(eq(payments.id, input.paymentId));
    if (!payment) throw new AppError("not_found", "Payment not found", { field: "paymentId" });
    if (payment.gateway !== "simulated") {
      throw new AppError(
        "conflict",
        "Only a payment at the simulated gateway can be disputed here",
      );
    }
    if (payment.status !== "succeeded" || !(payment.chargeId ?? payment.paymentIntentId)) {
      throw new AppError("invalid_request", "Only a succeeded payment can be disputed", {
        field: "paymentId",
      });
    }
    const [existing] = await tx
      .select({ id: disputes.id })
      .from(disputes)
      .where(eq(disputes.paymentId, payment.id));
    if (existing) {
      throw new AppError("conflict", "This payment is already disputed", { field: "paymentId" });
    }

    return {
      result: { target: (payment.chargeId ?? payment.paymentIntentId) as string },
      workspaceId: payment.workspaceId,
      audit: { paymentId: payment.id, reason: input.reason },
    };
  },
});

export const simulateDisputeCloseInput = z.object({
  disputeId: z.uuid({ error: "Choose a dispute" }),
  outcome: z.enum(["won", "lost"], { error: "Choose won or lost" }),
});

export const requestSimulatedDisputeClose = defineCommand({
  name: "payments.simulateDisputeClose",
  input: simulateDisputeCloseInput,
  async run({ tx }, input) {
    const [dispute] = await tx.select().from(disputes).where(eq(disputes.id, input.disputeId));
    if (!dispute) throw new AppError("not_found", "Dispute not found", { field: "disputeId" });
    if (dispute.outcome !== "open") {
      throw new AppError("conflict", `This dispute is already ${dispute.outcome}`);
    }

    return {
      result: { gatewayDisputeId: dispute.gatewayDisputeId },
      workspaceId: dispute.workspaceId,
      audit: { disputeId: dispute.id, outcome: input.outcome },
    };
  },
});

/**
 * Opens a dispute at the simulated gateway on a succeeded payment; its
 * charge.dispute.created webhook records it and claws the credits back.
 */
export async function simulateDispute(
  runtime: Pick<Runtime, "db" | "clock" | "logger" | "wake" | "gateway">,
  input: z.input<typeof simulateDisputeInput>,
  meta: CommandMeta,
): Promise<{ gatewayDisputeId: string }> {
  const simulator = simulatorOf(runtime.gateway);
  const { target } = await execute(runtime, requestSimulatedDispute, input, meta);
  const dispute = await simulator.openDispute(target, input.reason ?? "fraudulent");

  return { gatewayDisputeId: dispute.disputeId };
}

/** Decides a simulated dispute; its charge.dispute.closed webhook does the rest. */
export async function simulateDisputeClose(
  runtime: Pick<Runtime, "db" | "clock" | "logger" | "wake" | "gateway">,
  input: z.input<typeof simulateDisputeCloseInput>,
  meta: CommandMeta,
): Promise<{ status: string }> {
  const simulator = simulatorOf(runtime.gateway);
  const { gatewayDisputeId } = await execute(runtime, requestSimulatedDisputeClose, input, meta);
  const closed = await simulator.closeDispute(gatewayDisputeId, input.outcome);

  return { status: closed.status };
}
