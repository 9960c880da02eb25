import { and, desc, eq, gte, inArray, isNotNull, lt, or, sql } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";
import { z } from "zod";

import {
  billingCustomers,
  creditPurchases,
  creditRefunds,
  disputes,
  invoices,
  paymentRefunds,
  payments,
  reconciliationDrifts,
  reconciliationRuns,
} from "@/drizzle/schema";
import type { Clock } from "@/server/clock";
import type { Tx } from "@/server/db/client";
import { event, type EventDraft } from "@/server/events/catalogue";
import type { CronHandler, ReactionDeps } from "@/server/events/reactions";
import type { Logger } from "@/server/logger";

import type {
  GatewayDispute,
  GatewayPayment,
  GatewayRefundRecord,
  GatewayWindow,
  PaymentGateway,
} from "./gateway";

/**
 * The daily reconciliation, in both directions: what the gateway holds
 * (payments, refunds, disputes created in a window) compared with what Tally
 * recorded, and what Tally recorded in the same window (by its own created or
 * settled time: succeeded payments, refunds with a gateway id, disputes)
 * looked up at the gateway. Each
 * difference is a drift row, found once per kind and gateway object however
 * many runs see it, kept until an admin repairs or dismisses it
 * (server/payments/repairs.ts).
 *
 * Windows follow each other without gap or overlap: a run starts where the
 * last one (for the same gateway) ended, and ends a settling margin before
 * now, so a payment whose webhook is still on its way is not taken for drift.
 */

/** How long before now a window ends: webhooks of what happened since may still be arriving. */
export const SETTLING_MARGIN_MS = 10 * 60_000;
/** How far back the very first run looks. */
export const FIRST_WINDOW_DAYS = 35;

type DriftKind = (typeof reconciliationDrifts.$inferInsert)["kind"];

/** A drift as one check finds it, before it is stored. */
export interface Finding {
  kind: DriftKind;
  gatewayObjectId: string;
  workspaceId: string | null;
  paymentId: string | null;
  amountMinor: number | null;
  currency: string | null;
  details: {
    /** One sentence for the admin page. */
    summary: string;
    gateway: Record<string, unknown>;
    tally: Record<string, unknown> | null;
    /**
     * What to check by hand, when re-applying the gateway's object cannot fix
     * the drift (the gateway holds nothing, or holds less than Tally counts):
     * such a drift offers no repair, only dismiss.
     */
    manual?: string;
  };
}

const uuid = z.uuid();

function uuidOrNull(value: unknown): string | null {
  const parsed = uuid.safeParse(value);

  return parsed.success ? parsed.data : null;
}

/** Whole seconds: the gateway's times have no finer grain. */
function floorToSecond(at: Date): Date {
  return new Date(Math.floor(at.getTime() / 1000) * 1000);
}

/**
 * The window the next run covers: from the end of the last run for this
 * gateway (or FIRST_WINDOW_DAYS back) to the settling margin before now.
 * Null when it would be empty: the last run already reached that far.
 */
export async function nextWindow(
  tx: Tx,
  clock: Clock,
  gateway: PaymentGateway["kind"],
): Promise<GatewayWindow | null> {
  const now = clock.now();
  const until = floorToSecond(new Date(now.getTime() - SETTLING_MARGIN_MS));
  const [last] = await tx
    .select({ windowEnd: reconciliationRuns.windowEnd })
    .from(reconciliationRuns)
    .where(eq(reconciliationRuns.gateway, gateway))
    .orderBy(desc(reconciliationRuns.windowEnd))
    .limit(1);
  const since =
    last?.windowEnd ?? floorToSecond(new Date(now.getTime() - FIRST_WINDOW_DAYS * 86_400_000));
  if (since.getTime() >= until.getTime()) return null;

  return { since, until };
}

/** The workspace whose gateway customer this is, when Tally knows the customer. */
async function workspaceOfCustomer(tx: Tx, customerId: string | null): Promise<string | null> {
  if (!customerId) return null;
  const [row] = await tx
    .select({ workspaceId: billingCustomers.workspaceId })
    .from(billingCustomers)
    .where(eq(billingCustomers.customerId, customerId));

  return row?.workspaceId ?? null;
}

function gatewaySide(payment: GatewayPayment): Record<string, unknown> {
  return {
    paymentIntentId: payment.paymentIntentId,
    chargeId: payment.chargeId,
    status: payment.status,
    amountMinor: payment.amountMinor,
    amountReceivedMinor: payment.amountReceivedMinor,
    amountRefundedMinor: payment.amountRefundedMinor,
    currency: payment.currency,
    metadata: payment.metadata,
    createdAt: payment.createdAt.toISOString(),
  };
}

/**
 * What is wrong with one gateway payment from Tally's side, if anything:
 * - a succeeded payment for a purchase that is not paid with its credits
 *   granted → missing_grant;
 * - a succeeded payment for an invoice whose payment row is not succeeded,
 *   or whose invoice is not paid → status_mismatch;
 * - succeeded money that names nothing of Tally's and matches no payment
 *   row → payment_without_invoice;
 * - a payment row whose amount or currency differ from the gateway's, or
 *   that says succeeded where the gateway does not → status_mismatch.
 */
export async function checkPayment(tx: Tx, payment: GatewayPayment): Promise<Finding | null> {
  const [row] = await tx
    .select()
    .from(payments)
    .where(eq(payments.paymentIntentId, payment.paymentIntentId));
  const tally = row
    ? {
        paymentId: row.id,
        kind: row.kind,
        status: row.status,
        amountMinor: row.amountMinor,
        currency: row.currency,
        invoiceId: row.invoiceId,
        purchaseId: row.purchaseId,
      }
    : null;
  const purchaseId = uuidOrNull(payment.metadata.purchase_id);
  const invoiceId = uuidOrNull(payment.metadata.invoice_id);
  const found = (
    kind: DriftKind,
    summary: string,
    workspaceId: string | null,
    extra: Record<string, unknown> = {},
  ): Finding => ({
    kind,
    gatewayObjectId: payment.paymentIntentId,
    workspaceId: row?.workspaceId ?? workspaceId,
    paymentId: row?.id ?? null,
    amountMinor: payment.amountMinor,
    currency: payment.currency,
    details: {
      summary,
      gateway: gatewaySide(payment),
      tally: tally || Object.keys(extra).length > 0 ? { ...tally, ...extra } : null,
    },
  });

  if (payment.status === "succeeded") {
    if (purchaseId) {
      const [purchase] = await tx
        .select()
        .from(creditPurchases)
        .where(eq(creditPurchases.id, purchaseId));
      if (!purchase || purchase.status !== "paid" || !purchase.grantId) {
        const state = purchase
          ? { purchaseStatus: purchase.status, granted: purchase.grantId !== null }
          : { purchaseStatus: "unknown", granted: false };
        return found(
          "missing_grant",
          purchase
            ? `Paid at the gateway, but the purchase is ${purchase.status} and its credits ` +
                `${purchase.grantId ? "were granted" : "were never granted"}`
            : "Paid at the gateway for a purchase Tally does not know",
          purchase?.workspaceId ?? null,
          {
            purchaseId,
            ...state,
            ...(purchase
              ? { purchaseAmountMinor: purchase.amountMinor, purchaseCurrency: purchase.currency }
              : {}),
          },
        );
      }
    }
    if (invoiceId) {
      const [invoice] = await tx
        .select({
          status: invoices.status,
          number: invoices.number,
          workspaceId: invoices.workspaceId,
        })
        .from(invoices)
        .where(eq(invoices.id, invoiceId));
      if (!tally || tally.status !== "succeeded" || invoice?.status !== "paid") {
        return found(
          "status_mismatch",
          `Paid at the gateway, but Tally's payment is ${tally?.status ?? "missing"} and the ` +
            `invoice ${invoice?.number ?? invoiceId} is ${invoice?.status ?? "unknown"}`,
          invoice?.workspaceId ?? null,
          { invoiceId, invoiceStatus: invoice?.status ?? "unknown" },
        );
      }
    }
    if (!tally && !purchaseId && !invoiceId) {
      return found(
        "payment_without_invoice",
        "Money taken at the gateway that no Tally payment, purchase or invoice accounts for",
        await workspaceOfCustomer(tx, payment.customerId),
      );
    }
  } else if (tally?.status === "succeeded") {
    return withManual(
      found(
        "status_mismatch",
        `Tally counts this payment as succeeded; the gateway says ${payment.status}`,
        null,
      ),
      MANUAL_SUCCEEDED_NOT_PAID,
    );
  }
  if (tally && (tally.amountMinor !== payment.amountMinor || tally.currency !== payment.currency)) {
    return withManual(
      found(
        "status_mismatch",
        `Tally recorded ${tally.amountMinor} ${tally.currency}; the gateway has ` +
          `${payment.amountMinor} ${payment.currency}`,
        null,
      ),
      "Re-applying the gateway's payment does not change a recorded amount: compare the " +
        "payment in the gateway's dashboard with Tally's row and its invoice or purchase, " +
        "correct what is wrong by hand, then dismiss",
    );
  }

  return null;
}

const MANUAL_SUCCEEDED_NOT_PAID =
  "Re-applying the gateway's payment cannot undo a success Tally recorded: check in the " +
  "gateway's dashboard whether this money was ever taken, and if not, reverse what Tally " +
  "granted or marked paid for it (credits, invoice) by hand, then dismiss";

function withManual(finding: Finding, manual: string): Finding {
  return { ...finding, details: { ...finding.details, manual } };
}

/** A refund that moved (or is moving) money must be in Tally's ledger of refunds. */
export async function checkRefund(tx: Tx, refund: GatewayRefundRecord): Promise<Finding | null> {
  if (refund.status === "failed" || refund.status === "canceled") return null;
  const [recorded] = await tx
    .select({ id: paymentRefunds.id })
    .from(paymentRefunds)
    .where(eq(paymentRefunds.gatewayRefundId, refund.refundId));
  const [credited] = await tx
    .select({ id: creditRefunds.id })
    .from(creditRefunds)
    .where(eq(creditRefunds.gatewayRefundId, refund.refundId));
  if (recorded || credited) return null;

  const payment = await paymentNamed(tx, refund.paymentIntentId, refund.chargeId);

  return {
    kind: "refund_not_in_ledger",
    gatewayObjectId: refund.refundId,
    workspaceId: payment?.workspaceId ?? null,
    paymentId: payment?.paymentId ?? null,
    amountMinor: refund.amountMinor,
    currency: refund.currency,
    details: {
      summary: "Refunded at the gateway; Tally's ledger has no such refund",
      gateway: {
        refundId: refund.refundId,
        paymentIntentId: refund.paymentIntentId,
        chargeId: refund.chargeId,
        status: refund.status,
        amountMinor: refund.amountMinor,
        currency: refund.currency,
        metadata: refund.metadata,
        createdAt: refund.createdAt.toISOString(),
      },
      tally: payment
        ? {
            paymentId: payment.paymentId,
            purchaseId: payment.purchaseId,
            amountRefundedMinor: payment.amountRefundedMinor,
          }
        : null,
    },
  };
}

/** A dispute at the gateway must be recorded in Tally's disputes. */
export async function checkDispute(tx: Tx, dispute: GatewayDispute): Promise<Finding | null> {
  const [recorded] = await tx
    .select({ id: disputes.id })
    .from(disputes)
    .where(eq(disputes.gatewayDisputeId, dispute.disputeId));
  if (recorded) return null;

  const payment = await paymentNamed(tx, dispute.paymentIntentId, dispute.chargeId);

  return {
    kind: "dispute_not_recorded",
    gatewayObjectId: dispute.disputeId,
    workspaceId: payment?.workspaceId ?? null,
    paymentId: payment?.paymentId ?? null,
    amountMinor: dispute.amountMinor,
    currency: dispute.currency,
    details: {
      summary: `Disputed at the gateway (${dispute.reason ?? "no reason given"}, ${dispute.status}); Tally has no record of it`,
      gateway: {
        disputeId: dispute.disputeId,
        chargeId: dispute.chargeId,
        paymentIntentId: dispute.paymentIntentId,
        status: dispute.status,
        reason: dispute.reason,
        amountMinor: dispute.amountMinor,
        currency: dispute.currency,
        createdAt: dispute.createdAt.toISOString(),
      },
      tally: payment ? { paymentId: payment.paymentId, purchaseId: payment.purchaseId } : null,
    },
  };
}

/**
 * The Tally payment a refund or dispute concerns, by payment intent or
 * charge; a purchase without a payment row still names its workspace.
 */
async function paymentNamed(tx: Tx, paymentIntentId: string | null, chargeId: string | null) {
  const conditions = [
    paymentIntentId ? eq(payments.paymentIntentId, paymentIntentId) : undefined,
    chargeId ? eq(payments.chargeId, chargeId) : undefined,
  ].filter((condition) => condition !== undefined);
  if (conditions.length > 0) {
    const [row] = await tx
      .select({
        paymentId: payments.id,
        workspaceId: payments.workspaceId,
        purchaseId: payments.purchaseId,
        amountRefundedMinor: payments.amountRefundedMinor,
      })
      .from(payments)
      .where(or(...conditions))
      .limit(1);
    if (row) return row;
  }
  if (!paymentIntentId) return null;
  const [purchase] = await tx
    .select({ workspaceId: creditPurchases.workspaceId, purchaseId: creditPurchases.id })
    .from(creditPurchases)
    .where(eq(creditPurchases.paymentIntentId, paymentIntentId));

  return purchase ? { ...purchase, paymentId: null, amountRefundedMinor: null } : null;
}

/** Tally's records created or settled in the window: [since, until), as the gateway's lists. */
function inWindow(window: GatewayWindow, ...columns: PgColumn[]) {
  return or(...columns.map((column) => and(gte(column, window.since), lt(column, window.until))));
}

/**
 * The other direction for payments: each payment Tally counts as succeeded
 * in the window whose payment intent the gateway's list did not name is
 * looked up at the gateway. Not there at all, or there but not succeeded,
 * is a status_mismatch; otherwise the usual payment checks apply to what
 * the gateway holds. Returns the findings and how many payments it looked up.
 */
export async function checkTallyPayments(
  tx: Tx,
  gateway: PaymentGateway,
  window: GatewayWindow,
  listed: ReadonlySet<string>,
): Promise<{ findings: Finding[]; checked: number }> {
  const rows = await tx
    .select()
    .from(payments)
    .where(
      and(
        eq(payments.gateway, gateway.kind),
        eq(payments.status, "succeeded"),
        inWindow(window, payments.createdAt, payments.settledAt),
      ),
    );
  const findings: Finding[] = [];
  let checked = 0;
  for (const row of rows) {
    if (row.paymentIntentId && listed.has(row.paymentIntentId)) continue;
    checked += 1;
    const tally = {
      paymentId: row.id,
      kind: row.kind,
      status: row.status,
      amountMinor: row.amountMinor,
      currency: row.currency,
      invoiceId: row.invoiceId,
      purchaseId: row.purchaseId,
    };
    const held = row.paymentIntentId ? await gateway.retrievePayment(row.paymentIntentId) : null;
    if (held) {
      const finding = await checkPayment(tx, held);
      if (finding) findings.push(finding);
      continue;
    }
    findings.push({
      kind: "status_mismatch",
      // A succeeded row that names no payment intent is drift all the same, known by its own id.
      gatewayObjectId: row.paymentIntentId ?? row.id,
      workspaceId: row.workspaceId,
      paymentId: row.id,
      amountMinor: row.amountMinor,
      currency: row.currency,
      details: {
        summary: row.paymentIntentId
          ? "Tally counts this payment as succeeded; the gateway has no such payment"
          : "Tally counts this payment as succeeded, but it names no gateway payment",
        gateway: { paymentIntentId: row.paymentIntentId, status: "missing" },
        tally,
        manual: MANUAL_SUCCEEDED_NOT_PAID,
      },
    });
  }

  return { findings, checked };
}

/**
 * The other direction for refunds: each refund in Tally's ledger created or
 * settled in the window, pending or succeeded, with a gateway refund id the
 * gateway's list for the window does not hold. The refund may have been
 * created at the gateway just across a window's edge, so it is looked for
 * once more around its own time before it counts as drift.
 */
export async function checkTallyRefunds(
  tx: Tx,
  gateway: PaymentGateway,
  window: GatewayWindow,
  listed: ReadonlySet<string>,
): Promise<{ findings: Finding[]; checked: number }> {
  const rows = await tx
    .select({ refund: paymentRefunds, paymentIntentId: payments.paymentIntentId })
    .from(paymentRefunds)
    .innerJoin(payments, eq(payments.id, paymentRefunds.paymentId))
    .where(
      and(
        eq(payments.gateway, gateway.kind),
        isNotNull(paymentRefunds.gatewayRefundId),
        inArray(paymentRefunds.status, ["pending", "succeeded"]),
        inWindow(window, paymentRefunds.createdAt, paymentRefunds.settledAt),
      ),
    );
  const findings: Finding[] = [];
  let checked = 0;
  for (const { refund, paymentIntentId } of rows) {
    const refundId = refund.gatewayRefundId!;
    if (listed.has(refundId)) continue;
    checked += 1;
    const near = await gateway.listRefunds(around(refund.createdAt, refund.settledAt));
    if (near.some((candidate) => candidate.refundId === refundId)) continue;
    findings.push({
      kind: "refund_not_at_gateway",
      gatewayObjectId: refundId,
      workspaceId: refund.workspaceId,
      paymentId: refund.paymentId,
      amountMinor: refund.amountMinor,
      currency: refund.currency,
      details: {
        summary: `Tally's ledger holds a ${refund.status} refund the gateway does not`,
        gateway: { refundId, paymentIntentId, status: "missing" },
        tally: {
          paymentRefundId: refund.id,
          paymentId: refund.paymentId,
          origin: refund.origin,
          status: refund.status,
          reason: refund.reason,
          amountMinor: refund.amountMinor,
          currency: refund.currency,
          createdAt: refund.createdAt.toISOString(),
        },
        manual:
          "The gateway never refunded this: check the payment in the gateway's dashboard, " +
          "refund there if the customer is owed it, or correct Tally's refund record by hand, " +
          "then dismiss",
      },
    });
  }

  return { findings, checked };
}

/**
 * The other direction for disputes: each dispute Tally recorded (opened or
 * created in the window) that the gateway's list does not hold, looked for
 * once more around its own time before it counts as drift.
 */
export async function checkTallyDisputes(
  tx: Tx,
  gateway: PaymentGateway,
  window: GatewayWindow,
  listed: ReadonlySet<string>,
): Promise<{ findings: Finding[]; checked: number }> {
  const rows = await tx
    .select({ dispute: disputes, paymentIntentId: payments.paymentIntentId })
    .from(disputes)
    .innerJoin(payments, eq(payments.id, disputes.paymentId))
    .where(
      and(
        eq(payments.gateway, gateway.kind),
        inWindow(window, disputes.openedAt, disputes.createdAt),
      ),
    );
  const findings: Finding[] = [];
  let checked = 0;
  for (const { dispute, paymentIntentId } of rows) {
    if (listed.has(dispute.gatewayDisputeId)) continue;
    checked += 1;
    const near = await gateway.listDisputes(around(dispute.openedAt, dispute.createdAt));
    if (near.some((candidate) => candidate.disputeId === dispute.gatewayDisputeId)) continue;
    findings.push({
      kind: "dispute_not_at_gateway",
      gatewayObjectId: dispute.gatewayDisputeId,
      workspaceId: dispute.workspaceId,
      paymentId: dispute.paymentId,
      amountMinor: dispute.amountMinor,
      currency: dispute.currency,
      details: {
        summary: `Tally recorded a dispute (${dispute.outcome}) the gateway does not hold`,
        gateway: {
          disputeId: dispute.gatewayDisputeId,
          chargeId: dispute.chargeId,
          paymentIntentId,
          status: "missing",
        },
        tally: {
          disputeId: dispute.id,
          paymentId: dispute.paymentId,
          status: dispute.gatewayStatus,
          outcome: dispute.outcome,
          amountMinor: dispute.amountMinor,
          currency: dispute.currency,
          clawedBackCredits: dispute.clawedBackCredits,
          openedAt: dispute.openedAt.toISOString(),
        },
        manual:
          "The gateway has no such chargeback: check the payment in the gateway's dashboard " +
          "and give back by hand any credits Tally clawed back for it, then dismiss",
      },
    });
  }

  return { findings, checked };
}

/** A second look across window edges: a day either side of Tally's own times for the object. */
function around(first: Date, second: Date | null): GatewayWindow {
  const times = [first.getTime(), (second ?? first).getTime()];

  return {
    since: new Date(Math.min(...times) - 86_400_000),
    until: new Date(Math.max(...times) + 86_400_000),
  };
}

export interface RunSummary {
  runId: string;
  windowStart: Date;
  windowEnd: Date;
  checked: number;
  driftsFound: number;
}

/**
 * One reconciliation run for the window since the last one, in the caller's
 * transaction: the run row, a drift row per new difference, and the
 * payments/reconciliation-finished event to write. Runs are serialised by a
 * transaction-scoped advisory lock, so two at once (the cron and an admin's
 * "Run now") never cover the same window: the second waits, then starts
 * where the first ended, and does nothing when that is now. Null when there
 * is no window to run.
 *
 * The gateway is read inside the transaction, holding the lock; a gateway
 * that fails rolls the run back whole, and the next attempt starts over.
 *
 * TODO: each object is compared only in the window holding its creation (or Tally's settled)
 * time, so drift made after that window has passed, such as a payment that succeeds at the gateway
 * after its window without Tally hearing of it, is never found by a later run.
 *
 * TODO: the gateway's lists are paged while the transaction and its lock are held, so a window
 * with many thousands of objects keeps a database connection busy for as long as Stripe takes.
 */
export async function runReconciliation(
  tx: Tx,
  deps: Pick<ReactionDeps, "clock" | "gateway">,
  log: Logger,
): Promise<{ run: RunSummary; events: EventDraft[] } | null> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext('tally:reconciliation'))`);
  const window = await nextWindow(tx, deps.clock, deps.gateway.kind);
  if (!window) {
    log.info("reconciliation already covers this window; nothing to do");
    return null;
  }
  const startedAt = deps.clock.now();
  const [gatewayPayments, gatewayRefunds, gatewayDisputes] = await Promise.all([
    deps.gateway.listPayments(window),
    deps.gateway.listRefunds(window),
    deps.gateway.listDisputes(window),
  ]);

  const findings: Finding[] = [];
  for (const payment of gatewayPayments) {
    const finding = await checkPayment(tx, payment);
    if (finding) findings.push(finding);
  }
  for (const refund of gatewayRefunds) {
    const finding = await checkRefund(tx, refund);
    if (finding) findings.push(finding);
  }
  for (const dispute of gatewayDisputes) {
    const finding = await checkDispute(tx, dispute);
    if (finding) findings.push(finding);
  }
  const tallySide = [
    await checkTallyPayments(
      tx,
      deps.gateway,
      window,
      new Set(gatewayPayments.map((payment) => payment.paymentIntentId)),
    ),
    await checkTallyRefunds(
      tx,
      deps.gateway,
      window,
      new Set(gatewayRefunds.map((refund) => refund.refundId)),
    ),
    await checkTallyDisputes(
      tx,
      deps.gateway,
      window,
      new Set(gatewayDisputes.map((dispute) => dispute.disputeId)),
    ),
  ];
  for (const side of tallySide) findings.push(...side.findings);
  const checked =
    gatewayPayments.length +
    gatewayRefunds.length +
    gatewayDisputes.length +
    tallySide.reduce((sum, side) => sum + side.checked, 0);

  const [run] = await tx
    .insert(reconciliationRuns)
    .values({
      gateway: deps.gateway.kind,
      windowStart: window.since,
      windowEnd: window.until,
      checked,
      startedAt,
    })
    .returning({ id: reconciliationRuns.id });
  if (!run) throw new Error("reconciliation run insert returned nothing");

  const foundAt = deps.clock.now();
  const inserted =
    findings.length === 0
      ? []
      : await tx
          .insert(reconciliationDrifts)
          .values(findings.map((finding) => ({ ...finding, runId: run.id, foundAt })))
          .onConflictDoNothing({
            target: [reconciliationDrifts.kind, reconciliationDrifts.gatewayObjectId],
          })
          .returning({ id: reconciliationDrifts.id });
  const driftsFound = inserted.length;
  await tx
    .update(reconciliationRuns)
    .set({ driftsFound, finishedAt: deps.clock.now() })
    .where(eq(reconciliationRuns.id, run.id));

  const summary: RunSummary = {
    runId: run.id,
    windowStart: window.since,
    windowEnd: window.until,
    checked,
    driftsFound,
  };
  log.info(
    { runId: run.id, checked, driftsFound, seenAgain: findings.length - driftsFound },
    "reconciliation run finished",
  );

  return {
    run: summary,
    events: [
      event("payments/reconciliation-finished", {
        runId: run.id,
        checked,
        driftsFound,
        windowStart: window.since.toISOString(),
        windowEnd: window.until.toISOString(),
      }),
    ],
  };
}

/** The daily cron: one run for the window since the last. */
export const reconcileWithGateway: CronHandler = async ({ tx, deps, log }) =>
  (await runReconciliation(tx, deps, log))?.events;

/** The drift still holds for this gateway object? Re-checked after a repair, with what the gateway says now. */
export async function recheck(
  tx: Tx,
  kind: DriftKind,
  current: { payment?: GatewayPayment; refund?: GatewayRefundRecord; dispute?: GatewayDispute },
): Promise<Finding | null> {
  const finding = current.payment
    ? await checkPayment(tx, current.payment)
    : current.refund
      ? await checkRefund(tx, current.refund)
      : current.dispute
        ? await checkDispute(tx, current.dispute)
        : null;

  return finding && finding.kind === kind ? finding : null;
}
