import { and, asc, desc, eq, ilike, inArray, or, sql, type SQL } from "drizzle-orm";
import { z } from "zod";

import {
  billingAdjustments,
  dunningCases,
  dunningStatus,
  invoiceLines,
  invoiceStatus,
  invoices,
  outbox,
  workspaces,
} from "@/drizzle/schema";
import { defineCommand } from "@/server/commands";
import type { DbOrTx, Tx } from "@/server/db/client";
import { dayInput } from "@/server/dates";
import { AppError } from "@/server/errors";
import { event } from "@/server/events/catalogue";
import { adminPagingInput, containing } from "@/server/workspaces/admin-queries";

import { amountRemainingMinor, totalRows } from "./invoice-view";
import { amountRemainingSql, type Invoice } from "./invoices";

/**
 * What platform admins read and do about invoices: every invoice with
 * filters (`adminBilling.invoices`), one invoice with its lines and events
 * (`adminBilling.invoice`), and the two ways an open invoice stops being
 * collected: void (it was wrong) and uncollectible (it is written off).
 */

/** When an invoice counts as issued: its finalization, or its creation while still a draft. */
const issuedAt = sql<Date>`coalesce(${invoices.finalizedAt}, ${invoices.createdAt})`;

export const adminInvoiceListInput = z.object({
  statuses: z.array(z.enum(invoiceStatus.enumValues)).max(5).default([]),
  /** An ISO currency, or empty for all. */
  currency: z
    .string()
    .trim()
    .toUpperCase()
    .regex(/^([A-Z]{3})?$/, "A currency is three letters, e.g. EUR")
    .default(""),
  /** Part of the workspace's name or address. */
  workspace: z.string().trim().max(200).default(""),
  /** Part of the invoice number, e.g. 2027-0000 or 42. */
  number: z.string().trim().max(40).default(""),
  /** Issued on or after this day (UTC), and on or before this one. */
  issuedFrom: dayInput("The first day").optional(),
  issuedTo: dayInput("The last day").optional(),
  ...adminPagingInput,
});
export type AdminInvoiceListInput = z.input<typeof adminInvoiceListInput>;

function listFilter(input: z.output<typeof adminInvoiceListInput>): SQL | undefined {
  const conditions: (SQL | undefined)[] = [];
  if (input.statuses.length > 0) conditions.push(inArray(invoices.status, input.statuses));
  if (input.currency !== "") conditions.push(eq(invoices.currency, input.currency));
  if (input.workspace !== "") {
    const pattern = containing(input.workspace);
    conditions.push(or(ilike(workspaces.name, pattern), ilike(workspaces.slug, pattern)));
  }
  if (input.number !== "") conditions.push(ilike(invoices.number, containing(input.number)));
  if (input.issuedFrom) {
    conditions.push(sql`${issuedAt} >= ${`${input.issuedFrom}T00:00:00Z`}::timestamptz`);
  }
  if (input.issuedTo) {
    conditions.push(
      sql`${issuedAt} < ${`${input.issuedTo}T00:00:00Z`}::timestamptz + interval '1 day'`,
    );
  }

  return and(...conditions);
}

/**
 * One page of invoices matching the filters, newest first (ties by id, so
 * pages never overlap), with the count and, per currency, the sum of the
 * matching invoices' totals and of what remains to pay on them (nothing on a
 * void, uncollectible or paid invoice).
 */
export async function listInvoicesForAdmin(db: DbOrTx, rawInput: AdminInvoiceListInput) {
  const input = adminInvoiceListInput.parse(rawInput);
  if (input.issuedFrom && input.issuedTo && input.issuedFrom > input.issuedTo) {
    throw new AppError("invalid_request", "The range ends before it starts", {
      field: "issuedTo",
    });
  }
  const where = listFilter(input);

  const [rows, totals] = await Promise.all([
    db
      .select({
        id: invoices.id,
        number: invoices.number,
        status: invoices.status,
        kind: invoices.kind,
        currency: invoices.currency,
        totalMinor: invoices.totalMinor,
        amountRemainingMinor: amountRemainingSql.mapWith(Number),
        issuedAt,
        dueAt: invoices.dueAt,
        workspaceId: workspaces.id,
        workspaceName: workspaces.name,
        workspaceSlug: workspaces.slug,
      })
      .from(invoices)
      .innerJoin(workspaces, eq(workspaces.id, invoices.workspaceId))
      .where(where)
      .orderBy(desc(issuedAt), desc(invoices.id))
      .limit(input.pageSize)
      .offset((input.page - 1) * input.pageSize),
    db
      .select({
        currency: invoices.currency,
        invoices: sql<number>`count(*)::int`,
        totalMinor: sql<number>`coalesce(sum(${invoices.totalMinor}), 0)::bigint`.mapWith(Number),
        amountRemainingMinor: sql<number>`coalesce(sum(${amountRemainingSql}), 0)::bigint`.mapWith(
          Number,
        ),
      })
      .from(invoices)
      .innerJoin(workspaces, eq(workspaces.id, invoices.workspaceId))
      .where(where)
      .groupBy(invoices.currency)
      .orderBy(invoices.currency),
  ]);
  const total = totals.reduce((sum, row) => sum + row.invoices, 0);

  return {
    rows: rows.map((row) => ({ ...row, issuedAt: new Date(row.issuedAt) })),
    total,
    page: input.page,
    pageSize: input.pageSize,
    pages: Math.max(1, Math.ceil(total / input.pageSize)),
    totalsByCurrency: totals,
  };
}

/** A workspace's latest invoices, newest first: the admin workspace page's invoices section. */
export async function invoicesOfWorkspace(db: DbOrTx, workspaceId: string, limit = 25) {
  const rows = await db
    .select({
      id: invoices.id,
      number: invoices.number,
      status: invoices.status,
      kind: invoices.kind,
      currency: invoices.currency,
      totalMinor: invoices.totalMinor,
      issuedAt,
    })
    .from(invoices)
    .where(eq(invoices.workspaceId, workspaceId))
    .orderBy(desc(issuedAt), desc(invoices.id))
    .limit(limit);

  return rows.map((row) => ({ ...row, issuedAt: new Date(row.issuedAt) }));
}

/**
 * One invoice as an admin sees it: header, parties, lines with their
 * rounding, the totals rows as the PDF prints them, the workspace, and every outbox event about it (its
 * object is the invoice, or its data names it), oldest first.
 */
export async function invoiceDetailForAdmin(db: DbOrTx, invoiceId: string) {
  const [row] = await db
    .select({
      invoice: invoices,
      workspace: { id: workspaces.id, name: workspaces.name, slug: workspaces.slug },
    })
    .from(invoices)
    .innerJoin(workspaces, eq(workspaces.id, invoices.workspaceId))
    .where(eq(invoices.id, invoiceId));
  if (!row) throw new AppError("not_found", "Invoice not found", { field: "invoiceId" });

  const [lines, events] = await Promise.all([
    db
      .select()
      .from(invoiceLines)
      .where(eq(invoiceLines.invoiceId, invoiceId))
      .orderBy(asc(invoiceLines.position)),
    db
      .select({
        id: outbox.id,
        name: outbox.name,
        streamSeq: outbox.streamSeq,
        occurredAt: outbox.occurredAt,
        publishedAt: outbox.publishedAt,
        attempts: outbox.attempts,
        lastError: outbox.lastError,
      })
      .from(outbox)
      .where(
        and(
          eq(outbox.workspaceId, row.invoice.workspaceId),
          or(
            and(eq(outbox.objectType, "invoice"), eq(outbox.objectId, invoiceId)),
            sql`${outbox.data}->>'invoiceId' = ${invoiceId}`,
          ),
        ),
      )
      .orderBy(asc(outbox.seq)),
  ]);

  return {
    ...row.invoice,
    amountRemainingMinor: amountRemainingMinor(row.invoice),
    totals: totalRows(row.invoice, lines),
    workspace: row.workspace,
    lines,
    events,
  };
}

const invoiceIdInput = z.object({ invoiceId: z.uuid() });

export const voidInvoiceInput = invoiceIdInput.extend({
  reason: z
    .string()
    .trim()
    .min(3, "Say why, in at least 3 characters: it stays on the invoice's record")
    .max(300, "Keep the reason under 300 characters"),
});

/** Locks an invoice and checks it is open; anything else is refused with `conflict`. */
async function lockOpenInvoice(tx: Tx, invoiceId: string, doing: string): Promise<Invoice> {
  const [invoice] = await tx
    .select()
    .from(invoices)
    .where(eq(invoices.id, invoiceId))
    .for("update");
  if (!invoice) throw new AppError("not_found", "Invoice not found", { field: "invoiceId" });
  if (invoice.status === "open") return invoice;

  const name = invoice.number ?? "This invoice";
  const why = {
    draft: `${name} is a draft: it was never issued, so there is nothing to ${doing}`,
    paid: `${name} is paid; only an open invoice can be ${doing === "void" ? "voided" : "written off"}`,
    void: `${name} is already void`,
    uncollectible: `${name} is already marked uncollectible`,
  }[invoice.status];
  throw new AppError("conflict", why, { details: { status: invoice.status } });
}

/**
 * open → void, with a reason. Nothing more is collected for it; the billing
 * adjustments it took up (prorations, a carried credit) are released, so the
 * next invoice takes them up and no credit or charge is lost. The voided
 * invoice keeps its number and its lines as issued; its lines no longer name
 * the adjustments (a line per adjustment is unique), which the audit entry
 * lists instead.
 */
export const voidInvoice = defineCommand({
  name: "billing.voidInvoice",
  input: voidInvoiceInput,
  async run({ tx, clock }, input) {
    const invoice = await lockOpenInvoice(tx, input.invoiceId, "void");
    const voidedAt = clock.now();
    await tx
      .update(invoices)
      .set({ status: "void", voidedAt, voidReason: input.reason })
      .where(eq(invoices.id, invoice.id));
    const released = await tx
      .update(billingAdjustments)
      .set({ invoicedAt: null, invoiceId: null })
      .where(eq(billingAdjustments.invoiceId, invoice.id))
      .returning({ id: billingAdjustments.id });
    if (released.length > 0) {
      await tx
        .update(invoiceLines)
        .set({ adjustmentId: null })
        .where(eq(invoiceLines.invoiceId, invoice.id));
    }
    const number = invoice.number ?? "";

    return {
      result: { invoiceId: invoice.id, number, status: "void" as const, voidedAt },
      workspaceId: invoice.workspaceId,
      events: [
        event("billing/invoice-voided", {
          workspaceId: invoice.workspaceId,
          invoiceId: invoice.id,
          number,
          reason: input.reason,
        }),
      ],
      audit: {
        invoiceId: invoice.id,
        number,
        from: "open",
        to: "void",
        reason: input.reason,
        releasedAdjustments: released.map((row) => row.id),
      },
    };
  },
});

export const markUncollectibleInput = invoiceIdInput;

/**
 * open → uncollectible: written off. The invoice stands as issued (its
 * number, lines and the adjustments it took up stay), but nothing more is
 * collected for it.
 */
export const markInvoiceUncollectible = defineCommand({
  name: "billing.markUncollectible",
  input: markUncollectibleInput,
  async run({ tx, clock }, input) {
    const invoice = await lockOpenInvoice(tx, input.invoiceId, "write off");
    const uncollectibleAt = clock.now();
    await tx
      .update(invoices)
      .set({ status: "uncollectible", uncollectibleAt })
      .where(eq(invoices.id, invoice.id));
    const number = invoice.number ?? "";

    return {
      result: { invoiceId: invoice.id, number, status: "uncollectible" as const, uncollectibleAt },
      workspaceId: invoice.workspaceId,
      events: [
        event("billing/invoice-uncollectible", {
          workspaceId: invoice.workspaceId,
          invoiceId: invoice.id,
          number,
        }),
      ],
      audit: {
        invoiceId: invoice.id,
        number,
        from: "open",
        to: "uncollectible",
        amountDueMinor: invoice.amountDueMinor,
        currency: invoice.currency,
      },
    };
  },
});

// ---------------------------------------------------------------------------
// The dunning queue.

export const adminDunningListInput = z.object({
  statuses: z.array(z.enum(dunningStatus.enumValues)).max(4).default(["retrying", "exhausted"]),
  /** Part of the workspace's name or address. */
  workspace: z.string().trim().max(200).default(""),
  ...adminPagingInput,
});
export type AdminDunningListInput = z.input<typeof adminDunningListInput>;

/** Dunning cases for platform admins: by status and workspace, the next attempts first. */
export async function listDunningCases(db: DbOrTx, rawInput: AdminDunningListInput) {
  const input = adminDunningListInput.parse(rawInput);
  const conditions: (SQL | undefined)[] = [];
  if (input.statuses.length > 0) conditions.push(inArray(dunningCases.status, input.statuses));
  if (input.workspace !== "") {
    const pattern = containing(input.workspace);
    conditions.push(or(ilike(workspaces.name, pattern), ilike(workspaces.slug, pattern)));
  }
  const where = and(...conditions);
  const rows = await db
    .select({
      dunning: dunningCases,
      invoice: invoices,
      workspace: { id: workspaces.id, name: workspaces.name, slug: workspaces.slug },
    })
    .from(dunningCases)
    .innerJoin(invoices, eq(invoices.id, dunningCases.invoiceId))
    .innerJoin(workspaces, eq(workspaces.id, dunningCases.workspaceId))
    .where(where)
    .orderBy(
      sql`${dunningCases.nextAttemptAt} asc nulls last`,
      desc(dunningCases.openedAt),
      asc(dunningCases.id),
    )
    .limit(input.pageSize)
    .offset((input.page - 1) * input.pageSize);
  const [count] = await db
    .select({ total: sql<number>`count(*)::int` })
    .from(dunningCases)
    .innerJoin(workspaces, eq(workspaces.id, dunningCases.workspaceId))
    .where(where);

  return {
    total: count?.total ?? 0,
    page: input.page,
    pageSize: input.pageSize,
    pages: Math.max(1, Math.ceil((count?.total ?? 0) / input.pageSize)),
    rows: rows.map(({ dunning, invoice, workspace }) => ({
      caseId: dunning.id,
      status: dunning.status,
      workspace,
      invoiceId: invoice.id,
      number: invoice.number,
      amountMinor: amountRemainingMinor(invoice),
      totalMinor: invoice.amountDueMinor,
      currency: invoice.currency,
      attempts: dunning.attempts,
      retries: dunning.retryDays.length,
      nextAttemptAt: dunning.nextAttemptAt,
      openedAt: dunning.openedAt,
      closedAt: dunning.closedAt,
      closeReason: dunning.closeReason,
      lastFailureMessage: dunning.lastFailureMessage,
      suspendedAt: dunning.suspendedAt,
    })),
  };
}
