import { and, asc, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  dunningCases,
  invoices,
  outbox,
  payments,
  simulatedObjects,
  subscriptions,
  workspaces,
} from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import { event } from "@/server/events/catalogue";
import { writeEvents } from "@/server/events/outbox";
import type { PaymentGateway } from "@/server/payments/gateway";
import type { SimulatedCard } from "@/server/payments/simulated";
import type { Runtime } from "@/server/runtime";
import { cancelWorkspace } from "@/server/workspaces/lifecycle";
import { reactivateWorkspace, suspendWorkspace } from "@/server/workspaces/commands";
import { consume } from "@/test/support/credits";
import { failure } from "@/test/support/failure";
import { saveCardOnPage } from "@/test/support/billing";
import { issueTestInvoice } from "@/test/support/invoices";
import { deliver, eventFrom, refusalOf, type StripeEventBody } from "@/test/support/stripe-events";
import { gatewayCustomerOf, simulatedGatewayOf } from "@/test/support/purchases";
import {
  callerFor,
  countRows,
  drain,
  makeUser,
  makeWorkspace,
  runCron,
  testRuntime,
} from "@/test/support/runtime";

import { voidInvoice } from "./admin";
import { paymentIdFor } from "./collection";
import { sweepDunningCases } from "./dunning";

const DAY = 86_400_000;
const START = "2027-03-01T09:00:00Z";
const clock = new ManualClock(START);
const admin = { actor: { type: "system" as const, reason: "test" } };
let runtime: Runtime;
let platformAdminId: string;

beforeAll(async () => {
  runtime = await testRuntime({ clock, env: { TALLY_TAX_RATES: "" } });
  platformAdminId = (await makeUser(runtime, { isPlatformAdmin: true })).id;
});
afterAll(async () => {
  await runtime.stop();
});

const DECLINES_LATER: SimulatedCard = "4000000000000341";
const PAYS: SimulatedCard = "4242424242424242";

/** A workspace whose saved card declines off session, with one open invoice charged once. */
async function unpaidWorkspace(rt: Runtime = runtime) {
  const workspace = await makeWorkspace(rt);
  const customerId = await gatewayCustomerOf(rt, workspace.workspaceId);
  await simulatedGatewayOf(rt).saveCard(customerId, DECLINES_LATER);
  const invoice = await issueTestInvoice(rt, workspace.workspaceId);
  await drain(rt);

  return { ...workspace, customerId, invoice };
}

async function caseOf(invoiceId: string, rt: Runtime = runtime) {
  const [row] = await rt.db
    .select()
    .from(dunningCases)
    .where(eq(dunningCases.invoiceId, invoiceId));

  return row;
}

async function paymentsOf(invoiceId: string, rt: Runtime = runtime) {
  return rt.db
    .select()
    .from(payments)
    .where(eq(payments.invoiceId, invoiceId))
    .orderBy(asc(payments.attempt));
}

async function invoiceRow(invoiceId: string, rt: Runtime = runtime) {
  const [row] = await rt.db.select().from(invoices).where(eq(invoices.id, invoiceId));

  return row!;
}

async function workspaceRow(workspaceId: string, rt: Runtime = runtime) {
  const [row] = await rt.db.select().from(workspaces).where(eq(workspaces.id, workspaceId));

  return row!;
}

async function subscriptionStatus(workspaceId: string, rt: Runtime = runtime) {
  const [row] = await rt.db
    .select({ status: subscriptions.status })
    .from(subscriptions)
    .where(eq(subscriptions.workspaceId, workspaceId));

  return row?.status;
}

async function notificationsOf(workspaceId: string, type: string, rt: Runtime = runtime) {
  return countRows(
    rt,
    "notifications",
    `type = '${type}' AND data->>'workspaceName' = (SELECT name FROM workspaces WHERE id = '${workspaceId}')`,
  );
}

async function eventsNamed(name: string, workspaceId: string, rt: Runtime = runtime) {
  return rt.db
    .select()
    .from(outbox)
    .where(and(eq(outbox.name, name), eq(outbox.workspaceId, workspaceId)));
}

/** Charges the gateway made under an invoice's keys. */
async function gatewayCharges(invoiceId: string, rt: Runtime = runtime) {
  return countRows(
    rt,
    "simulated_objects",
    `type = 'payment_intent' AND idempotency_key LIKE 'invoice:${invoiceId}:%'`,
  );
}

/** Retries the sweep asked for (not those one retry asks for after another) for a workspace. */
async function sweptRetries(workspaceId: string, rt: Runtime = runtime) {
  return countRows(
    rt,
    "outbox",
    `name = 'billing/payment-retry-due' AND workspace_id = '${workspaceId}' AND causation_id IS NULL`,
  );
}

/**
 * Moves the clock to `days` after `from`, runs the dunning sweep and what it causes, and says
 * how many retries the sweep asked for the workspace.
 */
async function sweepAt(
  workspaceId: string,
  from: Date,
  days: number,
  rt: Runtime = runtime,
  at: ManualClock = clock,
) {
  at.set(new Date(from.getTime() + days * DAY).toISOString());
  const before = await sweptRetries(workspaceId, rt);
  await runCron(rt, sweepDunningCases);
  await drain(rt);

  return (await sweptRetries(workspaceId, rt)) - before;
}

describe("collecting an invoice", () => {
  it("charges an issued invoice once and marks it paid", async () => {
    clock.set(START);
    const workspace = await makeWorkspace(runtime);
    const customerId = await gatewayCustomerOf(runtime, workspace.workspaceId);
    await simulatedGatewayOf(runtime).saveCard(customerId, PAYS);
    const invoice = await issueTestInvoice(runtime, workspace.workspaceId);
    await drain(runtime);

    const [payment] = await paymentsOf(invoice.id);
    expect(payment).toMatchObject({
      id: paymentIdFor(invoice.id, 1),
      kind: "invoice",
      attempt: 1,
      trigger: "invoice_issued",
      idempotencyKey: `invoice:${invoice.id}:1`,
      status: "succeeded",
      amountMinor: invoice.amountDueMinor,
    });
    expect(payment!.settledAt).toEqual(clock.now());
    const paid = await invoiceRow(invoice.id);
    expect(paid).toMatchObject({ status: "paid", amountPaidMinor: invoice.amountDueMinor });
    expect(paid.paidAt).toEqual(clock.now());
    expect(await caseOf(invoice.id)).toBeUndefined();
    // The synchronous answer and the gateway's webhook both reported it: one success.
    expect(await eventsNamed("billing/payment-succeeded", workspace.workspaceId)).toHaveLength(1);
    expect(
      await countRows(
        runtime,
        "stripe_events",
        `payload->'data'->'object'->'metadata'->>'invoice_id' = '${invoice.id}'`,
      ),
    ).toBe(1);
  });

  it("charges once however often the payment is requested", async () => {
    clock.set(START);
    const workspace = await makeWorkspace(runtime);
    const customerId = await gatewayCustomerOf(runtime, workspace.workspaceId);
    await simulatedGatewayOf(runtime).saveCard(customerId, PAYS);
    const invoice = await issueTestInvoice(runtime, workspace.workspaceId);
    await drain(runtime);
    // A stalled cycle sends the request again, as a new event.
    const again = event("billing/payment-requested", {
      workspaceId: workspace.workspaceId,
      invoiceId: invoice.id,
      cycleId: null,
      amountMinor: invoice.amountDueMinor,
      currency: invoice.currency,
    });
    await runtime.db.transaction((tx) => writeEvents(tx, [again, { ...again }], runtime.clock));
    await drain(runtime);

    expect(await paymentsOf(invoice.id)).toHaveLength(1);
    expect(await gatewayCharges(invoice.id)).toBe(1);
    expect((await invoiceRow(invoice.id)).status).toBe("paid");
  });

  it("does not charge an invoice that is no longer open", async () => {
    clock.set(START);
    const workspace = await makeWorkspace(runtime);
    // Issued, and voided before the payment request is handled.
    const invoice = await issueTestInvoice(runtime, workspace.workspaceId);
    await execute(
      runtime,
      voidInvoice,
      { invoiceId: invoice.id, reason: "issued in error" },
      admin,
    );
    await drain(runtime);

    expect(await paymentsOf(invoice.id)).toHaveLength(0);
    expect(await gatewayCharges(invoice.id)).toBe(0);
  });
});

describe("dunning", () => {
  it("retries on days 1, 3, 5 and 7, warns once before the last and then suspends", async () => {
    clock.set(START);
    const workspace = await unpaidWorkspace();
    const { invoice } = workspace;
    const opened = await caseOf(invoice.id);
    expect(opened).toMatchObject({
      status: "retrying",
      attempts: 1,
      retryDays: [1, 3, 5, 7],
      lastFailureCode: "generic_decline",
    });
    const first = opened!.openedAt;
    expect(opened!.nextAttemptAt).toEqual(new Date(first.getTime() + DAY));
    expect(await subscriptionStatus(workspace.workspaceId)).toBe("past_due");
    expect(await notificationsOf(workspace.workspaceId, "billing.payment_failed")).toBe(1);

    // Past due is not suspended: the API still serves it.
    await consume(runtime, workspace.workspaceId, 10);

    // Nothing is due before the day comes.
    expect(await sweepAt(workspace.workspaceId, first, 0.5)).toBe(0);
    for (const [day, attempts] of [
      [1, 2],
      [3, 3],
      [5, 4],
    ] as const) {
      expect(await sweepAt(workspace.workspaceId, first, day)).toBe(1);
      // A second sweep the same minute finds the case claimed.
      await runCron(runtime, sweepDunningCases);
      expect(await sweptRetries(workspace.workspaceId)).toBe(attempts - 1);
      const row = await caseOf(invoice.id);
      expect(row).toMatchObject({ status: "retrying", attempts });
      expect(await workspaceRow(workspace.workspaceId)).toMatchObject({ status: "active" });
    }
    const warned = await caseOf(invoice.id);
    expect(warned!.warnedAt).not.toBeNull();
    expect(warned!.nextAttemptAt).toEqual(new Date(first.getTime() + 7 * DAY));
    const warnings = await eventsNamed("billing/dunning-warning", workspace.workspaceId);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.data).toMatchObject({
      suspendsAt: new Date(first.getTime() + 7 * DAY).toISOString(),
      amountMinor: invoice.amountDueMinor,
    });

    expect(await sweepAt(workspace.workspaceId, first, 7)).toBe(1);
    const exhausted = await caseOf(invoice.id);
    const suspended = await workspaceRow(workspace.workspaceId);
    expect(exhausted).toMatchObject({ status: "exhausted", attempts: 5, nextAttemptAt: null });
    expect(suspended.status).toBe("suspended");
    expect(suspended.suspensionReason).toBe(`Payment overdue: ${invoice.number}`);
    expect(exhausted!.suspendedAt).toEqual(suspended.suspendedAt);
    expect(await subscriptionStatus(workspace.workspaceId)).toBe("suspended");

    // Nothing more happens, however long it waits.
    expect(await sweepAt(workspace.workspaceId, first, 30)).toBe(0);

    const made = await paymentsOf(invoice.id);
    expect(made.map((row) => [row.attempt, row.trigger, row.status])).toEqual([
      [1, "invoice_issued", "failed"],
      [2, "dunning_retry", "failed"],
      [3, "dunning_retry", "failed"],
      [4, "dunning_retry", "failed"],
      [5, "dunning_retry", "failed"],
    ]);
    expect(await gatewayCharges(invoice.id)).toBe(5);
    expect(await notificationsOf(workspace.workspaceId, "billing.payment_failed")).toBe(1);
    expect(await notificationsOf(workspace.workspaceId, "billing.payment_retry_failed")).toBe(4);
    expect(await notificationsOf(workspace.workspaceId, "billing.suspension_warning")).toBe(1);
    expect(await notificationsOf(workspace.workspaceId, "workspace.suspended")).toBe(1);
    expect(await notificationsOf(workspace.workspaceId, "billing.dunning_exhausted")).toBe(1);
    expect(await eventsNamed("workspace/suspended", workspace.workspaceId)).toHaveLength(1);
    expect(await eventsNamed("billing/dunning-exhausted", workspace.workspaceId)).toHaveLength(1);
    // The admin alert reached the platform admin in the app.
    expect(
      await countRows(
        runtime,
        "notification_deliveries d JOIN notifications n ON n.id = d.notification_id",
        `n.type = 'billing.dunning_exhausted' AND d.user_id = '${platformAdminId}' AND n.data->>'workspaceId' = '${workspace.workspaceId}'`,
      ),
    ).toBeGreaterThan(0);
  });

  it("runs the retries whose days have all passed one after another, from one sweep", async () => {
    clock.set(START);
    const workspace = await unpaidWorkspace();
    const first = (await caseOf(workspace.invoice.id))!.openedAt;
    // The clock jumps a month: one sweep, then each overdue retry asks for the next.
    expect(await sweepAt(workspace.workspaceId, first, 30)).toBe(1);

    expect(await caseOf(workspace.invoice.id)).toMatchObject({ status: "exhausted", attempts: 5 });
    expect(await gatewayCharges(workspace.invoice.id)).toBe(5);
    expect(await eventsNamed("billing/dunning-warning", workspace.workspaceId)).toHaveLength(1);
    expect((await workspaceRow(workspace.workspaceId)).status).toBe("suspended");
  });

  it("concurrent sweeps ask for a due retry once", async () => {
    clock.set(START);
    const { invoice, workspaceId } = await unpaidWorkspace();
    const opened = await caseOf(invoice.id);
    clock.set(new Date(opened!.openedAt.getTime() + DAY).toISOString());
    await Promise.all([
      runCron(runtime, sweepDunningCases),
      runCron(runtime, sweepDunningCases),
      runCron(runtime, sweepDunningCases),
    ]);
    expect(await sweptRetries(workspaceId)).toBe(1);
    await drain(runtime);
    expect(await paymentsOf(invoice.id)).toHaveLength(2);
  });

  it("asks again for a retry whose event was lost, and charges it once", async () => {
    clock.set(START);
    const { invoice, workspaceId } = await unpaidWorkspace();
    const opened = await caseOf(invoice.id);
    clock.set(new Date(opened!.openedAt.getTime() + DAY).toISOString());
    await runCron(runtime, sweepDunningCases);
    expect(await sweptRetries(workspaceId)).toBe(1);
    // The lease runs out before the retry ran: the sweep asks again for the same attempt.
    clock.advance(11 * 60_000);
    await runCron(runtime, sweepDunningCases);
    expect(await sweptRetries(workspaceId)).toBe(2);
    await drain(runtime);

    expect(await paymentsOf(invoice.id)).toHaveLength(2);
    expect(await gatewayCharges(invoice.id)).toBe(2);
    const retries = await eventsNamed("billing/payment-retry-due", workspaceId);
    expect(retries.map((row) => (row.data as { attempt: number }).attempt)).toEqual([2, 2]);
    expect(await caseOf(invoice.id)).toMatchObject({ attempts: 2, status: "retrying" });
  });

  it("retries at once with a new card, recovers and reactivates the workspace", async () => {
    clock.set(START);
    const workspace = await unpaidWorkspace();
    const { invoice } = workspace;
    const first = (await caseOf(invoice.id))!.openedAt;
    for (const day of [1, 3, 5, 7]) await sweepAt(workspace.workspaceId, first, day);
    expect((await workspaceRow(workspace.workspaceId)).status).toBe("suspended");

    clock.advance(DAY);
    await saveCardOnPage(runtime, workspace, PAYS);

    const recovered = await caseOf(invoice.id);
    expect(recovered).toMatchObject({ status: "recovered", attempts: 6 });
    expect(recovered!.closedAt).toEqual(clock.now());
    const made = await paymentsOf(invoice.id);
    expect(made.at(-1)).toMatchObject({ attempt: 6, trigger: "card_updated", status: "succeeded" });
    expect(await invoiceRow(invoice.id)).toMatchObject({ status: "paid" });
    expect(await workspaceRow(workspace.workspaceId)).toMatchObject({
      status: "active",
      suspendedAt: null,
    });
    expect(await subscriptionStatus(workspace.workspaceId)).toBe("active");
    expect(await eventsNamed("workspace/reactivated", workspace.workspaceId)).toHaveLength(1);
    expect(await eventsNamed("billing/dunning-closed", workspace.workspaceId)).toHaveLength(1);
    expect(await notificationsOf(workspace.workspaceId, "billing.payment_succeeded")).toBe(1);
  });

  it("a card saved while retrying pays before the next day", async () => {
    clock.set(START);
    const workspace = await unpaidWorkspace();
    clock.advance(3_600_000);
    await saveCardOnPage(runtime, workspace, PAYS);
    expect(await caseOf(workspace.invoice.id)).toMatchObject({ status: "recovered" });
    expect(await subscriptionStatus(workspace.workspaceId)).toBe("active");
    expect(await eventsNamed("workspace/reactivated", workspace.workspaceId)).toHaveLength(0);
    // The day-1 retry has nothing left to do.
    expect(
      await sweepAt(workspace.workspaceId, (await caseOf(workspace.invoice.id))!.openedAt, 1),
    ).toBe(0);
    expect(await paymentsOf(workspace.invoice.id)).toHaveLength(2);
  });

  it("does not reactivate a workspace suspended again by an admin", async () => {
    clock.set(START);
    const workspace = await unpaidWorkspace();
    const first = (await caseOf(workspace.invoice.id))!.openedAt;
    for (const day of [1, 3, 5, 7]) await sweepAt(workspace.workspaceId, first, day);
    clock.advance(60_000);
    await execute(runtime, reactivateWorkspace, { workspaceId: workspace.workspaceId }, admin);
    clock.advance(60_000);
    await execute(
      runtime,
      suspendWorkspace,
      { workspaceId: workspace.workspaceId, reason: "Terms of service review" },
      admin,
    );
    await drain(runtime);
    clock.advance(60_000);
    await saveCardOnPage(runtime, workspace, PAYS);

    expect(await caseOf(workspace.invoice.id)).toMatchObject({ status: "recovered" });
    expect(await workspaceRow(workspace.workspaceId)).toMatchObject({
      status: "suspended",
      suspensionReason: "Terms of service review",
    });
  });

  it("stops when the workspace is cancelled", async () => {
    clock.set(START);
    const workspace = await unpaidWorkspace();
    const first = (await caseOf(workspace.invoice.id))!.openedAt;
    await sweepAt(workspace.workspaceId, first, 1);
    await execute(
      runtime,
      cancelWorkspace,
      { workspaceId: workspace.workspaceId, timing: "now" },
      { actor: { type: "user", userId: workspace.userId } },
    );
    await drain(runtime);

    const stopped = await caseOf(workspace.invoice.id);
    expect(stopped).toMatchObject({
      status: "stopped",
      closeReason: "the workspace was cancelled",
      nextAttemptAt: null,
    });
    for (const day of [3, 5, 7]) expect(await sweepAt(workspace.workspaceId, first, day)).toBe(0);
    expect(await paymentsOf(workspace.invoice.id)).toHaveLength(2);
    expect(await eventsNamed("billing/dunning-warning", workspace.workspaceId)).toHaveLength(0);
  });

  it("stops when the invoice is voided, and the subscription is no longer past due", async () => {
    clock.set(START);
    const workspace = await unpaidWorkspace();
    await execute(
      runtime,
      voidInvoice,
      { invoiceId: workspace.invoice.id, reason: "charged the wrong tier" },
      admin,
    );
    await drain(runtime);

    expect(await caseOf(workspace.invoice.id)).toMatchObject({
      status: "stopped",
      closeReason: `${workspace.invoice.number} was voided`,
    });
    expect(await subscriptionStatus(workspace.workspaceId)).toBe("active");
    const first = (await caseOf(workspace.invoice.id))!.openedAt;
    expect(await sweepAt(workspace.workspaceId, first, 1)).toBe(0);
    expect(await paymentsOf(workspace.invoice.id)).toHaveLength(1);
  });
});

describe("paying now", () => {
  it("refuses without a card, then pays with one and closes the case", async () => {
    clock.set(START);
    const workspace = await unpaidWorkspace();
    const caller = await callerFor(runtime, workspace.userId);
    const pay = () =>
      caller.billing.payInvoice({
        workspaceId: workspace.workspaceId,
        invoiceId: workspace.invoice.id,
      });

    const noCard = await failure(pay());
    expect(noCard).toMatchObject({ code: "PRECONDITION_FAILED" });
    expect(noCard.message).toMatch(/save a card/);

    // Saving the same declining card on the page retries at once, and fails again.
    await saveCardOnPage(runtime, workspace, DECLINES_LATER);
    expect(await caseOf(workspace.invoice.id)).toMatchObject({ status: "retrying", attempts: 2 });
    const declined = await pay();
    expect(declined.status).toBe("failed");
    expect(declined.message).toMatch(/Visa ending 0341 was declined/);
    await drain(runtime);
    expect(await caseOf(workspace.invoice.id)).toMatchObject({ status: "retrying", attempts: 3 });

    // The card at the gateway changes without a webhook: Pay now charges whatever is the default.
    await simulatedGatewayOf(runtime).saveCard(workspace.customerId, PAYS);
    expect(await pay()).toEqual({ status: "succeeded", message: null });
    await drain(runtime);
    expect(await invoiceRow(workspace.invoice.id)).toMatchObject({ status: "paid" });
    expect(await caseOf(workspace.invoice.id)).toMatchObject({ status: "recovered", attempts: 4 });
    expect((await paymentsOf(workspace.invoice.id)).map((row) => row.trigger)).toEqual([
      "invoice_issued",
      "card_updated",
      "customer",
      "customer",
    ]);

    const again = await failure(pay());
    expect(again).toMatchObject({ code: "CONFLICT" });
    expect(again.message).toMatch(/is paid/);
  });

  it("sends no email for a decline the customer saw on the page; a dunning retry still sends one", async () => {
    clock.set(START);
    const workspace = await unpaidWorkspace();
    const first = (await caseOf(workspace.invoice.id))!.openedAt;
    await saveCardOnPage(runtime, workspace, DECLINES_LATER);
    await drain(runtime);
    const caller = await callerFor(runtime, workspace.userId);
    const failed = () => notificationsOf(workspace.workspaceId, "billing.payment_failed");
    const retryFailed = () =>
      notificationsOf(workspace.workspaceId, "billing.payment_retry_failed");
    const before = { failed: await failed(), retryFailed: await retryFailed() };
    expect(before.failed).toBe(1);

    for (let press = 0; press < 5; press++) {
      const declined = await caller.billing.payInvoice({
        workspaceId: workspace.workspaceId,
        invoiceId: workspace.invoice.id,
      });
      expect(declined.status).toBe("failed");
      await drain(runtime);
    }
    const pressed = (await eventsNamed("billing/payment-failed", workspace.workspaceId)).filter(
      (row) => row.data.trigger === "customer",
    );
    expect(pressed).toHaveLength(5);
    expect(await failed()).toBe(before.failed);
    expect(await retryFailed()).toBe(before.retryFailed);

    expect(await sweepAt(workspace.workspaceId, first, 1)).toBe(1);
    expect(await retryFailed()).toBe(before.retryFailed + 1);
  });

  it("keeps on each payment the card it was charged to", async () => {
    clock.set(START);
    const workspace = await unpaidWorkspace();
    await saveCardOnPage(runtime, workspace, DECLINES_LATER);
    await simulatedGatewayOf(runtime).saveCard(workspace.customerId, PAYS);
    const caller = await callerFor(runtime, workspace.userId);
    await caller.billing.payInvoice({
      workspaceId: workspace.workspaceId,
      invoiceId: workspace.invoice.id,
    });
    await drain(runtime);

    expect(
      (await paymentsOf(workspace.invoice.id)).map((row) => [row.trigger, row.paymentMethodLabel]),
    ).toEqual([
      ["invoice_issued", "Visa ending 0341"],
      ["card_updated", "Visa ending 0341"],
      ["customer", "Visa ending 4242"],
    ]);
    const history = await caller.billing.paymentHistory({ workspaceId: workspace.workspaceId });
    expect(
      history
        .filter((entry) => entry.invoiceId === workspace.invoice.id)
        .map((entry) => [entry.status, entry.method])
        .sort(),
    ).toEqual([
      ["failed", "Visa ending 0341"],
      ["failed", "Visa ending 0341"],
      ["succeeded", "Visa ending 4242"],
    ]);
  });

  it("works while the workspace is suspended for the invoice", async () => {
    clock.set(START);
    const workspace = await unpaidWorkspace();
    const first = (await caseOf(workspace.invoice.id))!.openedAt;
    await saveCardOnPage(runtime, workspace, DECLINES_LATER);
    for (const day of [1, 3, 5, 7]) await sweepAt(workspace.workspaceId, first, day);
    expect(await workspaceRow(workspace.workspaceId)).toMatchObject({ status: "suspended" });
    await simulatedGatewayOf(runtime).saveCard(workspace.customerId, PAYS);
    const caller = await callerFor(runtime, workspace.userId);
    await caller.billing.payInvoice({
      workspaceId: workspace.workspaceId,
      invoiceId: workspace.invoice.id,
    });
    await drain(runtime);
    expect(await workspaceRow(workspace.workspaceId)).toMatchObject({ status: "active" });
    await consume(runtime, workspace.workspaceId, 10);
  });
});

describe("the gateway's webhooks", () => {
  /** The runtime's gateway, answering `processing` to every off-session charge it makes. */
  function answeringProcessing(rt: Runtime): () => void {
    const real = rt.executeDeps.gateway;
    const slow: PaymentGateway = Object.create(real);
    slow.chargeOffSession = async (input, key) => {
      const charge = await real.chargeOffSession(input, key);
      return charge.paymentIntentId
        ? { paymentIntentId: charge.paymentIntentId, chargeId: null, status: "processing" }
        : charge;
    };
    rt.executeDeps.gateway = slow;

    return () => {
      rt.executeDeps.gateway = real;
    };
  }

  it("a success reported only by webhook pays the invoice once", async () => {
    clock.set(START);
    const workspace = await makeWorkspace(runtime);
    const customerId = await gatewayCustomerOf(runtime, workspace.workspaceId);
    await simulatedGatewayOf(runtime).saveCard(customerId, PAYS);
    const restore = answeringProcessing(runtime);
    try {
      const invoice = await issueTestInvoice(runtime, workspace.workspaceId);
      await drain(runtime);
      const [payment] = await paymentsOf(invoice.id);
      expect(payment).toMatchObject({ status: "succeeded" });
      expect(await invoiceRow(invoice.id)).toMatchObject({ status: "paid" });
      // The webhook arrives again: nothing changes.
      await simulatedGatewayOf(runtime).redeliverPending(0);
      await runtime.db.execute(
        sql`UPDATE simulated_objects SET data = jsonb_set(data, '{delivered}', 'false') WHERE type = 'event'`,
      );
      await simulatedGatewayOf(runtime).redeliverPending(0);
      await drain(runtime);
      expect(await eventsNamed("billing/payment-succeeded", workspace.workspaceId)).toHaveLength(1);
    } finally {
      restore();
    }
  });

  it("a decline reported only by webhook opens the case once", async () => {
    clock.set(START);
    const workspace = await makeWorkspace(runtime);
    const customerId = await gatewayCustomerOf(runtime, workspace.workspaceId);
    await simulatedGatewayOf(runtime).saveCard(customerId, DECLINES_LATER);
    const restore = answeringProcessing(runtime);
    try {
      const invoice = await issueTestInvoice(runtime, workspace.workspaceId);
      await drain(runtime);
      expect(await paymentsOf(invoice.id)).toMatchObject([{ status: "failed", attempt: 1 }]);
      expect(await caseOf(invoice.id)).toMatchObject({ status: "retrying", attempts: 1 });
      expect(await eventsNamed("billing/payment-failed", workspace.workspaceId)).toHaveLength(1);
    } finally {
      restore();
    }
  });
});

describe("webhooks that do not match the invoice payment they name", () => {
  /** A workspace whose first payment of a $49 invoice failed, and a webhook that matches it. */
  async function failedPayment() {
    clock.set(START);
    const workspace = await unpaidWorkspace();
    const [payment] = await paymentsOf(workspace.invoice.id);
    expect(payment).toMatchObject({ status: "failed", attempt: 1 });
    const honest = (object: Record<string, unknown> = {}) =>
      eventFrom("payment_intent.succeeded", {
        object: {
          id: payment!.paymentIntentId,
          amount: payment!.amountMinor,
          amount_received: payment!.amountMinor,
          currency: payment!.currency.toLowerCase(),
          latest_charge: null,
          metadata: {
            invoice_id: workspace.invoice.id,
            payment_id: payment!.id,
            workspace_id: workspace.workspaceId,
          },
          ...object,
        },
      });

    return { ...workspace, payment: payment!, honest };
  }

  async function expectRefused(
    workspace: Awaited<ReturnType<typeof failedPayment>>,
    body: StripeEventBody,
    reason: RegExp,
  ) {
    expect((await deliver(runtime, body)).status).toBe(200);
    await drain(runtime);
    expect(await refusalOf(runtime, body.id)).toMatch(reason);
    expect(await paymentsOf(workspace.invoice.id)).toMatchObject([
      { status: "failed", paymentIntentId: workspace.payment.paymentIntentId },
    ]);
    expect(await invoiceRow(workspace.invoice.id)).toMatchObject({
      status: "open",
      amountPaidMinor: 0,
    });
    expect(await eventsNamed("billing/payment-succeeded", workspace.workspaceId)).toHaveLength(0);
  }

  it("refuses the forged success seen in the wild: another intent, 1 JPY, another workspace", async () => {
    const workspace = await failedPayment();
    const other = await makeWorkspace(runtime);
    await expectRefused(
      workspace,
      workspace.honest({
        id: "pi_fake_B",
        amount: 1,
        amount_received: 1,
        currency: "jpy",
        metadata: {
          payment_id: workspace.payment.id,
          invoice_id: workspace.invoice.id,
          workspace_id: other.workspaceId,
        },
      }),
      /does not match invoice payment/,
    );
  });

  it.each([
    ["another payment intent", { id: "pi_fake_B" }, /made as pi_/],
    ["another amount", { amount: 1 }, /says 1, the payment is \d+/],
    ["no amount", { amount: null }, /says no amount|does not carry the expected object/],
    ["another currency", { currency: "jpy" }, /says jpy, the payment is USD/],
    ["no currency", { currency: null }, /says no currency|does not carry the expected object/],
  ])("refuses a success with %s", async (_, change, reason) => {
    const workspace = await failedPayment();
    await expectRefused(workspace, workspace.honest(change), reason);
  });

  it("refuses a success naming another workspace", async () => {
    const workspace = await failedPayment();
    const other = await makeWorkspace(runtime);
    const body = workspace.honest();
    (body.data.object.metadata as Record<string, unknown>).workspace_id = other.workspaceId;
    await expectRefused(workspace, body, /names workspace/);
  });

  it("refuses a decline that does not match, leaving the case as it was", async () => {
    const workspace = await failedPayment();
    const before = await caseOf(workspace.invoice.id);
    const body = workspace.honest({ amount: 1 });
    body.type = "payment_intent.payment_failed";
    expect((await deliver(runtime, body)).status).toBe(200);
    await drain(runtime);
    expect(await refusalOf(runtime, body.id)).toMatch(/says 1/);
    expect(await caseOf(workspace.invoice.id)).toEqual(before);
  });

  it("asks the gateway about an intent the payment does not hold yet", async () => {
    const workspace = await failedPayment();
    const intentId = workspace.payment.paymentIntentId!;
    await runtime.db
      .update(payments)
      .set({ paymentIntentId: null })
      .where(eq(payments.id, workspace.payment.id));
    // An intent the gateway never made for this payment is refused...
    await expectRefused(
      { ...workspace, payment: { ...workspace.payment, paymentIntentId: null } },
      workspace.honest({ id: "pi_fake_B" }),
      /gateway does not know/,
    );
    // ...and the one it did make is taken.
    const body = workspace.honest({ id: intentId });
    await deliver(runtime, body);
    await drain(runtime);
    expect(await refusalOf(runtime, body.id)).toBeNull();
    expect(await paymentsOf(workspace.invoice.id)).toMatchObject([
      { status: "succeeded", paymentIntentId: intentId },
    ]);
    expect(await invoiceRow(workspace.invoice.id)).toMatchObject({ status: "paid" });
  });

  it("takes a matching success, whatever the currency's case", async () => {
    const workspace = await failedPayment();
    const body = workspace.honest({ currency: "USD" });
    await deliver(runtime, body);
    await drain(runtime);
    expect(await refusalOf(runtime, body.id)).toBeNull();
    expect(await invoiceRow(workspace.invoice.id)).toMatchObject({ status: "paid" });
  });
});

describe("a custom schedule", () => {
  it("retries on the configured days and warns at opening when one retry is left", async () => {
    const own = new ManualClock(START);
    const rt = await testRuntime({
      clock: own,
      env: { TALLY_TAX_RATES: "", TALLY_DUNNING_RETRY_DAYS: "2" },
    });
    try {
      const workspace = await unpaidWorkspace(rt);
      const opened = await caseOf(workspace.invoice.id, rt);
      expect(opened).toMatchObject({ retryDays: [2] });
      expect(opened!.warnedAt).not.toBeNull();
      expect(await eventsNamed("billing/dunning-warning", workspace.workspaceId, rt)).toHaveLength(
        1,
      );
      expect(await sweepAt(workspace.workspaceId, opened!.openedAt, 1, rt, own)).toBe(0);
      expect(await sweepAt(workspace.workspaceId, opened!.openedAt, 2, rt, own)).toBe(1);
      expect(await caseOf(workspace.invoice.id, rt)).toMatchObject({
        status: "exhausted",
        attempts: 2,
      });
      expect((await workspaceRow(workspace.workspaceId, rt)).status).toBe("suspended");
    } finally {
      await rt.stop();
    }
  });
});
