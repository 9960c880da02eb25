import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  billingAdjustments,
  invoices,
  payments,
  subscriptions,
  tiers,
  workspaceMembers,
  workspaces,
} from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { seedPacks } from "@/server/db/seed";
import type { Runtime } from "@/server/runtime";
import { failure } from "@/test/support/failure";
import { draftTestInvoice, issueTestInvoice } from "@/test/support/invoices";
import { buyPaidPack } from "@/test/support/purchases";
import { callerFor, drain, makeUser, makeWorkspace, testRuntime } from "@/test/support/runtime";
import { dropSubscription, setSubscription } from "@/test/support/billing";

import { billingSummary, invoiceDetails, listInvoices, paymentHistory } from "./queries";

const clock = new ManualClock("2027-01-31T10:00:00Z");
let runtime: Runtime;

beforeAll(async () => {
  runtime = await testRuntime({ clock, env: { TALLY_TAX_RATES: "USD=7.25" } });
});
afterAll(async () => {
  await runtime.stop();
});

/** A workspace on the seeded Pro tier; creating one there needs a payment this version cannot take. */
async function proWorkspace() {
  const workspace = await makeWorkspace(runtime);
  const [pro] = await runtime.db.select().from(tiers).where(eq(tiers.code, "pro"));
  await runtime.db
    .update(workspaces)
    .set({ tierId: pro!.id })
    .where(eq(workspaces.id, workspace.workspaceId));

  return workspace;
}

async function subscribe(workspaceId: string, values: Partial<typeof subscriptions.$inferInsert>) {
  await setSubscription(runtime, workspaceId, {
    currency: "USD",
    anchorAt: new Date("2027-01-31T10:00:00Z"),
    currentPeriodStart: new Date("2027-01-31T10:00:00Z"),
    currentPeriodEnd: new Date("2027-02-28T10:00:00Z"),
    ...values,
  });
}

describe("billing summary", () => {
  it("shows the tier, the period and its anchor day, seats, card, schedule and credit", async () => {
    const { workspaceId } = await proWorkspace();
    await subscribe(workspaceId, { seats: 7, paymentMethodLabel: "Visa ending 4242" });
    await runtime.db.insert(billingAdjustments).values({
      workspaceId,
      currency: "USD",
      amountMinor: -1_234,
      description: "Unused time on Business",
      kind: "proration_credit",
      periodStart: clock.now(),
      periodEnd: new Date("2027-02-28T10:00:00Z"),
      sourceEventId: crypto.randomUUID(),
    });

    const summary = await billingSummary(runtime.db, workspaceId);
    expect(summary).toMatchObject({
      tier: { code: "pro", name: "Pro", monthlyPriceMinor: 4_900, includedSeats: 5 },
      subscription: {
        status: "active",
        currency: "USD",
        anchorDay: 31,
        currentPeriodEnd: new Date("2027-02-28T10:00:00Z"),
      },
      seats: { billed: 7, included: 5, extra: 2 },
      paymentMethodLabel: "Visa ending 4242",
      scheduled: { tier: null, cancelAt: null },
      creditBalanceMinor: 1_234,
    });
  });

  it("says so when the workspace has no subscription or card", async () => {
    const { workspaceId } = await makeWorkspace(runtime);
    await dropSubscription(runtime, workspaceId);

    expect(await billingSummary(runtime.db, workspaceId)).toMatchObject({
      subscription: null,
      seats: { billed: null },
      paymentMethodLabel: null,
      creditBalanceMinor: 0,
    });
  });
});

describe("invoices", () => {
  it("lists the workspace's finalized invoices newest first, page by page", async () => {
    const { workspaceId } = await makeWorkspace(runtime);
    const { workspaceId: other } = await makeWorkspace(runtime);
    const issued = [];
    for (let month = 0; month < 5; month++) {
      clock.set(new Date(Date.UTC(2027, 1 + month, 1, 9)));
      issued.push(await issueTestInvoice(runtime, workspaceId));
    }
    await issueTestInvoice(runtime, other);
    await draftTestInvoice(runtime, workspaceId);

    const first = await listInvoices(runtime.db, workspaceId, { limit: 2 });
    const second = await listInvoices(runtime.db, workspaceId, {
      limit: 2,
      cursor: first.nextCursor,
    });
    const third = await listInvoices(runtime.db, workspaceId, {
      limit: 2,
      cursor: second.nextCursor,
    });

    const seen = [...first.invoices, ...second.invoices, ...third.invoices];
    expect(seen.map((invoice) => invoice.number)).toEqual(
      issued.reverse().map((invoice) => invoice.number),
    );
    expect(third.nextCursor).toBeNull();
    expect(seen.every((invoice) => invoice.status === "open")).toBe(true);
  });

  it("details one invoice with its lines and totals, only in its own workspace", async () => {
    const { workspaceId } = await makeWorkspace(runtime);
    const { workspaceId: other } = await makeWorkspace(runtime);
    const invoice = await issueTestInvoice(runtime, workspaceId);
    const draft = await draftTestInvoice(runtime, workspaceId);

    const details = await invoiceDetails(runtime.db, workspaceId, invoice.id);
    expect(details.lines.map((line) => [line.description, line.amountMinor])).toEqual([
      ["Pro tier", 4_900],
      ["Extra seats", 2_000],
    ]);
    // 69.00 at 7.25%: 5.0025 rounds half-even to 5.00.
    expect(details.totals.map((row) => [row.label, row.amountMinor])).toEqual([
      ["Subtotal", 6_900],
      ["Tax (7.25%)", 500],
      ["Total", 7_400],
      ["Amount due", 7_400],
    ]);
    expect(details.pdfUrl).toBe(`/api/invoices/${invoice.id}/pdf`);

    await expect(invoiceDetails(runtime.db, other, invoice.id)).rejects.toMatchObject({
      code: "not_found",
    });
    await expect(invoiceDetails(runtime.db, workspaceId, draft.id)).rejects.toMatchObject({
      code: "not_found",
    });
  });
});

describe("payment history", () => {
  it("holds paid invoices, paid credit purchases and failed charges, not open invoices as such", async () => {
    const workspace = await proWorkspace();
    // The subscription names a card the gateway does not hold yet: the open invoice's charge
    // fails and it stays open; the card the purchase saves is not taken up, one being named.
    await subscribe(workspace.workspaceId, {
      paymentMethodLabel: "Visa ending 4242",
      paymentMethodRef: "pm_test",
    });
    clock.set("2027-07-01T09:00:00Z");
    const open = await issueTestInvoice(runtime, workspace.workspaceId);
    await drain(runtime);
    clock.set("2027-07-02T09:00:00Z");
    const paid = await issueTestInvoice(runtime, workspace.workspaceId, {
      paidAt: clock.now(),
    });
    clock.set("2027-07-03T09:00:00Z");
    const purchase = await buyPaidPack(runtime, workspace, seedPacks[0]!.id);

    const history = await paymentHistory(runtime.db, workspace.workspaceId);
    const [purchasePayment] = await runtime.db
      .select()
      .from(payments)
      .where(eq(payments.purchaseId, purchase.id));
    const [failedCharge] = await runtime.db
      .select()
      .from(payments)
      .where(eq(payments.invoiceId, open.id));
    expect(history.map((entry) => [entry.kind, entry.id, entry.status])).toEqual([
      ["credit_purchase", purchasePayment!.id, "succeeded"],
      ["invoice", paid.id, "succeeded"],
      ["invoice", failedCharge!.id, "failed"],
    ]);
    // Paid without a payment on record: no card is known for it, whatever the subscription names now.
    expect(history[1]).toMatchObject({
      amountMinor: paid.amountDueMinor,
      method: "—",
      invoiceNumber: paid.number,
    });
    expect(history[0]).toMatchObject({ amountMinor: purchase.amountMinor, refunds: [] });
    // The open invoice shows only as its failed charge.
    expect(history.some((entry) => entry.id === open.id)).toBe(false);
  });

  it("shows a failed charge with its reason, and a refunded purchase with its refund", async () => {
    const workspace = await proWorkspace();
    await subscribe(workspace.workspaceId, { paymentMethodLabel: "Visa ending 4242" });
    clock.set("2027-07-05T09:00:00Z");
    const invoice = await issueTestInvoice(runtime, workspace.workspaceId);
    await runtime.db.insert(payments).values({
      workspaceId: workspace.workspaceId,
      kind: "invoice",
      invoiceId: invoice.id,
      gateway: "simulated",
      trigger: "invoice_issued",
      idempotencyKey: `invoice:${invoice.id}:1`,
      status: "failed",
      amountMinor: invoice.amountDueMinor,
      currency: invoice.currency,
      failureCode: "card_declined",
      failureMessage: "Your card was declined.",
      paymentMethodLabel: "Mastercard ending 4444",
      createdAt: clock.now(),
      settledAt: clock.now(),
    });
    clock.set("2027-07-06T09:00:00Z");
    const purchase = await buyPaidPack(runtime, workspace, seedPacks[0]!.id);
    const caller = await callerFor(runtime, workspace.userId);
    await caller.credits.purchases.refund({
      workspaceId: workspace.workspaceId,
      purchaseId: purchase.id,
      credits: 2_500,
      reason: "Too many",
    });
    await drain(runtime);

    const history = await paymentHistory(runtime.db, workspace.workspaceId);
    expect(history).toMatchObject([
      {
        kind: "credit_purchase",
        status: "succeeded",
        amountRefundedMinor: purchase.amountMinor / 2,
        refunds: [{ amountMinor: purchase.amountMinor / 2, status: "succeeded" }],
      },
      {
        kind: "invoice",
        invoiceId: invoice.id,
        status: "failed",
        failureMessage: "Your card was declined.",
        // The card that payment was charged to, not the one the subscription names now.
        method: "Mastercard ending 4444",
      },
    ]);
  });
});

describe("billing procedures", () => {
  it("are for billing members and up of the workspace", async () => {
    const { workspaceId, userId: owner } = await makeWorkspace(runtime);
    const invoice = await issueTestInvoice(runtime, workspaceId);
    const billing = await makeUser(runtime);
    const viewer = await makeUser(runtime);
    await runtime.db.insert(workspaceMembers).values([
      { workspaceId, userId: billing.id, role: "billing" },
      { workspaceId, userId: viewer.id, role: "viewer" },
    ]);

    const asBilling = await callerFor(runtime, billing.id);
    expect((await asBilling.billing.invoices({ workspaceId })).invoices).toHaveLength(1);
    expect(await asBilling.billing.invoice({ workspaceId, invoiceId: invoice.id })).toMatchObject({
      number: invoice.number,
    });
    expect(await asBilling.billing.upcomingInvoice({ workspaceId })).toBeNull();
    expect(await (await callerFor(runtime, owner)).billing.summary({ workspaceId })).toMatchObject({
      tier: { code: "free" },
    });

    const asViewer = await callerFor(runtime, viewer.id);
    expect(await failure(asViewer.billing.invoices({ workspaceId }))).toMatchObject({
      appCode: "forbidden",
    });
  });

  it("cannot reach another workspace's invoice through one's own", async () => {
    const { workspaceId, userId } = await makeWorkspace(runtime);
    const { workspaceId: other } = await makeWorkspace(runtime);
    const foreign = await issueTestInvoice(runtime, other);
    const caller = await callerFor(runtime, userId);

    expect(
      await failure(caller.billing.invoice({ workspaceId, invoiceId: foreign.id })),
    ).toMatchObject({ appCode: "not_found" });
    expect(await failure(caller.billing.invoices({ workspaceId: other }))).toMatchObject({
      appCode: expect.stringMatching(/forbidden|not_found/),
    });
    const [row] = await runtime.db.select().from(invoices).where(eq(invoices.id, foreign.id));
    expect(row?.workspaceId).toBe(other);
  });
});
