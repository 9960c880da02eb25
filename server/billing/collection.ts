import { and, desc, eq, inArray, ne, sql } from "drizzle-orm";
import { z } from "zod";

import {
  billingCustomers,
  dunningCases,
  invoices,
  payments,
  subscriptions,
  workspaces,
} from "@/drizzle/schema";
import type { Actor } from "@/server/actor";
import { executeInTransaction } from "@/server/commands";
import { uuidFromName } from "@/server/credits/purchases";
import type { Tx } from "@/server/db/client";
import { AppError } from "@/server/errors";
import { event, type EventDraft } from "@/server/events/catalogue";
import type { ReactionDeps, ReactionHandler } from "@/server/events/reactions";
import type { Logger } from "@/server/logger";
import type { StripeEventHandler } from "@/server/payments/reactions";
import { reactivateWorkspace, suspendWorkspace } from "@/server/workspaces/commands";

import type { Invoice } from "./invoices";
import { setSubscriptionStatus } from "./subscriptions";

/**
 * Collecting invoices: every open invoice with money due is charged off
 * session to the workspace's saved card, one `payments` row per attempt
 * (gateway idempotency key `invoice:<invoiceId>:<attempt>`, the row's id
 * derived from the same name, so a repeated reaction finds both the row and
 * the gateway's charge).
 *
 * The gateway's answer and its webhooks (payment_intent.succeeded,
 * payment_intent.payment_failed) end a payment through the same two
 * functions, settleInvoicePayment and failInvoicePayment, which lock the
 * payment row and act once whichever arrives first. A failure opens or
 * advances the invoice's dunning case (dunning.ts); a success pays the
 * invoice and closes the case as recovered.
 */

export type ChargeTrigger = "invoice_issued" | "dunning_retry" | "card_updated" | "customer";

type Payment = typeof payments.$inferSelect;
type DunningCase = typeof dunningCases.$inferSelect;

const DAY_MS = 86_400_000;

/**
 * How long a claimed dunning case waits for its retry before the sweep asks
 * again (a lost event, a crashed run). The retry finds from the payments
 * whether its attempt was already made, so asking twice never charges twice.
 */
export const CLAIM_LEASE_MS = 10 * 60_000;
const system = (reason: string): Actor => ({ type: "system", reason });

/** What remains to pay on an invoice: nothing unless it is open. */
export function remainingOf(
  invoice: Pick<Invoice, "status" | "amountDueMinor" | "amountPaidMinor">,
) {
  return invoice.status === "open"
    ? Math.max(invoice.amountDueMinor - invoice.amountPaidMinor, 0)
    : 0;
}

/** When the retry at `index` (0 for the first) of a case's schedule is due. */
export function retryTime(
  openedAt: Date,
  retryDays: readonly number[],
  index: number,
): Date | null {
  const days = retryDays[index];

  return days === undefined ? null : new Date(openedAt.getTime() + days * DAY_MS);
}

export function paymentIdFor(invoiceId: string, attempt: number): string {
  return uuidFromName(`invoice:${invoiceId}:${attempt}`);
}

async function lockInvoice(tx: Tx, invoiceId: string): Promise<Invoice | undefined> {
  const [invoice] = await tx
    .select()
    .from(invoices)
    .where(eq(invoices.id, invoiceId))
    .for("update");

  return invoice;
}

async function lockPayment(tx: Tx, paymentId: string): Promise<Payment | undefined> {
  const [payment] = await tx
    .select()
    .from(payments)
    .where(eq(payments.id, paymentId))
    .for("update");

  return payment;
}

export async function lockCaseOf(tx: Tx, invoiceId: string): Promise<DunningCase | undefined> {
  const [row] = await tx
    .select()
    .from(dunningCases)
    .where(eq(dunningCases.invoiceId, invoiceId))
    .for("update");

  return row;
}

/** Why an invoice is not charged now, or null when it may be. */
export function whyNotCharged(invoice: Invoice | undefined): string | null {
  if (!invoice) return "the invoice does not exist";
  if (invoice.status !== "open") return `${invoice.number ?? "the invoice"} is ${invoice.status}`;
  if (remainingOf(invoice) === 0) return `nothing remains to pay on ${invoice.number}`;

  return null;
}

export interface ChargeRequest {
  invoiceId: string;
  trigger: ChargeTrigger;
  /** The attempt to make; by default the one after the invoice's last. */
  attempt?: number;
}

export type ChargeOutcome =
  | { status: "skipped"; reason: string }
  | {
      status: "succeeded" | "processing" | "failed";
      paymentId: string;
      attempt: number;
      failureMessage?: string;
    };

/**
 * Charges what remains on an open invoice to the workspace's saved card,
 * under the invoice's row lock (so two charges of one invoice never run at
 * once), and ends the payment at once when the gateway answers. Nothing is
 * charged for an invoice no longer open, with nothing remaining, with a
 * payment still processing, or whose attempt was already made.
 */
export async function chargeInvoice(
  tx: Tx,
  deps: ReactionDeps,
  log: Logger,
  request: ChargeRequest,
): Promise<{ outcome: ChargeOutcome; events: EventDraft[] }> {
  const skipped = (reason: string) => {
    log.info({ invoiceId: request.invoiceId, reason }, "invoice not charged");

    return { outcome: { status: "skipped" as const, reason }, events: [] };
  };
  const invoice = await lockInvoice(tx, request.invoiceId);
  const why = whyNotCharged(invoice);
  if (why || !invoice) return skipped(why ?? "the invoice does not exist");

  const [previous] = await tx
    .select({ attempt: payments.attempt, status: payments.status })
    .from(payments)
    .where(eq(payments.invoiceId, invoice.id))
    .orderBy(desc(payments.attempt))
    .limit(1);
  const inFlight = await tx
    .select({ id: payments.id })
    .from(payments)
    .where(
      and(eq(payments.invoiceId, invoice.id), inArray(payments.status, ["pending", "processing"])),
    );
  if (inFlight.length > 0) return skipped("a payment of the invoice is still processing");
  const attempt = request.attempt ?? (previous?.attempt ?? 0) + 1;
  if (previous && previous.attempt >= attempt)
    return skipped(`attempt ${attempt} was already made`);

  const [customer] = await tx
    .select()
    .from(billingCustomers)
    .where(eq(billingCustomers.workspaceId, invoice.workspaceId));
  if (!customer) throw new Error(`Workspace ${invoice.workspaceId} has no gateway customer yet`);
  if (customer.gateway !== deps.gateway.kind) {
    throw new Error(
      `Workspace ${invoice.workspaceId} pays through ${customer.gateway}; the gateway in use is ` +
        deps.gateway.kind,
    );
  }

  // An off-session charge takes the customer's default card at the gateway (which can change
  // there without a webhook); kept on the payment so the history names the card it used.
  const card = await deps.gateway.defaultPaymentMethod(customer.customerId);

  const paymentId = paymentIdFor(invoice.id, attempt);
  const amountMinor = remainingOf(invoice);
  await tx.insert(payments).values({
    id: paymentId,
    workspaceId: invoice.workspaceId,
    kind: "invoice",
    invoiceId: invoice.id,
    gateway: customer.gateway,
    attempt,
    trigger: request.trigger,
    idempotencyKey: `invoice:${invoice.id}:${attempt}`,
    amountMinor,
    currency: invoice.currency,
    paymentMethodLabel: card?.label ?? null,
    createdAt: deps.clock.now(),
  });

  const charge = await deps.gateway.chargeOffSession(
    {
      customerId: customer.customerId,
      amountMinor,
      currency: invoice.currency,
      description: `Invoice ${invoice.number}`,
      metadata: {
        invoice_id: invoice.id,
        payment_id: paymentId,
        workspace_id: invoice.workspaceId,
      },
    },
    `invoice:${invoice.id}:${attempt}`,
  );
  if (charge.paymentIntentId) {
    await tx
      .update(payments)
      .set({ paymentIntentId: charge.paymentIntentId })
      .where(eq(payments.id, paymentId));
  }
  const made = { paymentId, attempt };
  if (charge.status === "succeeded") {
    const events = await settleInvoicePayment(tx, deps, log, paymentId, {
      paymentIntentId: charge.paymentIntentId,
      chargeId: charge.chargeId,
    });

    return { outcome: { status: "succeeded", ...made }, events };
  }
  if (charge.status === "processing") {
    await tx.update(payments).set({ status: "processing" }).where(eq(payments.id, paymentId));
    log.info(made, "invoice payment processing; the gateway's webhook ends it");

    return { outcome: { status: "processing", ...made }, events: [] };
  }
  if (charge.status !== "failed") throw new Error(`Unknown charge status ${charge.status}`);
  const events = await failInvoicePayment(tx, deps, log, paymentId, {
    code: charge.failureCode,
    message: charge.failureReason,
  });

  return { outcome: { status: "failed", ...made, failureMessage: charge.failureReason }, events };
}

/**
 * A payment of an invoice went through: the payment succeeded, the invoice
 * is paid (or paid in part), billing/payment-succeeded, and the invoice's
 * dunning case is closed as recovered, which restores the subscription and
 * reactivates a workspace that dunning suspended. Once per payment.
 */
export async function settleInvoicePayment(
  tx: Tx,
  deps: ReactionDeps,
  log: Logger,
  paymentId: string,
  outcome: { paymentIntentId: string | null; chargeId: string | null },
): Promise<EventDraft[]> {
  const payment = await lockPayment(tx, paymentId);
  if (!payment || payment.kind !== "invoice" || !payment.invoiceId) return [];
  if (payment.status === "succeeded") {
    if (!payment.chargeId && outcome.chargeId) {
      await tx
        .update(payments)
        .set({ chargeId: outcome.chargeId })
        .where(eq(payments.id, paymentId));
    }
    return [];
  }
  const now = deps.clock.now();
  await tx
    .update(payments)
    .set({
      status: "succeeded",
      paymentIntentId: payment.paymentIntentId ?? outcome.paymentIntentId,
      chargeId: outcome.chargeId ?? payment.chargeId,
      failureCode: null,
      failureMessage: null,
      settledAt: now,
    })
    .where(eq(payments.id, paymentId));
  const events: EventDraft[] = [
    event("billing/payment-succeeded", {
      workspaceId: payment.workspaceId,
      paymentId: payment.id,
      invoiceId: payment.invoiceId,
      amountMinor: payment.amountMinor,
      currency: payment.currency,
    }),
  ];

  const invoice = await lockInvoice(tx, payment.invoiceId);
  if (!invoice) return events;
  if (invoice.status !== "open") {
    // TODO: money taken for an invoice no longer open (paid twice, voided meanwhile) is not yet refunded automatically; reconciliation lists it.
    log.warn(
      { paymentId, invoiceId: invoice.id, status: invoice.status },
      "payment succeeded for an invoice that is no longer open",
    );
    return events;
  }
  const amountPaidMinor = invoice.amountPaidMinor + payment.amountMinor;
  const paid = amountPaidMinor >= invoice.amountDueMinor;
  await tx
    .update(invoices)
    .set({ amountPaidMinor, ...(paid ? { status: "paid" as const, paidAt: now } : {}) })
    .where(eq(invoices.id, invoice.id));
  if (!paid) return events;

  const open = await lockCaseOf(tx, invoice.id);
  if (open && (open.status === "retrying" || open.status === "exhausted")) {
    await tx
      .update(dunningCases)
      .set({ attempts: Math.max(open.attempts, payment.attempt) })
      .where(eq(dunningCases.id, open.id));
    events.push(
      ...(await closeCase(tx, deps, log, open, {
        outcome: "recovered",
        reason: `${invoice.number} was paid`,
      })),
    );
  } else {
    await restoreSubscription(tx, deps, invoice.workspaceId);
  }

  return events;
}

/**
 * A payment of an invoice failed: the payment failed, billing/payment-failed
 * with its attempt (1 sends the payment-failed email, later ones the
 * retry-failed email), and the invoice's dunning case opened or advanced.
 * Once per payment; a payment that already succeeded stays succeeded.
 */
export async function failInvoicePayment(
  tx: Tx,
  deps: ReactionDeps,
  log: Logger,
  paymentId: string,
  failure: { code: string | null; message: string },
): Promise<EventDraft[]> {
  const payment = await lockPayment(tx, paymentId);
  if (!payment || payment.kind !== "invoice" || !payment.invoiceId) return [];
  if (payment.status === "succeeded" || payment.status === "failed") return [];
  await tx
    .update(payments)
    .set({ status: "failed", failureCode: failure.code, failureMessage: failure.message })
    .where(eq(payments.id, paymentId));
  const events: EventDraft[] = [
    event("billing/payment-failed", {
      workspaceId: payment.workspaceId,
      paymentId: payment.id,
      invoiceId: payment.invoiceId,
      amountMinor: payment.amountMinor,
      currency: payment.currency,
      failureCode: failure.code,
      attempt: payment.attempt,
      trigger: payment.trigger as ChargeTrigger,
    }),
  ];
  events.push(...(await advanceDunning(tx, deps, log, payment, failure)));

  return events;
}

/**
 * The dunning side of a failed payment. The first failure of an open
 * invoice opens its case with the configured schedule copied in (retries on
 * days after that failure) and puts the subscription past due; a failed
 * scheduled retry moves the case to the next step, warns before the last
 * one, and after the last suspends the workspace. A failed charge with a new
 * card or by the customer counts as an attempt but keeps the schedule.
 */
async function advanceDunning(
  tx: Tx,
  deps: ReactionDeps,
  log: Logger,
  payment: Payment,
  failure: { code: string | null; message: string },
): Promise<EventDraft[]> {
  const invoiceId = payment.invoiceId!;
  const invoice = await lockInvoice(tx, invoiceId);
  if (!invoice || whyNotCharged(invoice)) return [];
  const [workspace] = await tx
    .select({ status: workspaces.status })
    .from(workspaces)
    .where(eq(workspaces.id, invoice.workspaceId));
  if (!workspace || workspace.status === "cancelled") {
    log.info({ invoiceId }, "the workspace is cancelled; no dunning");
    return [];
  }
  const now = deps.clock.now();
  const existing = await lockCaseOf(tx, invoiceId);
  const events: EventDraft[] = [];

  if (!existing) {
    const retryDays = [...deps.billing.dunningRetryDays];
    const [opened] = await tx
      .insert(dunningCases)
      .values({
        workspaceId: invoice.workspaceId,
        invoiceId,
        status: "retrying",
        retryDays,
        attempts: payment.attempt,
        nextAttemptAt: retryTime(now, retryDays, 0),
        lastFailureCode: failure.code,
        lastFailureMessage: failure.message,
        openedAt: now,
      })
      .returning();
    const [subscription] = await tx
      .select({ status: subscriptions.status })
      .from(subscriptions)
      .where(eq(subscriptions.workspaceId, invoice.workspaceId));
    if (subscription?.status === "active" || subscription?.status === "trialing") {
      await setSubscriptionStatus(tx, invoice.workspaceId, "past_due", now);
    }
    log.info({ caseId: opened!.id, invoiceId }, "dunning case opened");
    events.push(
      ...(await afterScheduledFailure(tx, deps, log, opened!, invoice, 0, payment.attempt)),
    );

    return events;
  }
  if (existing.status !== "retrying" && existing.status !== "exhausted") return [];
  await tx
    .update(dunningCases)
    .set({
      attempts: Math.max(existing.attempts, payment.attempt),
      lastFailureCode: failure.code,
      lastFailureMessage: failure.message,
    })
    .where(eq(dunningCases.id, existing.id));
  if (payment.trigger !== "dunning_retry" || existing.status !== "retrying") return [];

  const [done] = await tx
    .select({ count: sql<number>`count(*)::int` })
    .from(payments)
    .where(
      and(
        eq(payments.invoiceId, invoiceId),
        eq(payments.trigger, "dunning_retry"),
        ne(payments.status, "pending"),
      ),
    );
  events.push(
    ...(await afterScheduledFailure(
      tx,
      deps,
      log,
      existing,
      invoice,
      done?.count ?? 0,
      Math.max(existing.attempts, payment.attempt),
    )),
  );

  return events;
}

/**
 * After `retriesDone` scheduled retries have failed: the next retry's time,
 * the warning once when the next retry is the last, or, with none left, the
 * case exhausted and the workspace suspended.
 */
async function afterScheduledFailure(
  tx: Tx,
  deps: ReactionDeps,
  log: Logger,
  open: DunningCase,
  invoice: Invoice,
  retriesDone: number,
  attempts: number,
): Promise<EventDraft[]> {
  const next = retryTime(open.openedAt, open.retryDays, retriesDone);
  const money = { amountMinor: remainingOf(invoice), currency: invoice.currency };
  const ref = { workspaceId: open.workspaceId, caseId: open.id, invoiceId: invoice.id };
  if (next) {
    const now = deps.clock.now();
    const last = retriesDone === open.retryDays.length - 1;
    const warn = last && !open.warnedAt;
    // A retry whose day has already passed (the server was down, the clock was moved) is claimed
    // and asked for now, as the sweep would, rather than a minute later.
    const overdue = next.getTime() <= now.getTime();
    await tx
      .update(dunningCases)
      .set({
        nextAttemptAt: overdue ? new Date(now.getTime() + CLAIM_LEASE_MS) : next,
        ...(warn ? { warnedAt: now } : {}),
      })
      .where(eq(dunningCases.id, open.id));

    return [
      ...(warn
        ? [event("billing/dunning-warning", { ...ref, ...money, suspendsAt: next.toISOString() })]
        : []),
      ...(overdue
        ? [
            event("billing/payment-retry-due", {
              ...ref,
              attempt: attempts + 1,
              trigger: "dunning_retry" as const,
            }),
          ]
        : []),
    ];
  }

  const events: EventDraft[] = [];
  let suspendedAt: Date | null = null;
  const [workspace] = await tx
    .select({ status: workspaces.status, suspendedAt: workspaces.suspendedAt })
    .from(workspaces)
    .where(eq(workspaces.id, open.workspaceId));
  if (workspace?.status === "suspended" && workspace.suspendedAt) {
    // Already suspended by another unpaid invoice: this case shares that suspension, so the
    // workspace comes back only once both are paid.
    const [sharing] = await tx
      .select({ id: dunningCases.id })
      .from(dunningCases)
      .where(
        and(
          eq(dunningCases.workspaceId, open.workspaceId),
          eq(dunningCases.status, "exhausted"),
          eq(dunningCases.suspendedAt, workspace.suspendedAt),
        ),
      );
    if (sharing) suspendedAt = workspace.suspendedAt;
  }
  if (workspace?.status === "active") {
    try {
      const suspended = await executeInTransaction(
        tx,
        { clock: deps.clock, log },
        suspendWorkspace,
        { workspaceId: open.workspaceId, reason: `Payment overdue: ${invoice.number}` },
        system("dunning exhausted"),
      );
      suspendedAt = suspended.result.suspendedAt;
      events.push(...suspended.events);
    } catch (error) {
      // Suspended or cancelled by someone else since it was read: that status stands.
      if (!(error instanceof AppError && error.code === "conflict")) throw error;
    }
  }
  await tx
    .update(dunningCases)
    .set({ status: "exhausted", nextAttemptAt: null, suspendedAt })
    .where(eq(dunningCases.id, open.id));
  events.push(
    event("billing/dunning-exhausted", {
      ...ref,
      ...money,
      attempts: Math.max(open.attempts, retriesDone + 1),
    }),
  );

  return events;
}

/**
 * Ends an open case: recovered (the invoice was paid) or stopped (voided,
 * written off, the workspace cancelled). A workspace that the case's
 * exhaustion suspended, and that nothing has suspended again since, is
 * reactivated; otherwise a past-due subscription becomes active again when
 * no other case is open.
 */
export async function closeCase(
  tx: Tx,
  deps: ReactionDeps,
  log: Logger,
  open: DunningCase,
  close: { outcome: "recovered" | "stopped"; reason: string },
): Promise<EventDraft[]> {
  const now = deps.clock.now();
  await tx
    .update(dunningCases)
    .set({ status: close.outcome, nextAttemptAt: null, closedAt: now, closeReason: close.reason })
    .where(eq(dunningCases.id, open.id));
  const events: EventDraft[] = [
    event("billing/dunning-closed", {
      workspaceId: open.workspaceId,
      caseId: open.id,
      invoiceId: open.invoiceId,
      outcome: close.outcome,
      reason: close.reason,
    }),
  ];
  log.info({ caseId: open.id, ...close }, "dunning case closed");

  const [workspace] = await tx
    .select({ status: workspaces.status, suspendedAt: workspaces.suspendedAt })
    .from(workspaces)
    .where(eq(workspaces.id, open.workspaceId));
  const ours =
    open.suspendedAt !== null &&
    workspace?.status === "suspended" &&
    workspace.suspendedAt?.getTime() === open.suspendedAt.getTime();
  if (ours && !(await otherCaseSuspends(tx, open))) {
    const reactivated = await executeInTransaction(
      tx,
      { clock: deps.clock, log },
      reactivateWorkspace,
      { workspaceId: open.workspaceId },
      system(close.reason),
    );
    events.push(...reactivated.events);
  } else {
    await restoreSubscription(tx, deps, open.workspaceId);
  }

  return events;
}

/** Another exhausted case that suspended the workspace at the same moment keeps it suspended. */
async function otherCaseSuspends(tx: Tx, open: DunningCase): Promise<boolean> {
  const rows = await tx
    .select({ id: dunningCases.id })
    .from(dunningCases)
    .where(
      and(
        eq(dunningCases.workspaceId, open.workspaceId),
        eq(dunningCases.status, "exhausted"),
        ne(dunningCases.id, open.id),
      ),
    );

  return rows.length > 0;
}

/** past_due → active once no case of the workspace is open. */
async function restoreSubscription(tx: Tx, deps: ReactionDeps, workspaceId: string) {
  const [subscription] = await tx
    .select({ status: subscriptions.status })
    .from(subscriptions)
    .where(eq(subscriptions.workspaceId, workspaceId));
  if (subscription?.status !== "past_due") return;
  const still = await tx
    .select({ id: dunningCases.id })
    .from(dunningCases)
    .where(
      and(
        eq(dunningCases.workspaceId, workspaceId),
        inArray(dunningCases.status, ["retrying", "exhausted"]),
      ),
    );
  if (still.length === 0) await setSubscriptionStatus(tx, workspaceId, "active", deps.clock.now());
}

/** billing/payment-requested → the invoice's first charge (attempt 1). */
export const collectInvoice: ReactionHandler<"billing/payment-requested"> = async ({
  tx,
  event: requested,
  deps,
  log,
}) => {
  const charged = await chargeInvoice(tx, deps, log, {
    invoiceId: requested.data.invoiceId,
    trigger: "invoice_issued",
    attempt: 1,
  });

  return charged.events;
};

// ---------------------------------------------------------------------------
// The gateway's webhooks about invoice payments.

const intentPayload = z
  .object({
    id: z.string(),
    object: z.literal("payment_intent"),
    amount: z.number().int().nullish(),
    currency: z.string().nullish(),
    metadata: z.record(z.string(), z.unknown()).nullish(),
    latest_charge: z.union([z.string(), z.object({ id: z.string() }).loose()]).nullish(),
    last_payment_error: z
      .object({
        message: z.string().nullish(),
        code: z.string().nullish(),
        decline_code: z.string().nullish(),
      })
      .loose()
      .nullish(),
  })
  .loose();

/**
 * The invoice payment a payment_intent event is about: the one its metadata
 * names (`payment_id`), else the one holding its id; null when it is not an
 * invoice's. A payment named but not found yet is an error, so the event is
 * retried: the gateway can report a charge before the reaction that made it
 * has committed.
 */
async function invoicePaymentOf(
  tx: Tx,
  intent: z.output<typeof intentPayload>,
): Promise<string | null> {
  const named = z.uuid().safeParse(intent.metadata?.payment_id);
  if (named.success && typeof intent.metadata?.invoice_id === "string") {
    const [row] = await tx
      .select({ id: payments.id })
      .from(payments)
      .where(eq(payments.id, named.data));
    if (!row)
      throw new Error(`Invoice payment ${named.data} named by the event is not known (yet)`);

    return row.id;
  }
  const [row] = await tx
    .select({ id: payments.id })
    .from(payments)
    .where(and(eq(payments.paymentIntentId, intent.id), eq(payments.kind, "invoice")));

  return row?.id ?? null;
}

/**
 * The invoice payment an event is about, locked, once the event is shown to
 * describe it: the same payment intent (or, for a payment that has none yet,
 * one the gateway itself says was made for this payment), the same amount
 * and currency, and the same workspace. Stripe never sends an event that
 * disagrees, so one that does is forged or garbled: it throws, and the
 * backbone retries it and then keeps it as a dead letter for an admin,
 * having changed nothing.
 */
async function matchingInvoicePayment(
  tx: Tx,
  deps: ReactionDeps,
  intent: z.output<typeof intentPayload>,
): Promise<string | null> {
  const paymentId = await invoicePaymentOf(tx, intent);
  if (!paymentId) return null;
  const payment = await lockPayment(tx, paymentId);
  if (!payment) return null;
  const refused = (why: string) =>
    new Error(`Payment intent ${intent.id} does not match invoice payment ${payment.id}: ${why}`);

  if (intent.amount !== payment.amountMinor) {
    throw refused(
      `the event says ${intent.amount ?? "no amount"}, the payment is ${payment.amountMinor}`,
    );
  }
  if (intent.currency?.toUpperCase() !== payment.currency.toUpperCase()) {
    throw refused(
      `the event says ${intent.currency ?? "no currency"}, the payment is ${payment.currency}`,
    );
  }
  const workspaceId = intent.metadata?.workspace_id;
  if (workspaceId !== undefined && workspaceId !== null && workspaceId !== payment.workspaceId) {
    throw refused(
      `the event names workspace ${String(workspaceId)}, the payment is ${payment.workspaceId}'s`,
    );
  }
  if (payment.paymentIntentId) {
    if (payment.paymentIntentId !== intent.id) {
      throw refused(`the payment was made as ${payment.paymentIntentId}`);
    }
  } else {
    // The charge's answer has not named the intent yet (or never will): ask the gateway whose
    // payment this intent is rather than take the event's metadata on trust.
    const made = await deps.gateway.retrievePayment(intent.id);
    if (!made) throw refused("the gateway does not know the payment intent");
    if (made.metadata.payment_id !== payment.id) {
      throw refused(
        `the gateway says the intent was made for ${made.metadata.payment_id ?? "no payment"}`,
      );
    }
  }

  return payment.id;
}

function intentOf(payload: Record<string, unknown>) {
  const parsed = intentPayload.safeParse((payload.data as { object?: unknown })?.object);

  return parsed.success ? parsed.data : null;
}

export const invoicePaymentWebhookHandlers: Record<string, StripeEventHandler> = {
  "payment_intent.succeeded": async (tx, payload, { deps, log }) => {
    const intent = intentOf(payload);
    const paymentId = intent ? await matchingInvoicePayment(tx, deps, intent) : null;
    if (!intent || !paymentId) return [];
    const charge = intent.latest_charge;

    return settleInvoicePayment(tx, deps, log, paymentId, {
      paymentIntentId: intent.id,
      chargeId: typeof charge === "string" ? charge : (charge?.id ?? null),
    });
  },
  "payment_intent.payment_failed": async (tx, payload, { deps, log }) => {
    const intent = intentOf(payload);
    const paymentId = intent ? await matchingInvoicePayment(tx, deps, intent) : null;
    if (!intent || !paymentId) return [];
    const error = intent.last_payment_error;

    return failInvoicePayment(tx, deps, log, paymentId, {
      code: error?.decline_code ?? error?.code ?? null,
      message: error?.message ?? "The payment failed",
    });
  },
};
