import { randomUUID } from "node:crypto";

import { and, eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  creditPurchases,
  disputes,
  notificationDeliveries,
  notifications,
  outbox,
  payments,
  stripeEvents,
} from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { seedPacks } from "@/server/db/seed";
import type { GatewayPayment } from "@/server/payments/gateway";
import type { Runtime } from "@/server/runtime";
import { consume } from "@/test/support/credits";
import {
  callerFor,
  drain,
  expectLedgerInvariant,
  makeUser,
  makeWorkspace,
  testRuntime,
} from "@/test/support/runtime";
import {
  deliver,
  disputeEvent,
  intentSucceededWithCharge,
  purchaseRef,
  sessionCompleted,
  type StripeEventBody,
} from "@/test/support/stripe-events";
import { freeWithEveryFeature } from "@/test/support/tiers";

const clock = new ManualClock("2027-05-03T08:00:00Z");
const STARTER = seedPacks[0]; // 5,000 credits for $9.00
let runtime: Runtime;
const touched = new Set<string>();

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

/** A workspace (1,000 allowance + 250 bonus) with a Starter purchase started, not yet paid. */
async function startedPurchase() {
  const workspace = await makeWorkspace(runtime, {
    tierCode: (await freeWithEveryFeature(runtime)).code,
  });
  touched.add(workspace.workspaceId);
  const caller = await callerFor(runtime, workspace.userId);
  const { purchaseId } = await caller.credits.purchases.start({
    workspaceId: workspace.workspaceId,
    packId: STARTER.id,
  });
  const ref = await purchaseRef(runtime, purchaseId);
  const suffix = randomUUID().slice(0, 8);

  return {
    ...workspace,
    purchaseId,
    ref,
    intentId: `pi_test_${suffix}`,
    chargeId: `ch_test_${suffix}`,
    disputeId: `dp_test_${suffix}`,
  };
}

/** The same, paid through the webhooks, so the payment row knows its charge. */
async function paidPurchase() {
  const started = await startedPurchase();
  await deliver(
    runtime,
    intentSucceededWithCharge(started.ref, started.intentId, started.chargeId),
  );
  await deliver(runtime, sessionCompleted(started.ref, started.intentId));
  await drain(runtime);

  return started;
}

function disputeOf(
  purchase: Awaited<ReturnType<typeof startedPurchase>>,
  type: Parameters<typeof disputeEvent>[0],
  status: string,
): StripeEventBody {
  return disputeEvent(type, {
    id: purchase.disputeId,
    chargeId: purchase.chargeId,
    amountMinor: 900,
    currency: "USD",
    status,
  });
}

async function disputeRow(gatewayDisputeId: string) {
  const rows = await runtime.db
    .select()
    .from(disputes)
    .where(eq(disputes.gatewayDisputeId, gatewayDisputeId));
  expect(rows.length).toBeLessThanOrEqual(1);

  return rows[0];
}

async function balanceOf(workspaceId: string) {
  return (await expectLedgerInvariant(runtime, workspaceId)).balance;
}

async function emitted(workspaceId: string, name: string) {
  return runtime.db
    .select()
    .from(outbox)
    .where(and(eq(outbox.workspaceId, workspaceId), eq(outbox.name, name)));
}

async function processed(event: StripeEventBody) {
  const [stored] = await runtime.db
    .select()
    .from(stripeEvents)
    .where(eq(stripeEvents.id, event.id));

  return stored?.processedAt ?? null;
}

describe("disputes", () => {
  it("claws back the unspent credits, alerts the admins, and reinstates them once when won", async () => {
    const admin = await makeUser(runtime, { isPlatformAdmin: true });
    const purchase = await paidPurchase();
    const { workspaceId } = purchase;
    await consume(runtime, workspaceId, 2_250); // the allowance, the bonus, then 1,000 bought
    expect(await balanceOf(workspaceId)).toBe(4_000);

    const created = disputeOf(purchase, "charge.dispute.created", "needs_response");
    await deliver(runtime, created);
    await deliver(runtime, { ...created, id: `${created.id}_again` });
    await drain(runtime);

    const opened = await disputeRow(purchase.disputeId);
    expect(opened).toMatchObject({
      workspaceId,
      chargeId: purchase.chargeId,
      amountMinor: 900,
      currency: "USD",
      gatewayStatus: "needs_response",
      outcome: "open",
      clawedBackCredits: 4_000,
      shortfallCredits: 1_000,
      reinstatedCredits: 0,
    });
    expect(await balanceOf(workspaceId)).toBe(0);
    expect((await emitted(workspaceId, "payments/dispute-opened")).map((e) => e.data)).toEqual([
      expect.objectContaining({ disputeId: opened!.id, clawedBackCredits: 4_000 }),
    ]);
    const alerts = await runtime.db
      .select({ data: notifications.data })
      .from(notifications)
      .innerJoin(
        notificationDeliveries,
        eq(notificationDeliveries.notificationId, notifications.id),
      )
      .where(
        and(
          eq(notificationDeliveries.userId, admin.id),
          eq(notifications.type, "payments.dispute_opened"),
          eq(notificationDeliveries.channel, "in_app"),
        ),
      );
    expect(alerts.filter((alert) => alert.data.disputeId === opened!.id)).toHaveLength(1);

    await deliver(runtime, disputeOf(purchase, "charge.dispute.updated", "under_review"));
    await drain(runtime);
    expect(await disputeRow(purchase.disputeId)).toMatchObject({ gatewayStatus: "under_review" });

    const closed = disputeOf(purchase, "charge.dispute.closed", "won");
    await deliver(runtime, closed);
    await deliver(runtime, { ...closed, id: `${closed.id}_again` });
    await drain(runtime);

    expect(await disputeRow(purchase.disputeId)).toMatchObject({
      outcome: "won",
      gatewayStatus: "won",
      reinstatedCredits: 4_000,
      closedAt: clock.now(),
    });
    expect(await balanceOf(workspaceId)).toBe(4_000);
    expect((await emitted(workspaceId, "payments/dispute-closed")).map((e) => e.data)).toEqual([
      expect.objectContaining({ outcome: "won", reinstatedCredits: 4_000 }),
    ]);

    // A late update after the verdict changes nothing.
    await deliver(runtime, disputeOf(purchase, "charge.dispute.updated", "under_review"));
    await drain(runtime);
    expect(await disputeRow(purchase.disputeId)).toMatchObject({ gatewayStatus: "won" });
  });

  it("keeps the credits clawed back when lost, and counts no refund on the payment", async () => {
    const purchase = await paidPurchase();
    await deliver(runtime, disputeOf(purchase, "charge.dispute.created", "needs_response"));
    await drain(runtime);
    await deliver(runtime, disputeOf(purchase, "charge.dispute.closed", "lost"));
    await drain(runtime);

    expect(await disputeRow(purchase.disputeId)).toMatchObject({
      outcome: "lost",
      clawedBackCredits: 5_000,
      shortfallCredits: 0,
      reinstatedCredits: 0,
    });
    expect(await balanceOf(purchase.workspaceId)).toBe(1_250);
    const [payment] = await runtime.db
      .select()
      .from(payments)
      .where(eq(payments.purchaseId, purchase.purchaseId));
    expect(payment?.amountRefundedMinor).toBe(0);
  });

  it("converges when the verdict arrives before the dispute: recorded, then closed", async () => {
    const purchase = await paidPurchase();
    await deliver(runtime, disputeOf(purchase, "charge.dispute.closed", "won"));
    await drain(runtime);
    await deliver(runtime, disputeOf(purchase, "charge.dispute.created", "needs_response"));
    await drain(runtime);

    expect(await disputeRow(purchase.disputeId)).toMatchObject({
      outcome: "won",
      clawedBackCredits: 5_000,
      reinstatedCredits: 5_000,
    });
    expect(await balanceOf(purchase.workspaceId)).toBe(6_250);
    expect(await emitted(purchase.workspaceId, "payments/dispute-opened")).toHaveLength(1);
    expect(await emitted(purchase.workspaceId, "payments/dispute-closed")).toHaveLength(1);
  });

  it("retries a dispute on a charge it cannot place yet, and records it once the payment is known", async () => {
    const purchase = await startedPurchase();
    const created = disputeOf(purchase, "charge.dispute.created", "needs_response");
    const gateway = runtime.gateway;
    const original = gateway.retrieveCharge.bind(gateway);
    gateway.retrieveCharge = async () => {
      throw new Error("the gateway cannot be reached");
    };
    try {
      expect((await deliver(runtime, created)).status).toBe(200);
      await drain(runtime);
      expect(await processed(created)).toBeNull();
      expect(await disputeRow(purchase.disputeId)).toBeUndefined();
    } finally {
      gateway.retrieveCharge = original;
    }

    await deliver(
      runtime,
      intentSucceededWithCharge(purchase.ref, purchase.intentId, purchase.chargeId),
    );
    await drain(runtime);
    clock.advance(60 * 60 * 1000);
    await drain(runtime);

    expect(await processed(created)).not.toBeNull();
    expect(await disputeRow(purchase.disputeId)).toMatchObject({ clawedBackCredits: 5_000 });
    expect(await balanceOf(purchase.workspaceId)).toBe(1_250);
  });

  it("completes a purchase the dispute's charge paid, from what the gateway reports", async () => {
    const purchase = await startedPurchase();
    const gateway = runtime.gateway;
    const original = gateway.retrieveCharge.bind(gateway);
    const reported: GatewayPayment = {
      paymentIntentId: purchase.intentId,
      chargeId: purchase.chargeId,
      customerId: null,
      status: "succeeded",
      amountMinor: 900,
      amountReceivedMinor: 900,
      amountRefundedMinor: 0,
      currency: "USD",
      metadata: { purchase_id: purchase.purchaseId, workspace_id: purchase.workspaceId },
      createdAt: clock.now(),
    };
    gateway.retrieveCharge = async (chargeId) => (chargeId === purchase.chargeId ? reported : null);
    try {
      await deliver(runtime, disputeOf(purchase, "charge.dispute.created", "needs_response"));
      await drain(runtime);
    } finally {
      gateway.retrieveCharge = original;
    }

    const [paid] = await runtime.db
      .select()
      .from(creditPurchases)
      .where(eq(creditPurchases.id, purchase.purchaseId));
    expect(paid).toMatchObject({ status: "paid", paymentIntentId: purchase.intentId });
    expect(await disputeRow(purchase.disputeId)).toMatchObject({
      clawedBackCredits: 5_000,
      shortfallCredits: 0,
    });
    expect(await balanceOf(purchase.workspaceId)).toBe(1_250);
    // The payment events arriving afterwards grant nothing more.
    await deliver(runtime, sessionCompleted(purchase.ref, purchase.intentId));
    await drain(runtime);
    expect(await balanceOf(purchase.workspaceId)).toBe(1_250);
  });

  it("acknowledges a dispute on a charge that is not Tally's", async () => {
    const gateway = runtime.gateway;
    const original = gateway.retrieveCharge.bind(gateway);
    gateway.retrieveCharge = async () => null;
    try {
      const foreign = disputeEvent("charge.dispute.created", {
        id: "dp_someone_else",
        chargeId: "ch_someone_else",
        amountMinor: 100,
        currency: "USD",
        status: "needs_response",
      });
      await deliver(runtime, foreign);
      await drain(runtime);
      expect(await processed(foreign)).not.toBeNull();
      expect(await disputeRow("dp_someone_else")).toBeUndefined();
    } finally {
      gateway.retrieveCharge = original;
    }
  });
});
