import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { disputes, paymentRefunds, reconciliationDrifts, simulatedObjects } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { seedPacks } from "@/server/db/seed";
import type { Runtime } from "@/server/runtime";
import { buyPaidPack } from "@/test/support/purchases";
import {
  callerFor,
  drain,
  expectLedgerInvariant,
  makeUser,
  makeWorkspace,
  runCron,
  testRuntime,
} from "@/test/support/runtime";

import { handlesEventType } from "./reactions";
import { reconcileWithGateway } from "./reconciliation";

/**
 * Repairs of refunds and disputes, through the handlers of charge.refunded and
 * charge.dispute.created. Each runs once those handlers are part of the build.
 */
const clock = new ManualClock("2027-06-10T01:00:00Z");
let runtime: Runtime;
let workspaceId: string;
let intentId: string;
let chargeId: string;
const unix = (iso: string) => Date.parse(iso) / 1000;

async function store(type: string, data: Record<string, unknown> & { id: string }) {
  await runtime.db.insert(simulatedObjects).values({
    id: data.id,
    type: type as (typeof simulatedObjects.$inferInsert)["type"],
    data,
  });
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
  const owner = await makeWorkspace(runtime);
  workspaceId = owner.workspaceId;
  const paid = await buyPaidPack(runtime, owner, seedPacks[0]!.id);
  intentId = paid.paymentIntentId!;
  const [row] = await runtime.db
    .select({ data: simulatedObjects.data })
    .from(simulatedObjects)
    .where(eq(simulatedObjects.id, intentId));
  chargeId = row!.data.latest_charge as string;

  // Made at the gateway without Tally hearing of them: a refund and a dispute.
  await runtime.db.execute(
    `update simulated_objects set data = data || '{"amount_refunded": 100}' where id in ('${intentId}', '${chargeId}')`,
  );
  await store("refund", {
    id: "re_simRepairA",
    object: "refund",
    amount: 100,
    charge: chargeId,
    payment_intent: intentId,
    currency: "usd",
    metadata: {},
    status: "succeeded",
    created: unix("2027-06-10T01:30:00Z"),
  });
  await store("dispute", {
    id: "dp_simRepairA",
    object: "dispute",
    charge: chargeId,
    payment_intent: intentId,
    amount: 900,
    currency: "usd",
    reason: "fraudulent",
    status: "needs_response",
    created: unix("2027-06-10T01:40:00Z"),
  });
  clock.set("2027-06-10T03:00:00Z");
  await runCron(runtime, reconcileWithGateway);
  await drain(runtime);
});
afterAll(async () => {
  await runtime.stop();
});

describe("repairs through the refund and dispute handlers", () => {
  it.skipIf(!handlesEventType("charge.refunded"))(
    "records a refund made at the gateway, once",
    async () => {
      const admin = await callerFor(
        runtime,
        (await makeUser(runtime, { isPlatformAdmin: true })).id,
      );
      const drift = await driftOf("re_simRepairA");
      expect(drift).toMatchObject({ kind: "refund_not_in_ledger", workspaceId });

      expect(await admin.adminReconciliation.repair({ driftId: drift.id })).toMatchObject({
        status: "repaired",
        applied: "charge.refunded",
      });
      await drain(runtime);
      const recorded = await runtime.db
        .select()
        .from(paymentRefunds)
        .where(eq(paymentRefunds.gatewayRefundId, "re_simRepairA"));
      expect(recorded).toHaveLength(1);
      await expectLedgerInvariant(runtime, workspaceId);
    },
  );

  it.skipIf(!handlesEventType("charge.dispute.created"))(
    "records a dispute Tally never heard of, once",
    async () => {
      const admin = await callerFor(
        runtime,
        (await makeUser(runtime, { isPlatformAdmin: true })).id,
      );
      const drift = await driftOf("dp_simRepairA");
      expect(drift).toMatchObject({ kind: "dispute_not_recorded", workspaceId });

      expect(await admin.adminReconciliation.repair({ driftId: drift.id })).toMatchObject({
        status: "repaired",
        applied: "charge.dispute.created",
      });
      await drain(runtime);
      const recorded = await runtime.db
        .select()
        .from(disputes)
        .where(eq(disputes.gatewayDisputeId, "dp_simRepairA"));
      expect(recorded).toHaveLength(1);
      await expectLedgerInvariant(runtime, workspaceId);
    },
  );
});
