import { randomUUID } from "node:crypto";

import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { auditLog, disputes, workspaces } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { seedPacks } from "@/server/db/seed";
import { SimulatedGateway } from "@/server/payments/simulated";
import type { Runtime } from "@/server/runtime";
import { failure } from "@/test/support/failure";
import {
  callerFor,
  drain,
  expectLedgerInvariant,
  makeUser,
  makeWorkspace,
  testRuntime,
} from "@/test/support/runtime";
import {
  chargeRefunded,
  deliver,
  disputeEvent,
  intentSucceededWithCharge,
  purchaseRef,
} from "@/test/support/stripe-events";

const clock = new ManualClock("2027-08-02T10:00:00Z");
/** The simulated gateway plays the cardholder's bank once it can open and close disputes. */
const simulates = "openDispute" in SimulatedGateway.prototype;
const STARTER = seedPacks[0]; // 5,000 credits for $9.00
let runtime: Runtime;
let admin: Awaited<ReturnType<typeof callerFor>>;

beforeAll(async () => {
  runtime = await testRuntime({ clock });
  admin = await callerFor(runtime, (await makeUser(runtime, { isPlatformAdmin: true })).id);
});
afterAll(async () => {
  await runtime.stop();
});

/** A workspace named `name` with a Starter purchase paid through the webhooks. */
async function paid(name: string) {
  const workspace = await makeWorkspace(runtime);
  await runtime.db.update(workspaces).set({ name }).where(eq(workspaces.id, workspace.workspaceId));
  const caller = await callerFor(runtime, workspace.userId);
  const { purchaseId } = await caller.credits.purchases.start({
    workspaceId: workspace.workspaceId,
    packId: STARTER.id,
  });
  const suffix = randomUUID().slice(0, 8);
  const intentId = `pi_admin_${suffix}`;
  const chargeId = `ch_admin_${suffix}`;
  await deliver(
    runtime,
    intentSucceededWithCharge(await purchaseRef(runtime, purchaseId), intentId, chargeId),
  );
  await drain(runtime);
  const list = await admin.adminPayments.payments({ workspace: name });

  return { ...workspace, purchaseId, intentId, chargeId, paymentId: list.rows[0]!.id };
}

describe("admin payment pages' procedures", () => {
  it("list payments by filters with per-currency totals, and show one with its refunds and disputes", async () => {
    const tag = randomUUID().slice(0, 6);
    const first = await paid(`Payments ${tag} one`);
    await paid(`Payments ${tag} two`);
    await deliver(
      runtime,
      chargeRefunded(
        {
          chargeId: first.chargeId,
          paymentIntentId: first.intentId,
          amountMinor: 900,
          currency: "USD",
        },
        [{ id: `re_admin_${tag}`, amountMinor: 300 }],
      ),
    );
    // The refund first: a dispute after it claws back what the refund left.
    await drain(runtime);
    await deliver(
      runtime,
      disputeEvent("charge.dispute.created", {
        id: `dp_admin_${tag}`,
        chargeId: first.chargeId,
        amountMinor: 900,
        currency: "USD",
        status: "needs_response",
      }),
    );
    await drain(runtime);
    await expectLedgerInvariant(runtime, first.workspaceId);

    const list = await admin.adminPayments.payments({ workspace: `Payments ${tag}` });
    expect(list.total).toBe(2);
    expect(list.totalsByCurrency).toEqual([
      { currency: "USD", payments: 2, succeededMinor: 1_800, refundedMinor: 300 },
    ]);
    expect(list.rows.map((row) => [row.workspaceName, row.disputes])).toEqual(
      expect.arrayContaining([
        [`Payments ${tag} one`, 1],
        [`Payments ${tag} two`, 0],
      ]),
    );
    expect(
      (await admin.adminPayments.payments({ workspace: `Payments ${tag}`, status: "failed" }))
        .total,
    ).toBe(0);
    expect(
      (await admin.adminPayments.payments({ workspace: `Payments ${tag}`, kind: "invoice" })).total,
    ).toBe(0);

    const detail = await admin.adminPayments.payment({ paymentId: first.paymentId });
    expect(detail).toMatchObject({
      payment: { kind: "purchase", amountRefundedMinor: 300, chargeId: first.chargeId },
      packName: STARTER.name,
      refunds: [{ origin: "gateway", amountMinor: 300, gatewayRefundId: `re_admin_${tag}` }],
      disputes: [{ gatewayDisputeId: `dp_admin_${tag}`, outcome: "open" }],
      canSimulateDispute: false,
    });

    const refunds = await admin.adminPayments.refunds({ workspace: `Payments ${tag}` });
    expect(refunds.rows).toMatchObject([{ origin: "gateway", amountMinor: 300 }]);
    expect(refunds.totalsByCurrency).toEqual([{ currency: "USD", refunds: 1, amountMinor: 300 }]);
    const disputed = await admin.adminPayments.disputes({ workspace: `Payments ${tag}` });
    expect(disputed.rows).toMatchObject([{ clawedBackCredits: 5_000 - 1_667, outcome: "open" }]);
    expect(await admin.adminPayments.dispute({ disputeId: disputed.rows[0]!.id })).toMatchObject({
      dispute: { gatewayDisputeId: `dp_admin_${tag}` },
      canSimulateClose: simulates,
    });
    expect((await admin.adminPayments.disputes({ outcome: "won", workspace: tag })).total).toBe(0);
  });

  it("are for platform admins only, and say which record is missing", async () => {
    const { userId, paymentId } = await paid(`Private ${randomUUID().slice(0, 6)}`);
    const owner = await callerFor(runtime, userId);
    expect(await failure(owner.adminPayments.payments({}))).toMatchObject({ appCode: "forbidden" });
    expect(await failure(owner.adminPayments.payment({ paymentId }))).toMatchObject({
      appCode: "forbidden",
    });
    expect(await failure(owner.adminPayments.simulateDispute({ paymentId }))).toMatchObject({
      appCode: "forbidden",
    });
    expect(await failure(admin.adminPayments.payment({ paymentId: randomUUID() }))).toMatchObject({
      appCode: "not_found",
      field: "paymentId",
    });
    expect(await failure(admin.adminPayments.payments({ status: "lost" as never }))).toMatchObject({
      appCode: "invalid_request",
      field: "status",
    });
  });

  it("refuses to simulate a dispute on a payment that did not succeed or is already disputed", async () => {
    const { paymentId, chargeId } = await paid(`Disputed ${randomUUID().slice(0, 6)}`);
    await deliver(
      runtime,
      disputeEvent("charge.dispute.created", {
        id: `dp_${chargeId}`,
        chargeId,
        amountMinor: 900,
        currency: "USD",
        status: "needs_response",
      }),
    );
    await drain(runtime);
    const [dispute] = await runtime.db
      .select()
      .from(disputes)
      .where(eq(disputes.gatewayDisputeId, `dp_${chargeId}`));

    expect(await failure(admin.adminPayments.simulateDispute({ paymentId }))).toMatchObject({
      appCode: "conflict",
    });
    expect(
      await failure(
        admin.adminPayments.simulateDisputeClose({
          disputeId: dispute!.id,
          outcome: "draw" as never,
        }),
      ),
    ).toMatchObject({ appCode: "invalid_request", field: "outcome" });
  });
});

describe.skipIf(!simulates)("simulated disputes from the admin pages", () => {
  it("opens a dispute on a paid purchase, then closes it won, through the gateway's webhooks", async () => {
    const workspace = await makeWorkspace(runtime);
    const caller = await callerFor(runtime, workspace.userId);
    const { buyPaidPack } = await import("@/test/support/purchases");
    const purchase = await buyPaidPack(runtime, workspace, STARTER.id);
    const list = await admin.adminPayments.payments({ workspace: workspace.slug });
    const paymentId = list.rows[0]!.id;
    expect((await admin.adminPayments.payment({ paymentId })).canSimulateDispute).toBe(true);

    await admin.adminPayments.simulateDispute({ paymentId, reason: "fraudulent" });
    await drain(runtime);
    const [opened] = (await admin.adminPayments.payment({ paymentId })).disputes;
    expect(opened).toMatchObject({ outcome: "open", clawedBackCredits: purchase.credits });
    expect((await caller.credits.balance({ workspaceId: workspace.workspaceId })).balance).toBe(
      1_250,
    );

    await admin.adminPayments.simulateDisputeClose({ disputeId: opened!.id, outcome: "won" });
    await drain(runtime);
    expect((await admin.adminPayments.dispute({ disputeId: opened!.id })).dispute).toMatchObject({
      outcome: "won",
      reinstatedCredits: purchase.credits,
    });
    expect((await caller.credits.balance({ workspaceId: workspace.workspaceId })).balance).toBe(
      1_250 + purchase.credits,
    );
    const audits = await runtime.db
      .select({ command: auditLog.command })
      .from(auditLog)
      .where(eq(auditLog.workspaceId, workspace.workspaceId));
    expect(audits.map((row) => row.command)).toEqual(
      expect.arrayContaining(["payments.simulateDispute", "payments.simulateDisputeClose"]),
    );
    await expectLedgerInvariant(runtime, workspace.workspaceId);
  });
});
