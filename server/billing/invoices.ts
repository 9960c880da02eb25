import { and, eq, inArray, isNull, sql } from "drizzle-orm";

import {
  billingAdjustments,
  invoiceLines,
  invoiceNumbers,
  invoices,
  users,
  workspaceMembers,
  workspaces,
  type InvoiceParty,
} from "@/drizzle/schema";
import type { Clock } from "@/server/clock";
import type { DbOrTx, Tx } from "@/server/db/client";
import { event, type EventDraft } from "@/server/events/catalogue";

import { taxRateFor, type BillingConfig } from "./config";
import { formatInvoiceNumber, ROUNDING, totalsOf, type DraftLine } from "./invoice-math";

/**
 * Issuing invoices: the one way an invoice comes to exist. A draft is
 * written with its lines and totals, then finalized in the same transaction:
 * it takes the next number of the year, freezes seller and buyer, takes up
 * the billing adjustments its lines name, and becomes open (or paid when
 * nothing is due). Issuing is idempotent per source: one invoice per cycle,
 * per purchase, per source key.
 */

export type Invoice = typeof invoices.$inferSelect;
export type InvoiceKind = Invoice["kind"];

/**
 * What is still to pay on an invoice, in SQL, for lists and sums: the rule of
 * `amountRemainingMinor` in ./invoice-view (the due amount less what was paid
 * on an open invoice, nothing otherwise).
 */
export const amountRemainingSql = sql<number>`(case when ${invoices.status} = 'open' then greatest(${invoices.amountDueMinor} - ${invoices.amountPaidMinor}, 0) else 0 end)`;

export interface IssueInvoiceInput {
  workspaceId: string;
  kind: InvoiceKind;
  currency: string;
  lines: readonly DraftLine[];
  /** What the invoice bills; exactly one is set. */
  cycleId?: string | null;
  purchaseId?: string | null;
  sourceKey?: string | null;
  periodStart?: Date | null;
  periodEnd?: Date | null;
  /** Set when the money is already taken (a paid checkout): the invoice is issued paid. */
  paidAt?: Date | null;
  /** The lines' prices include tax (a credit pack's price is what was paid). */
  taxInclusive?: boolean;
}

export interface IssuedInvoice {
  invoice: Invoice;
  /** False when the source already had its invoice: nothing was written. */
  created: boolean;
  events: EventDraft[];
}

async function existingFor(db: DbOrTx, input: IssueInvoiceInput): Promise<Invoice | undefined> {
  const where = input.cycleId
    ? eq(invoices.cycleId, input.cycleId)
    : input.purchaseId
      ? eq(invoices.purchaseId, input.purchaseId)
      : input.sourceKey
        ? eq(invoices.sourceKey, input.sourceKey)
        : undefined;
  if (!where) throw new Error("An invoice needs a cycle, a purchase or a source key");
  const [found] = await db.select().from(invoices).where(where);

  return found;
}

/** The workspace as printed on its invoices: its name and the owner's address. */
export async function buyerOf(db: DbOrTx, workspaceId: string): Promise<InvoiceParty> {
  const [row] = await db
    .select({ name: workspaces.name, slug: workspaces.slug, email: users.email })
    .from(workspaces)
    .leftJoin(
      workspaceMembers,
      and(eq(workspaceMembers.workspaceId, workspaces.id), eq(workspaceMembers.role, "owner")),
    )
    .leftJoin(users, eq(users.id, workspaceMembers.userId))
    .where(eq(workspaces.id, workspaceId))
    .limit(1);
  if (!row) throw new Error(`Workspace ${workspaceId} not found`);

  return { name: row.name, email: row.email ?? null, lines: [`Workspace ${row.slug}`] };
}

/** The next number of `year`, under a row lock: numbers are given out in order, never twice. */
async function nextNumber(tx: Tx, year: number): Promise<string> {
  const [row] = await tx
    .insert(invoiceNumbers)
    .values({ year, lastNumber: 1 })
    .onConflictDoUpdate({
      target: invoiceNumbers.year,
      set: { lastNumber: sql`${invoiceNumbers.lastNumber} + 1` },
    })
    .returning({ lastNumber: invoiceNumbers.lastNumber });
  if (!row) throw new Error(`No invoice number for ${year}`);

  return formatInvoiceNumber(year, row.lastNumber);
}

/**
 * draft → open (or paid): number, parties, due date, events. An open
 * invoice with money due is handed to collection (billing/payment-requested).
 */
export async function finalizeInvoice(
  tx: Tx,
  clock: Clock,
  config: BillingConfig,
  invoiceId: string,
  paidAt: Date | null = null,
): Promise<{ invoice: Invoice; events: EventDraft[] }> {
  const [draft] = await tx.select().from(invoices).where(eq(invoices.id, invoiceId)).for("update");
  if (!draft) throw new Error(`Invoice ${invoiceId} not found`);
  if (draft.status !== "draft") return { invoice: draft, events: [] };

  const now = clock.now();
  const number = await nextNumber(tx, now.getUTCFullYear());
  const paid = paidAt !== null || draft.amountDueMinor === 0;
  const [invoice] = await tx
    .update(invoices)
    .set({
      number,
      status: paid ? "paid" : "open",
      seller: config.seller,
      buyer: await buyerOf(tx, draft.workspaceId),
      finalizedAt: now,
      dueAt: new Date(now.getTime() + config.dueDays * 86_400_000),
      paidAt: paid ? (paidAt ?? now) : null,
      amountPaidMinor: paidAt !== null ? draft.amountDueMinor : 0,
    })
    .where(eq(invoices.id, invoiceId))
    .returning();
  if (!invoice) throw new Error(`Invoice ${invoiceId} vanished`);

  const events: EventDraft[] = [
    event("billing/invoice-generated", {
      workspaceId: invoice.workspaceId,
      invoiceId: invoice.id,
      number,
      kind: invoice.kind,
      cycleId: invoice.cycleId,
      totalMinor: invoice.totalMinor,
      amountDueMinor: invoice.amountDueMinor,
      currency: invoice.currency,
    }),
  ];
  if (invoice.status === "open") {
    events.push(
      event("billing/payment-requested", {
        workspaceId: invoice.workspaceId,
        invoiceId: invoice.id,
        cycleId: invoice.cycleId,
        amountMinor: invoice.amountDueMinor,
        currency: invoice.currency,
      }),
    );
  }

  return { invoice, events };
}

/**
 * Writes an invoice for `input` and finalizes it, or returns the one its
 * source already has. Lines naming a billing adjustment take it up; if
 * another invoice took it first, this throws and the transaction rolls back.
 * A total below zero adds a line carrying the credit forward, as a new
 * adjustment the next invoice takes up, so the invoice totals zero and no
 * credit is lost.
 */
export async function issueInvoice(
  tx: Tx,
  clock: Clock,
  config: BillingConfig,
  input: IssueInvoiceInput,
): Promise<IssuedInvoice> {
  const existing = await existingFor(tx, input);
  if (existing) return { invoice: existing, created: false, events: [] };

  const totals = totalsOf(input.lines, taxRateFor(config, input.currency), {
    taxInclusive: input.taxInclusive ?? false,
  });
  const lines: DraftLine[] = [...input.lines];
  if (totals.carriedForwardMinor > 0) {
    lines.push({
      kind: "credit_carried_forward",
      description: "Credit carried to your next invoice",
      quantity: 1,
      unitAmountMinor: null,
      amountMinor: totals.carriedForwardMinor,
      rounding: ROUNDING.exact,
    });
  }
  const amountDueMinor = totals.amountDueMinor;

  const now = clock.now();
  const [draft] = await tx
    .insert(invoices)
    .values({
      workspaceId: input.workspaceId,
      kind: input.kind,
      currency: input.currency,
      cycleId: input.cycleId ?? null,
      purchaseId: input.purchaseId ?? null,
      sourceKey: input.sourceKey ?? null,
      periodStart: input.periodStart ?? null,
      periodEnd: input.periodEnd ?? null,
      subtotalMinor: totals.subtotalMinor,
      discountMinor: totals.discountMinor,
      taxRateBps: totals.taxRateBps,
      taxMinor: totals.taxMinor,
      totalMinor: totals.totalMinor + totals.carriedForwardMinor,
      amountDueMinor,
      createdAt: now,
    })
    .onConflictDoNothing()
    .returning();
  if (!draft) {
    const raced = await existingFor(tx, input);
    if (!raced) throw new Error("An invoice insert conflicted with no invoice to show for it");
    return { invoice: raced, created: false, events: [] };
  }

  if (lines.length > 0) {
    await tx.insert(invoiceLines).values(
      lines.map((line, index) => ({
        invoiceId: draft.id,
        position: index + 1,
        kind: line.kind,
        description: line.description,
        quantity: line.quantity,
        unitAmountMinor: line.unitAmountMinor,
        amountMinor: line.amountMinor,
        rounding: line.rounding,
        periodStart: line.periodStart ?? null,
        periodEnd: line.periodEnd ?? null,
        adjustmentId: line.adjustmentId ?? null,
      })),
    );
  }

  const adjustmentIds = lines.flatMap((line) => (line.adjustmentId ? [line.adjustmentId] : []));
  if (adjustmentIds.length > 0) {
    const taken = await tx
      .update(billingAdjustments)
      .set({ invoicedAt: now, invoiceId: draft.id })
      .where(
        and(inArray(billingAdjustments.id, adjustmentIds), isNull(billingAdjustments.invoicedAt)),
      )
      .returning({ id: billingAdjustments.id });
    if (taken.length !== new Set(adjustmentIds).size) {
      throw new Error(`Another invoice took up an adjustment of invoice ${draft.id} first`);
    }
  }

  const finalized = await finalizeInvoice(tx, clock, config, draft.id, input.paidAt ?? null);
  if (totals.carriedForwardMinor > 0) {
    await tx.insert(billingAdjustments).values({
      workspaceId: input.workspaceId,
      currency: input.currency,
      amountMinor: -totals.carriedForwardMinor,
      description: `Credit carried from ${finalized.invoice.number}`,
      kind: "credit_carried_forward",
      periodStart: input.periodStart ?? now,
      periodEnd: input.periodEnd ?? now,
      sourceEventId: `invoice:${draft.id}`,
    });
  }

  return { invoice: finalized.invoice, created: true, events: finalized.events };
}

/**
 * The uninvoiced adjustments of a workspace in `currency`, oldest first, as
 * invoice lines; only those recorded for one event when `sourceEventId` is
 * given (an upgrade's two prorated lines).
 */
export async function openAdjustmentLines(
  db: DbOrTx,
  workspaceId: string,
  currency: string,
  options: { sourceEventId?: string } = {},
): Promise<DraftLine[]> {
  const rows = await db
    .select()
    .from(billingAdjustments)
    .where(
      and(
        eq(billingAdjustments.workspaceId, workspaceId),
        eq(billingAdjustments.currency, currency),
        isNull(billingAdjustments.invoicedAt),
        options.sourceEventId === undefined
          ? undefined
          : eq(billingAdjustments.sourceEventId, options.sourceEventId),
      ),
    )
    .orderBy(billingAdjustments.createdAt, billingAdjustments.kind, billingAdjustments.id);

  return rows.map((row) => ({
    kind:
      row.kind === "credit_carried_forward" ? ("credit_applied" as const) : ("proration" as const),
    description: row.description,
    quantity: 1,
    unitAmountMinor: null,
    amountMinor: row.amountMinor,
    rounding:
      row.kind === "credit_carried_forward"
        ? "exact: carried from an earlier invoice"
        : ROUNDING.prorated,
    periodStart: row.periodStart,
    periodEnd: row.periodEnd,
    adjustmentId: row.id,
  }));
}
