import { asc, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  creditPurchases,
  disputes,
  paymentRefunds,
  payments,
  reconciliationDrifts,
  reconciliationRuns,
  simulatedObjects,
} from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { seedPacks } from "@/server/db/seed";
import type { Runtime } from "@/server/runtime";
import { buyPaidPack } from "@/test/support/purchases";
import {
  callerFor,
  drain,
  makeUser,
  makeWorkspace,
  runCron,
  testRuntime,
} from "@/test/support/runtime";

import { reconcileWithGateway } from "./reconciliation";
import { remedyOf } from "./repairs";

/**
 * The other direction: records Tally holds that the gateway does not (a
 * payment row forged as succeeded, a refund and a dispute the gateway never
 * made), and a payment Tally counts as succeeded that the gateway failed.
 * None of them can be fixed by re-applying the gateway's object, so none
 * offers a repair.
 */

const T0 = new Date("2027-05-10T03:00:00Z");
const clock = new ManualClock(new Date(T0.getTime() - 2 * 3_600_000));
const STARTER = seedPacks[0]!;
/** Inside the first run's window, by Tally's own clock. */
const recordedAt = new Date(T0.getTime() - 3_600_000);
let runtime: Runtime;
let adminId: string;
const seeded: Record<string, string> = {};

async function pendingPurchase(owner: { workspaceId: string; userId: string }) {
  const caller = await callerFor(runtime, owner.userId);
  const { purchaseId } = await caller.credits.purchases.start({
    workspaceId: owner.workspaceId,
    packId: STARTER.id,
  });
  const [purchase] = await runtime.db
    .select()
    .from(creditPurchases)
    .where(eq(creditPurchases.id, purchaseId));

  return purchase!;
}

async function succeededPaymentRow(
  purchase: typeof creditPurchases.$inferSelect,
  paymentIntentId: string,
) {
  const [row] = await runtime.db
    .insert(payments)
    .values({
      workspaceId: purchase.workspaceId,
      kind: "purchase",
      purchaseId: purchase.id,
      gateway: "simulated",
      trigger: "checkout",
      idempotencyKey: `purchase:${purchase.id}`,
      paymentIntentId,
      status: "succeeded",
      amountMinor: purchase.amountMinor,
      currency: purchase.currency,
      createdAt: recordedAt,
      settledAt: recordedAt,
    })
    .returning();

  return row!;
}

async function drifts() {
  return runtime.db
    .select()
    .from(reconciliationDrifts)
    .orderBy(asc(reconciliationDrifts.kind), asc(reconciliationDrifts.gatewayObjectId));
}

async function driftOf(gatewayObjectId: string) {
  const [drift] = await runtime.db
    .select()
    .from(reconciliationDrifts)
    .where(eq(reconciliationDrifts.gatewayObjectId, gatewayObjectId));

  return drift!;
}

beforeAll(async () => {
  runtime = await testRuntime({ clock });
  adminId = (await makeUser(runtime, { isPlatformAdmin: true })).id;

  // Paid and granted the normal way: both sides agree.
  const owner = await makeWorkspace(runtime);
  const paid = await buyPaidPack(runtime, owner, STARTER.id);
  const [paidPayment] = await runtime.db
    .select()
    .from(payments)
    .where(eq(payments.purchaseId, paid.id));
  seeded.workspace = owner.workspaceId;
  seeded.paidIntent = paid.paymentIntentId!;

  // A payment row Tally counts as succeeded for an intent the gateway never created.
  const forged = await succeededPaymentRow(await pendingPurchase(owner), "pi_fake_1");
  seeded.forgedPayment = forged.id;

  // Failed at the gateway long before the window, yet succeeded in Tally within it.
  await runtime.db.insert(simulatedObjects).values({
    id: "pi_fake_failed",
    type: "payment_intent",
    data: {
      id: "pi_fake_failed",
      object: "payment_intent",
      amount: STARTER.priceMinor,
      amount_received: 0,
      amount_refunded: 0,
      currency: STARTER.currency.toLowerCase(),
      customer: null,
      metadata: {},
      status: "requires_payment_method",
      last_payment_error: { message: "Your card was declined." },
      created: Math.floor((T0.getTime() - 60 * 86_400_000) / 1000),
      livemode: false,
    },
  });
  await succeededPaymentRow(await pendingPurchase(owner), "pi_fake_failed");

  // $1,000 given back, by Tally's ledger only.
  await runtime.db.insert(paymentRefunds).values({
    workspaceId: owner.workspaceId,
    paymentId: paidPayment!.id,
    origin: "gateway",
    gatewayRefundId: "re_fake_C",
    amountMinor: 100_000,
    currency: "USD",
    reason: "Refunded at the gateway",
    status: "succeeded",
    createdAt: recordedAt,
    settledAt: recordedAt,
  });

  // A chargeback the gateway never opened.
  await runtime.db.insert(disputes).values({
    gatewayDisputeId: "dp_fake_F",
    workspaceId: owner.workspaceId,
    paymentId: paidPayment!.id,
    chargeId: paidPayment!.chargeId,
    amountMinor: paidPayment!.amountMinor,
    currency: paidPayment!.currency,
    reason: "fraudulent",
    gatewayStatus: "needs_response",
    openedAt: recordedAt,
    createdAt: recordedAt,
  });
  clock.set(T0);
});
afterAll(async () => {
  await runtime.stop();
});

describe("reconciliation from Tally's side", () => {
  it("flags what Tally holds and the gateway does not, once each", async () => {
    expect(await runCron(runtime, reconcileWithGateway)).toBe(1);
    await drain(runtime);

    const [run] = await runtime.db.select().from(reconciliationRuns);
    expect(run?.driftsFound).toBe(4);
    expect((await drifts()).map((drift) => [drift.kind, drift.gatewayObjectId])).toEqual([
      ["status_mismatch", "pi_fake_1"],
      ["status_mismatch", "pi_fake_failed"],
      ["refund_not_at_gateway", "re_fake_C"],
      ["dispute_not_at_gateway", "dp_fake_F"],
    ]);

    expect(await driftOf("pi_fake_1")).toMatchObject({
      workspaceId: seeded.workspace,
      paymentId: seeded.forgedPayment,
      amountMinor: STARTER.priceMinor,
      status: "open",
      details: {
        summary: "Tally counts this payment as succeeded; the gateway has no such payment",
        gateway: { paymentIntentId: "pi_fake_1", status: "missing" },
        tally: { paymentId: seeded.forgedPayment, status: "succeeded" },
      },
    });
    expect(await driftOf("pi_fake_failed")).toMatchObject({
      details: {
        summary: "Tally counts this payment as succeeded; the gateway says failed",
        gateway: { status: "failed" },
      },
    });
    expect(await driftOf("re_fake_C")).toMatchObject({
      workspaceId: seeded.workspace,
      amountMinor: 100_000,
      currency: "USD",
      details: { tally: { status: "succeeded", origin: "gateway" } },
    });
    expect(await driftOf("dp_fake_F")).toMatchObject({
      workspaceId: seeded.workspace,
      details: { gateway: { disputeId: "dp_fake_F", status: "missing" } },
    });
    // The paid purchase agrees on both sides.
    expect((await drifts()).some((drift) => drift.gatewayObjectId === seeded.paidIntent)).toBe(
      false,
    );
  });

  it("finds nothing new when runs see the same records again", async () => {
    clock.set(new Date(T0.getTime() + 86_400_000));
    await runCron(runtime, reconcileWithGateway);
    // As if the runs had been lost: the next one covers everything again.
    await runtime.db
      .update(reconciliationRuns)
      .set({ windowEnd: sql`(select min(window_start) from reconciliation_runs)` });
    await runCron(runtime, reconcileWithGateway);
    await drain(runtime);

    const runs = await runtime.db
      .select()
      .from(reconciliationRuns)
      .orderBy(asc(reconciliationRuns.startedAt), asc(reconciliationRuns.windowEnd));
    expect(runs).toHaveLength(3);
    expect(runs.slice(1).map((run) => run.driftsFound)).toEqual([0, 0]);
    // The last run looked up the four again (and the paid purchase's side agrees).
    expect(runs[2]!.checked).toBeGreaterThanOrEqual(4);
    expect(await drifts()).toHaveLength(4);
  });

  it("offers no repair, only dismiss with what to check by hand", async () => {
    const admin = await callerFor(runtime, adminId);
    const { rows } = await admin.adminReconciliation.drifts({ statuses: ["open"] });
    expect(rows).toHaveLength(4);
    for (const row of rows) {
      expect(row.repairLabel).toBeNull();
      expect(row.manual).toMatch(/by hand/);
    }

    for (const objectId of ["pi_fake_1", "pi_fake_failed", "re_fake_C", "dp_fake_F"]) {
      const drift = await driftOf(objectId);
      await expect(admin.adminReconciliation.repair({ driftId: drift.id })).rejects.toThrow(
        /by hand/,
      );
      expect((await driftOf(objectId)).status).toBe("open");
    }

    const forged = await driftOf("pi_fake_1");
    await admin.adminReconciliation.dismiss({
      driftId: forged.id,
      reason: "No such payment in the dashboard; purchase voided by hand",
    });
    expect(await driftOf("pi_fake_1")).toMatchObject({ status: "dismissed", resolvedBy: adminId });
  });

  it("treats a stored payment drift the gateway did not take as manual, even without a note", () => {
    expect(
      remedyOf({
        kind: "status_mismatch",
        details: { summary: "…", gateway: { status: "failed" }, tally: null },
      }),
    ).toHaveProperty("manual");
    expect(
      remedyOf({
        kind: "status_mismatch",
        details: { summary: "…", gateway: { status: "succeeded" }, tally: null },
      }),
    ).toEqual({ label: "Re-apply the gateway's payment" });
  });
});
