import { and, asc, eq, inArray, sql, type SQL } from "drizzle-orm";

import { dunningCases, invoices, workspaces } from "@/drizzle/schema";
import type { DbOrTx, Tx } from "@/server/db/client";
import { event, type EventDraft } from "@/server/events/catalogue";
import type { CronHandler, ReactionDeps, ReactionHandler } from "@/server/events/reactions";
import type { Logger } from "@/server/logger";

import { chargeInvoice, CLAIM_LEASE_MS, closeCase, lockCaseOf, remainingOf } from "./collection";

/**
 * Dunning: chasing an invoice whose charge failed. Its case (one per
 * invoice, opened by the first failure in collection.ts) carries the retry
 * schedule copied in at opening: retries on whole days after that failure
 * (TALLY_DUNNING_RETRY_DAYS, 1,3,5,7 by default). A cron sweep claims the
 * cases whose next attempt has come and asks for each retry
 * (billing/payment-retry-due); the retry reaction charges. A new card asks
 * for a retry at once. The case ends recovered when the invoice is paid, or
 * stopped when the invoice is voided or written off or the workspace is
 * cancelled.
 */

const SWEEP_BATCH = 50;

/**
 * Every minute: claims the retrying cases whose next attempt is due, under
 * row locks that concurrent sweeps skip, and emits one retry each. Claiming
 * moves the next attempt a lease ahead, so another sweep leaves the case
 * alone until the retry has had its chance.
 */
export const sweepDunningCases: CronHandler = async ({ tx, deps, log }) => {
  const now = deps.clock.now();
  const claimed = await tx.execute<{
    id: string;
    workspace_id: string;
    invoice_id: string;
    attempts: number;
  }>(sql`
    UPDATE ${dunningCases}
    SET next_attempt_at = ${new Date(now.getTime() + CLAIM_LEASE_MS).toISOString()}::timestamptz
    WHERE id IN (
      SELECT id FROM ${dunningCases}
      WHERE status = 'retrying' AND next_attempt_at <= ${now.toISOString()}::timestamptz
      ORDER BY next_attempt_at
      LIMIT ${SWEEP_BATCH}
      FOR UPDATE SKIP LOCKED
    )
    RETURNING id, workspace_id, invoice_id, attempts`);
  if (claimed.length > 0) log.info({ cases: claimed.length }, "dunning retries due");

  return claimed.map((row) =>
    event("billing/payment-retry-due", {
      workspaceId: row.workspace_id,
      caseId: row.id,
      invoiceId: row.invoice_id,
      attempt: row.attempts + 1,
      trigger: "dunning_retry",
    }),
  );
};

/**
 * billing/payment-retry-due → one more charge of the case's invoice. A
 * scheduled retry runs only while the case is retrying; a retry for a new
 * card also after the case is exhausted (the workspace suspended). An
 * invoice no longer open, or a cancelled workspace, stops the case instead.
 */
export const retryInvoicePayment: ReactionHandler<"billing/payment-retry-due"> = async ({
  tx,
  event: due,
  deps,
  log,
}) => {
  const open = await lockCaseOf(tx, due.data.invoiceId);
  if (!open || open.id !== due.data.caseId) return;
  const runs =
    open.status === "retrying" ||
    (open.status === "exhausted" && due.data.trigger !== "dunning_retry");
  if (!runs) {
    log.info({ caseId: open.id, status: open.status }, "case not open for this retry");
    return;
  }
  const stop = await reasonToStop(tx, open.workspaceId, open.invoiceId);
  if (stop) return closeCase(tx, deps, log, open, { outcome: "stopped", reason: stop });

  const charged = await chargeInvoice(tx, deps, log, {
    invoiceId: open.invoiceId,
    trigger: due.data.trigger,
    attempt: due.data.attempt,
  });
  if (charged.outcome.status === "processing" && due.data.trigger === "dunning_retry") {
    // The gateway's webhook ends the payment and schedules what follows.
    await tx.update(dunningCases).set({ nextAttemptAt: null }).where(eq(dunningCases.id, open.id));
  }

  return charged.events;
};

/** Why a case should stop rather than retry: its invoice is settled or its workspace is gone. */
async function reasonToStop(
  tx: Tx,
  workspaceId: string,
  invoiceId: string,
): Promise<string | null> {
  const [row] = await tx
    .select({ invoice: invoices, workspaceStatus: workspaces.status })
    .from(invoices)
    .innerJoin(workspaces, eq(workspaces.id, invoices.workspaceId))
    .where(eq(invoices.id, invoiceId));
  if (!row) return "the invoice no longer exists";
  if (row.workspaceStatus === "cancelled") return "the workspace was cancelled";
  if (row.invoice.status === "void") return `${row.invoice.number} was voided`;
  if (row.invoice.status === "uncollectible") return `${row.invoice.number} was written off`;
  if (row.invoice.status === "open" && remainingOf(row.invoice) === 0) {
    return `nothing remains to pay on ${row.invoice.number}`;
  }

  return null;
}

/**
 * billing/payment-method-updated → a retry now, with the new card, of each
 * open case of the workspace (retrying or exhausted).
 */
export const retryWithNewCard: ReactionHandler<"billing/payment-method-updated"> = async ({
  tx,
  event: updated,
}) => {
  const open = await tx
    .select()
    .from(dunningCases)
    .where(
      and(
        eq(dunningCases.workspaceId, updated.data.workspaceId),
        inArray(dunningCases.status, ["retrying", "exhausted"]),
      ),
    )
    .orderBy(asc(dunningCases.openedAt));

  return open.map((row) =>
    event("billing/payment-retry-due", {
      workspaceId: row.workspaceId,
      caseId: row.id,
      invoiceId: row.invoiceId,
      attempt: row.attempts + 1,
      trigger: "card_updated",
    }),
  );
};

async function stopCasesWhere(
  tx: Tx,
  deps: ReactionDeps,
  log: Logger,
  where: SQL | undefined,
  reason: string,
): Promise<EventDraft[]> {
  const open = await tx
    .select()
    .from(dunningCases)
    .where(and(where, inArray(dunningCases.status, ["retrying", "exhausted"])))
    .for("update");
  const events: EventDraft[] = [];
  for (const row of open) {
    events.push(...(await closeCase(tx, deps, log, row, { outcome: "stopped", reason })));
  }

  return events;
}

/** workspace/cancelled → its open cases stop: a cancelled workspace is no longer charged. */
export const stopDunningOnCancel: ReactionHandler<"workspace/cancelled"> = async ({
  tx,
  event: cancelled,
  deps,
  log,
}) =>
  stopCasesWhere(
    tx,
    deps,
    log,
    eq(dunningCases.workspaceId, cancelled.data.workspaceId),
    "the workspace was cancelled",
  );

/** billing/invoice-voided → the invoice's case stops. */
export const stopDunningOnVoid: ReactionHandler<"billing/invoice-voided"> = async ({
  tx,
  event: voided,
  deps,
  log,
}) =>
  stopCasesWhere(
    tx,
    deps,
    log,
    eq(dunningCases.invoiceId, voided.data.invoiceId),
    `${voided.data.number} was voided`,
  );

/** billing/invoice-uncollectible → the invoice's case stops. */
export const stopDunningOnWriteOff: ReactionHandler<"billing/invoice-uncollectible"> = async ({
  tx,
  event: written,
  deps,
  log,
}) =>
  stopCasesWhere(
    tx,
    deps,
    log,
    eq(dunningCases.invoiceId, written.data.invoiceId),
    `${written.data.number} was written off`,
  );

// ---------------------------------------------------------------------------
// What the portal and the admin pages read.

/** The workspace's open case, for the billing page's past-due banner; null when none is open. */
export async function dunningStanding(db: DbOrTx, workspaceId: string) {
  const rows = await db
    .select({ dunning: dunningCases, invoice: invoices })
    .from(dunningCases)
    .innerJoin(invoices, eq(invoices.id, dunningCases.invoiceId))
    .where(
      and(
        eq(dunningCases.workspaceId, workspaceId),
        inArray(dunningCases.status, ["retrying", "exhausted"]),
      ),
    )
    .orderBy(asc(dunningCases.openedAt));
  if (rows.length === 0) return null;

  return rows.map(({ dunning, invoice }) => {
    const last = dunning.retryDays[dunning.retryDays.length - 1];

    return {
      caseId: dunning.id,
      status: dunning.status,
      invoiceId: invoice.id,
      number: invoice.number,
      amountMinor: remainingOf(invoice),
      currency: invoice.currency,
      attempts: dunning.attempts,
      nextAttemptAt: dunning.status === "retrying" ? dunning.nextAttemptAt : null,
      /** Known once the warning went out: when the last retry runs. */
      suspendsAt:
        dunning.warnedAt && last !== undefined && dunning.status === "retrying"
          ? new Date(dunning.openedAt.getTime() + last * 86_400_000)
          : null,
      suspendedAt: dunning.suspendedAt,
      lastFailureMessage: dunning.lastFailureMessage,
    };
  });
}
