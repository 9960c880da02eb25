import { and, eq, isNull } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  billingAdjustments,
  creditGrants,
  creditPurchases,
  creditRefunds,
  invoices,
  paymentRefunds,
  payments,
  simulatedObjects,
  stripeEvents,
} from "@/drizzle/schema";
import { paymentHistory } from "@/server/billing/queries";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import { seedPacks } from "@/server/db/seed";
import type { Runtime } from "@/server/runtime";
import { createWorkspace } from "@/server/workspaces/commands";
import { consume } from "@/test/support/credits";
import { buyPaidPack, gatewayCustomerOf, simulatedGatewayOf } from "@/test/support/purchases";
import {
  callerFor,
  countRows,
  drain,
  expectLedgerInvariant,
  makeUser,
  makeWorkspace,
  testRuntime,
  uniqueSuffix,
} from "@/test/support/runtime";
import { chargeRefunded, deliver, refundEvent, refusalOf } from "@/test/support/stripe-events";
import { freeWithEveryFeature, makeTier } from "@/test/support/tiers";

const clock = new ManualClock("2027-04-05T10:00:00Z");
const STARTER = seedPacks[0]; // 5,000 credits for $9.00
let runtime: Runtime;
const touched = new Set<string>();
let serial = 0;

beforeAll(async () => {
  runtime = await testRuntime({ clock });
});
afterEach(async () => {
  for (const workspaceId of touched) await expectLedgerInvariant(runtime, workspaceId);
  touched.clear();
});
afterAll(async () => {
  await runtime.stop();
});

/** A workspace (1,000 allowance + 250 bonus) that bought Starter; its payment's charge is known. */
async function withPurchase() {
  const workspace = await makeWorkspace(runtime, {
    tierCode: (await freeWithEveryFeature(runtime)).code,
  });
  touched.add(workspace.workspaceId);
  const purchase = await buyPaidPack(runtime, workspace, STARTER.id);
  // The charge the gateway reported, or one named here when it reports none.
  const chargeId = (await paymentOf(purchase.id)).chargeId ?? `ch_test_refunds_${++serial}`;
  const charge = {
    chargeId,
    paymentIntentId: purchase.paymentIntentId,
    amountMinor: purchase.amountMinor,
    currency: purchase.currency,
  };

  return { ...workspace, purchase, charge, caller: await callerFor(runtime, workspace.userId) };
}

async function paymentOf(purchaseId: string) {
  const [row] = await runtime.db.select().from(payments).where(eq(payments.purchaseId, purchaseId));

  return row!;
}

async function refundsOf(paymentId: string) {
  return runtime.db
    .select()
    .from(paymentRefunds)
    .where(eq(paymentRefunds.paymentId, paymentId))
    .orderBy(paymentRefunds.createdAt);
}

async function invoiceOf(purchaseId: string) {
  const [row] = await runtime.db.select().from(invoices).where(eq(invoices.purchaseId, purchaseId));

  return row!;
}

async function balanceOf(workspaceId: string) {
  return (await expectLedgerInvariant(runtime, workspaceId)).balance;
}

describe("refunds at the gateway", () => {
  it("records a credit refund's money once, and the gateway's report of it changes nothing", async () => {
    const { workspaceId, purchase, charge, caller } = await withPurchase();
    const refund = await caller.credits.purchases.refund({
      workspaceId,
      purchaseId: purchase.id,
      credits: 2_500,
      reason: "Bought too many",
    });
    await drain(runtime);

    const payment = await paymentOf(purchase.id);
    const [creditRefund] = await runtime.db
      .select()
      .from(creditRefunds)
      .where(eq(creditRefunds.id, refund.refundId));
    const [row, ...more] = await refundsOf(payment.id);
    expect(more).toHaveLength(0);
    expect(row).toMatchObject({
      origin: "credit_refund",
      creditRefundId: refund.refundId,
      gatewayRefundId: creditRefund!.gatewayRefundId,
      amountMinor: 450,
      status: "succeeded",
    });
    expect(payment.amountRefundedMinor).toBe(450);
    expect((await invoiceOf(purchase.id)).amountRefundedMinor).toBe(450);

    // Stripe then reports the refund on the charge, twice.
    const report = chargeRefunded(charge, [
      {
        id: creditRefund!.gatewayRefundId!,
        amountMinor: 450,
        metadata: { refund_id: refund.refundId },
      },
    ]);
    await deliver(runtime, report);
    await deliver(runtime, { ...report, id: `${report.id}_again` });
    await drain(runtime);

    expect(await refundsOf(payment.id)).toHaveLength(1);
    expect(await paymentOf(purchase.id)).toMatchObject({
      amountRefundedMinor: 450,
      chargeId: charge.chargeId,
    });
    expect(await balanceOf(workspaceId)).toBe(6_250 - 2_500);
  });

  it("takes back the credits of a refund made at the gateway's dashboard, pro rata, once", async () => {
    const { workspaceId, purchase, charge } = await withPurchase();
    const objectsBefore = await countRows(runtime, "simulated_objects", "type = 'refund'");
    const report = chargeRefunded(charge, [{ id: "re_dashboard_half", amountMinor: 450 }]);
    await deliver(runtime, report);
    await drain(runtime);
    await deliver(runtime, { ...report, id: `${report.id}_again` });
    await drain(runtime);

    const payment = await paymentOf(purchase.id);
    expect(await refundsOf(payment.id)).toMatchObject([
      { origin: "gateway", gatewayRefundId: "re_dashboard_half", amountMinor: 450 },
    ]);
    expect(payment.amountRefundedMinor).toBe(450);
    expect((await invoiceOf(purchase.id)).amountRefundedMinor).toBe(450);
    const taken = await runtime.db
      .select()
      .from(creditRefunds)
      .where(eq(creditRefunds.purchaseId, purchase.id));
    expect(taken).toMatchObject([
      {
        credits: 2_500,
        amountMinor: 450,
        status: "succeeded",
        gatewayRefundId: "re_dashboard_half",
      },
    ]);
    expect(await balanceOf(workspaceId)).toBe(6_250 - 2_500);
    const [after] = await runtime.db
      .select()
      .from(creditPurchases)
      .where(eq(creditPurchases.id, purchase.id));
    expect(after).toMatchObject({ refundedCredits: 2_500, refundedMinor: 450 });
    expect((await refundsOf(payment.id))[0]?.creditRefundId).toBe(taken[0]!.id);
    // The customer's payment history shows the one refund once.
    const [entry] = await paymentHistory(runtime.db, workspaceId);
    expect(entry?.refunds).toMatchObject([{ amountMinor: 450, status: "succeeded" }]);
    // Nothing was sent back to the gateway a second time.
    expect(await countRows(runtime, "simulated_objects", "type = 'refund'")).toBe(objectsBefore);
  });

  it("never takes back more than is unspent; the rest is a recorded shortfall", async () => {
    const { workspaceId, purchase, charge } = await withPurchase();
    // The allowance and bonus go first; then 4,000 of the purchase's 5,000.
    await consume(runtime, workspaceId, 5_250);
    await deliver(runtime, chargeRefunded(charge, [{ id: "re_dashboard_all", amountMinor: 900 }]));
    await drain(runtime);

    const payment = await paymentOf(purchase.id);
    const [row] = await refundsOf(payment.id);
    expect(row?.reason).toMatch(/1,000 unspent credits taken back, 4,000 already spent/);
    expect(payment.amountRefundedMinor).toBe(900);
    const [grant] = await runtime.db
      .select()
      .from(creditGrants)
      .where(eq(creditGrants.id, purchase.grantId!));
    expect(grant?.remaining).toBe(0);
    expect(await balanceOf(workspaceId)).toBe(0);
  });

  it("counts by total when the charge does not list its refunds, once per total", async () => {
    const { workspaceId, purchase, charge } = await withPurchase();
    const first = chargeRefunded(charge, [{ id: "unlisted", amountMinor: 180 }], { listed: false });
    await deliver(runtime, first);
    await deliver(runtime, { ...first, id: `${first.id}_again` });
    await drain(runtime);
    const second = chargeRefunded(
      charge,
      [
        { id: "unlisted", amountMinor: 180 },
        { id: "unlisted-2", amountMinor: 270 },
      ],
      { listed: false },
    );
    await deliver(runtime, second);
    await drain(runtime);

    const payment = await paymentOf(purchase.id);
    expect((await refundsOf(payment.id)).map((row) => row.amountMinor)).toEqual([180, 270]);
    expect(payment.amountRefundedMinor).toBe(450);
    expect(await balanceOf(workspaceId)).toBe(6_250 - 1_000 - 1_500);
  });

  it("refuses a refund larger than the charge, as seen in the wild, and stores nothing", async () => {
    const { workspaceId, purchase, charge } = await withPurchase();
    const report = chargeRefunded(charge, [{ id: "re_fake_C", amountMinor: 100_000 }]);
    await deliver(runtime, report);
    await drain(runtime);

    expect(await refusalOf(runtime, report.id)).toMatch(/says 100000 USD was refunded/);
    const payment = await paymentOf(purchase.id);
    expect(await refundsOf(payment.id)).toEqual([]);
    expect(payment.amountRefundedMinor).toBe(0);
    expect(await balanceOf(workspaceId)).toBe(6_250);
  });

  it("refuses a refund larger than what is left on the payment", async () => {
    const { workspaceId, purchase, charge } = await withPurchase();
    await deliver(runtime, chargeRefunded(charge, [{ id: "re_left_half", amountMinor: 450 }]));
    await drain(runtime);
    // A charge total that still fits the charge, but a second refund bigger than what is left.
    const listed = chargeRefunded(charge, [
      { id: "re_left_half", amountMinor: 450 },
      { id: "re_left_more", amountMinor: 451 },
    ]);
    listed.data.object.amount_refunded = 900;
    await deliver(runtime, listed);
    const alone = refundEvent("refund.updated", {
      id: "re_left_alone",
      amountMinor: 451,
      chargeId: charge.chargeId,
      currency: charge.currency,
    });
    await deliver(runtime, alone);
    await drain(runtime);

    for (const refused of [listed, alone]) {
      expect(await refusalOf(runtime, refused.id)).toMatch(/451 USD is more than the 450 left/);
    }
    const payment = await paymentOf(purchase.id);
    expect((await refundsOf(payment.id)).map((row) => row.gatewayRefundId)).toEqual([
      "re_left_half",
    ]);
    expect(payment.amountRefundedMinor).toBe(450);
    expect(await balanceOf(workspaceId)).toBe(6_250 - 2_500);
  });

  it("refuses a refund total beyond the charge when the event does not list its refunds", async () => {
    const { purchase, charge } = await withPurchase();
    const report = chargeRefunded(charge, [{ id: "unlisted", amountMinor: 100_000 }], {
      listed: false,
    });
    await deliver(runtime, report);
    await drain(runtime);

    expect(await refusalOf(runtime, report.id)).toMatch(/took only 900/);
    expect(await refundsOf((await paymentOf(purchase.id)).id)).toEqual([]);
  });

  it("marks a refund the gateway fails later as failed and stops counting its money", async () => {
    const { workspaceId, purchase, charge, caller } = await withPurchase();
    const refund = await caller.credits.purchases.refund({
      workspaceId,
      purchaseId: purchase.id,
      reason: "Not needed",
    });
    await drain(runtime);
    const [creditRefund] = await runtime.db
      .select()
      .from(creditRefunds)
      .where(eq(creditRefunds.id, refund.refundId));

    const failed = refundEvent("refund.failed", {
      id: creditRefund!.gatewayRefundId!,
      amountMinor: 900,
      chargeId: charge.chargeId,
      currency: "USD",
      status: "failed",
      failureReason: "expired_or_canceled_card",
    });
    await deliver(runtime, failed);
    await deliver(runtime, { ...failed, id: `${failed.id}_again` });
    await drain(runtime);

    const payment = await paymentOf(purchase.id);
    expect(await refundsOf(payment.id)).toMatchObject([
      { status: "failed", failureReason: "expired_or_canceled_card" },
    ]);
    expect(payment.amountRefundedMinor).toBe(0);
    expect((await invoiceOf(purchase.id)).amountRefundedMinor).toBe(0);
    const [after] = await runtime.db
      .select()
      .from(creditRefunds)
      .where(eq(creditRefunds.id, refund.refundId));
    expect(after?.status).toBe("failed");
  });

  it("acknowledges a refunded charge that is not Tally's", async () => {
    const gateway = runtime.gateway;
    const original = gateway.retrieveCharge.bind(gateway);
    gateway.retrieveCharge = async () => null;
    try {
      const report = chargeRefunded(
        { chargeId: "ch_someone_else", paymentIntentId: null, amountMinor: 100, currency: "USD" },
        [{ id: "re_someone_else", amountMinor: 100 }],
      );
      await deliver(runtime, report);
      await drain(runtime);
      const [stored] = await runtime.db
        .select()
        .from(stripeEvents)
        .where(eq(stripeEvents.id, report.id));
      expect(stored?.processedAt).not.toBeNull();
      expect(
        await countRows(runtime, "payment_refunds", "gateway_refund_id = 're_someone_else'"),
      ).toBe(0);
    } finally {
      gateway.retrieveCharge = original;
    }
  });
});

describe("a cancelled workspace's credit", () => {
  /**
   * A workspace on a $20.00 tier whose first invoice was collected from its card as it was
   * issued, less `refundedAtGateway` given back at the gateway's own dashboard, cancelled now
   * halfway through the period: it is owed $10.00 back.
   */
  async function cancelledHalfway(refundedAtGateway = 0) {
    clock.set("2027-06-01T00:00:00Z");
    const tier = await makeTier(runtime, { monthlyPriceMinor: 2_000, monthlyCredits: 1_000 });
    const owner = await makeUser(runtime);
    const slug = `paid-${uniqueSuffix()}`;
    const { workspaceId } = await execute(
      runtime,
      createWorkspace,
      { name: `Workspace ${slug}`, slug, tierCode: tier.code, ownerUserId: owner.id },
      { actor: { type: "system", reason: "test" } },
    );
    const workspace = { workspaceId, userId: owner.id };
    touched.add(workspaceId);
    // The customer the billing-setup reaction will find (same key), with a card on it already.
    const gateway = simulatedGatewayOf(runtime);
    const { customerId } = await gateway.createCustomer(
      { workspaceId, email: null, name: slug },
      `tally:customer:${workspaceId}`,
    );
    await gateway.saveCard(customerId, "4242424242424242");
    await drain(runtime);
    const [invoice] = await runtime.db
      .select()
      .from(invoices)
      .where(eq(invoices.workspaceId, workspace.workspaceId));
    const [payment] = await runtime.db
      .select()
      .from(payments)
      .where(eq(payments.invoiceId, invoice!.id));
    expect(payment).toMatchObject({ status: "succeeded", amountMinor: 2_000 });
    if (refundedAtGateway > 0) {
      await gateway.refund(
        {
          paymentIntentId: payment!.paymentIntentId!,
          amountMinor: refundedAtGateway,
          metadata: {},
        },
        `dashboard:${payment!.id}`,
      );
      await drain(runtime);
    }
    const charge = { paymentIntentId: payment!.paymentIntentId };

    clock.set("2027-06-16T00:00:00Z");
    const caller = await callerFor(runtime, workspace.userId);
    await caller.workspaces.cancel({ workspaceId: workspace.workspaceId, timing: "now" });
    await drain(runtime);

    return { ...workspace, invoice: invoice!, payment: payment!, charge };
  }

  async function openCredit(workspaceId: string) {
    return runtime.db
      .select()
      .from(billingAdjustments)
      .where(
        and(eq(billingAdjustments.workspaceId, workspaceId), isNull(billingAdjustments.invoicedAt)),
      );
  }

  it("is paid back against the invoice payment, once, and owed no more", async () => {
    const { workspaceId, invoice, payment, charge } = await cancelledHalfway();

    const [carried] = await runtime.db
      .select()
      .from(billingAdjustments)
      .where(
        and(
          eq(billingAdjustments.workspaceId, workspaceId),
          eq(billingAdjustments.kind, "credit_carried_forward"),
        ),
      );
    expect(carried).toMatchObject({ amountMinor: -1_000, invoicedAt: clock.now() });
    expect(await openCredit(workspaceId)).toEqual([]);
    const rows = await refundsOf(payment.id);
    expect(rows).toMatchObject([
      {
        origin: "cancellation",
        adjustmentId: carried!.id,
        invoiceId: invoice.id,
        amountMinor: 1_000,
        status: "succeeded",
        gatewayRefundId: expect.stringMatching(/^re_/),
      },
    ]);
    const [after] = await runtime.db.select().from(payments).where(eq(payments.id, payment.id));
    expect(after?.amountRefundedMinor).toBe(1_000);
    const [invoiceAfter] = await runtime.db
      .select()
      .from(invoices)
      .where(eq(invoices.id, invoice.id));
    expect(invoiceAfter?.amountRefundedMinor).toBe(1_000);
    const [intent] = await runtime.db
      .select()
      .from(simulatedObjects)
      .where(eq(simulatedObjects.id, charge.paymentIntentId!));
    expect(intent?.data.amount_refunded).toBe(1_000);
  });

  it("never takes more than a payment has left; what none can carry stays owed, once", async () => {
    const { workspaceId, payment } = await cancelledHalfway(1_400);

    expect(
      (await refundsOf(payment.id)).map((row) => [row.origin, row.amountMinor]).sort(),
    ).toEqual([
      ["cancellation", 600],
      ["gateway", 1_400],
    ]);
    const open = await openCredit(workspaceId);
    expect(open).toMatchObject([{ kind: "credit_carried_forward", amountMinor: -400 }]);
    const [after] = await runtime.db.select().from(payments).where(eq(payments.id, payment.id));
    expect(after?.amountRefundedMinor).toBe(2_000);
  });
});
