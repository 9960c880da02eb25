import { randomUUID } from "node:crypto";

import { invoices } from "@/drizzle/schema";
import { ROUNDING, type DraftLine } from "@/server/billing/invoice-math";
import { issueInvoice, type IssueInvoiceInput } from "@/server/billing/invoices";
import { writeEvents } from "@/server/events/outbox";
import type { Runtime } from "@/server/runtime";

/** A month's tier fee and two extra seats: 49.00 + 2 × 10.00 before tax. */
export function sampleLines(periodStart: Date, periodEnd: Date): DraftLine[] {
  return [
    {
      kind: "tier_fee",
      description: "Pro tier",
      quantity: 1,
      unitAmountMinor: 4_900,
      amountMinor: 4_900,
      rounding: ROUNDING.exact,
      periodStart,
      periodEnd,
    },
    {
      kind: "seats",
      description: "Extra seats",
      quantity: 2,
      unitAmountMinor: 1_000,
      amountMinor: 2_000,
      rounding: ROUNDING.exact,
      periodStart,
      periodEnd,
    },
  ];
}

/**
 * An invoice issued the one way invoices are (issueInvoice), its events
 * written to the outbox as a command's would be; drain() then runs their
 * reactions. A source key is made up unless the input names a source.
 */
export async function issueTestInvoice(
  runtime: Runtime,
  workspaceId: string,
  input: Partial<Omit<IssueInvoiceInput, "workspaceId">> = {},
) {
  const now = runtime.clock.now();
  const periodEnd = new Date(now.getTime() + 30 * 86_400_000);
  const issued = await runtime.db.transaction(async (tx) => {
    const result = await issueInvoice(tx, runtime.clock, runtime.executeDeps.billing, {
      kind: "subscription",
      currency: "USD",
      lines: sampleLines(now, periodEnd),
      periodStart: now,
      periodEnd,
      ...input,
      sourceKey:
        input.sourceKey ?? (input.cycleId || input.purchaseId ? null : `test:${randomUUID()}`),
      workspaceId,
    });
    await writeEvents(tx, result.events, runtime.clock);

    return result;
  });
  runtime.wake();

  return issued.invoice;
}

/** A draft, as a half-finished issue would leave it: no number, no PDF. */
export async function draftTestInvoice(runtime: Runtime, workspaceId: string) {
  const [draft] = await runtime.db
    .insert(invoices)
    .values({
      workspaceId,
      kind: "subscription",
      currency: "USD",
      sourceKey: `test-draft:${randomUUID()}`,
      subtotalMinor: 4_900,
      totalMinor: 4_900,
      amountDueMinor: 4_900,
      createdAt: runtime.clock.now(),
    })
    .returning();
  if (!draft) throw new Error("draft insert returned nothing");

  return draft;
}
