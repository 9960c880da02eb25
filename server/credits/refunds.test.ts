import { and, eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  creditGrants,
  creditLedgerEntries,
  creditPurchases,
  creditRefunds,
  deadLetters,
  outbox,
  simulatedObjects,
  workspaceMembers,
} from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import { seedPacks } from "@/server/db/seed";
import type { Runtime } from "@/server/runtime";
import { consume } from "@/test/support/credits";
import { failure } from "@/test/support/failure";
import { buyPaidPack, simulatedGatewayOf } from "@/test/support/purchases";
import {
  callerFor,
  countRows,
  drain,
  expectLedgerInvariant,
  makeUser,
  makeWorkspace,
  testRuntime,
} from "@/test/support/runtime";

import { placeHold } from "./holds";
import { freeWithEveryFeature } from "@/test/support/tiers";

const clock = new ManualClock("2027-04-05T10:00:00Z");
const STARTER = seedPacks[0];
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

/**
 * A workspace on Free's terms (1,000 allowance + 250 bonus) that bought the Starter pack (5,000
 * for $9); its tier has auto top-up, which Free itself lacks.
 */
async function withPurchase(packId: string = STARTER.id) {
  const workspace = await makeWorkspace(runtime, {
    tierCode: (await freeWithEveryFeature(runtime)).code,
  });
  touched.add(workspace.workspaceId);
  const purchase = await buyPaidPack(runtime, workspace, packId);

  return { ...workspace, purchase, caller: await callerFor(runtime, workspace.userId) };
}

async function refundRow(refundId: string) {
  const [row] = await runtime.db.select().from(creditRefunds).where(eq(creditRefunds.id, refundId));

  return row!;
}

describe("refunding purchased credits", () => {
  it("gives back the unused credits of a purchase pro rata, and the money at the gateway", async () => {
    const { workspaceId, purchase, caller } = await withPurchase();
    // The allowance and the bonus go first; 1,000 of the purchased credits are used.
    await consume(runtime, workspaceId, 2_250);
    const [listed] = await caller.credits.purchases.list({ workspaceId });
    expect(listed).toMatchObject({ refundableCredits: 4_000, refundableMinor: 720 });

    const refund = await caller.credits.purchases.refund({
      workspaceId,
      purchaseId: purchase.id,
      reason: "Bought the wrong pack",
    });
    expect(refund).toMatchObject({
      credits: 4_000,
      amountMinor: 720,
      currency: "USD",
      balanceAfter: 0,
      replayed: false,
    });
    const entries = await runtime.db
      .select()
      .from(creditLedgerEntries)
      .where(
        and(
          eq(creditLedgerEntries.workspaceId, workspaceId),
          eq(creditLedgerEntries.kind, "refund"),
        ),
      );
    expect(entries).toEqual([
      expect.objectContaining({ grantId: purchase.grantId, amount: -4_000, balanceAfter: 0 }),
    ]);
    expect(await refundRow(refund.refundId)).toMatchObject({ status: "pending" });

    await drain(runtime);
    const settled = await refundRow(refund.refundId);
    expect(settled).toMatchObject({
      status: "succeeded",
      gatewayRefundId: expect.stringMatching(/^re_sim/),
    });
    const [intent] = await runtime.db
      .select()
      .from(simulatedObjects)
      .where(eq(simulatedObjects.id, purchase.paymentIntentId!));
    expect(intent?.data.amount_refunded).toBe(720);
    expect(
      await countRows(
        runtime,
        "outbox",
        `name = 'credits/refunded' AND workspace_id = '${workspaceId}'`,
      ),
    ).toBe(1);
    expect(
      await caller.credits.purchases.get({ workspaceId, purchaseId: purchase.id }),
    ).toMatchObject({
      refundedCredits: 4_000,
      refundedMinor: 720,
      refundableCredits: 0,
      refunds: [{ id: refund.refundId, status: "succeeded", credits: 4_000, amountMinor: 720 }],
    });

    expect(
      await failure(
        caller.credits.purchases.refund({ workspaceId, purchaseId: purchase.id, reason: "Again" }),
      ),
    ).toMatchObject({ appCode: "invalid_request", field: "credits" });
  });

  it("counts earlier refunds, so partial refunds never add up to more than was paid", async () => {
    const admin = await callerFor(runtime, (await makeUser(runtime, { isPlatformAdmin: true })).id);
    const pack = await admin.credits.packs.create({
      name: "Three for a dollar",
      credits: 3,
      priceMinor: 100,
      currency: "USD",
    });
    const { workspaceId, purchase, caller } = await withPurchase(pack.id);

    const amounts = [];
    for (const reason of ["one", "two", "three"]) {
      const refund = await caller.credits.purchases.refund({
        workspaceId,
        purchaseId: purchase.id,
        credits: 1,
        reason: `Refund ${reason}`,
      });
      amounts.push(refund.amountMinor);
    }
    await drain(runtime);

    expect(amounts).toEqual([33, 34, 33]);
    const [intent] = await runtime.db
      .select()
      .from(simulatedObjects)
      .where(eq(simulatedObjects.id, purchase.paymentIntentId!));
    expect(intent?.data.amount_refunded).toBe(100);
  });

  it("never gives back more than is unused on that purchase: consumed and held credits stay", async () => {
    const { workspaceId, purchase, caller } = await withPurchase();
    // A second, later purchase: equal grants are drawn oldest first.
    clock.advance(60_000);
    await buyPaidPack(runtime, { workspaceId, userId: (await caller.auth.me())!.id }, STARTER.id);
    await consume(runtime, workspaceId, 1_250 + 500);
    await execute(
      runtime,
      placeHold,
      { workspaceId, credits: 1_000 },
      { actor: { type: "system", reason: "test" } },
    );
    const refund = (credits: number) =>
      caller.credits.purchases.refund({
        workspaceId,
        purchaseId: purchase.id,
        credits,
        reason: "Too many",
      });

    // 500 consumed and 1,000 held from the first purchase; the second purchase's credits do not count.
    expect(await failure(refund(3_501))).toMatchObject({
      appCode: "invalid_request",
      field: "credits",
      message: "Only 3,500 credits of this purchase are unused",
    });
    expect((await refund(3_500)).amountMinor).toBe(630);
    const [grant] = await runtime.db
      .select()
      .from(creditGrants)
      .where(eq(creditGrants.id, purchase.grantId!));
    expect(grant?.remaining).toBe(0);
  });

  it.each([
    ["a purchase that is not paid", "pending", "invalid_request", "purchaseId"],
    ["another workspace's purchase", "foreign", "not_found", "purchaseId"],
    ["a reason that says nothing", "reason", "invalid_request", "reason"],
    ["no credits at all", "zero", "invalid_request", "credits"],
  ])("refuses %s", async (_, kind, appCode, field) => {
    const { workspaceId, purchase, caller } = await withPurchase();
    let purchaseId = purchase.id;
    if (kind === "pending") {
      purchaseId = (await caller.credits.purchases.start({ workspaceId, packId: STARTER.id }))
        .purchaseId;
    }
    if (kind === "foreign") purchaseId = (await withPurchase()).purchase.id;

    expect(
      await failure(
        caller.credits.purchases.refund({
          workspaceId,
          purchaseId,
          reason: kind === "reason" ? " " : "Not needed",
          ...(kind === "zero" ? { credits: 0 } : {}),
        }),
      ),
    ).toMatchObject({ appCode, field });
  });

  it("is for billing members and up", async () => {
    const { workspaceId, purchase } = await withPurchase();
    const member = await makeUser(runtime);
    await runtime.db
      .insert(workspaceMembers)
      .values({ workspaceId, userId: member.id, role: "member" });
    const caller = await callerFor(runtime, member.id);

    expect(
      await failure(
        caller.credits.purchases.refund({
          workspaceId,
          purchaseId: purchase.id,
          reason: "Mine now",
        }),
      ),
    ).toMatchObject({ code: "FORBIDDEN" });
  });

  it("refunds once per form: a resent request returns the first answer", async () => {
    const { workspaceId, purchase, caller } = await withPurchase();
    const request = {
      workspaceId,
      purchaseId: purchase.id,
      credits: 1_000,
      reason: "Double click",
      idempotencyKey: "refund-form-1",
    };
    const first = await caller.credits.purchases.refund(request);
    const second = await caller.credits.purchases.refund(request);

    expect(second).toEqual({ ...first, replayed: true });
    expect(await countRows(runtime, "credit_refunds", `purchase_id = '${purchase.id}'`)).toBe(1);
    expect(
      await failure(caller.credits.purchases.refund({ ...request, credits: 2_000 })),
    ).toMatchObject({ code: "CONFLICT", appCode: "idempotency_conflict" });
  });

  it("does not set off an auto top-up by taking the balance below its threshold", async () => {
    const { workspaceId, purchase, caller } = await withPurchase();
    await caller.credits.autoTopUp.set({
      workspaceId,
      enabled: true,
      packId: STARTER.id,
      thresholdCredits: 3_000,
      monthlyLimit: 5,
    });
    await caller.credits.purchases.refund({
      workspaceId,
      purchaseId: purchase.id,
      reason: "Going",
    });
    await drain(runtime);

    expect(
      await countRows(
        runtime,
        "outbox",
        `name = 'credits/top-up-due' AND workspace_id = '${workspaceId}'`,
      ),
    ).toBe(0);
    expect(
      await runtime.db
        .select()
        .from(creditPurchases)
        .where(
          and(
            eq(creditPurchases.workspaceId, workspaceId),
            eq(creditPurchases.origin, "auto_top_up"),
          ),
        ),
    ).toHaveLength(0);
  });

  it("keeps a refund the gateway refuses pending, retries it, then dead-letters it for an admin", async () => {
    const { workspaceId, purchase, caller } = await withPurchase();
    // Someone refunded the whole payment at the gateway by hand, so Tally's refund cannot go through.
    await simulatedGatewayOf(runtime).refund(
      { paymentIntentId: purchase.paymentIntentId!, amountMinor: 900, metadata: {} },
      "refunded-by-hand",
    );
    const refund = await caller.credits.purchases.refund({
      workspaceId,
      purchaseId: purchase.id,
      reason: "Not needed",
    });
    for (let round = 0; round < 12; round++) {
      await drain(runtime);
      clock.advance(10 * 60_000);
    }

    const [dead] = await runtime.db
      .select()
      .from(deadLetters)
      .where(
        and(
          eq(deadLetters.reaction, "credits-refund-payment"),
          eq(deadLetters.workspaceId, workspaceId),
        ),
      );
    expect(dead).toMatchObject({ attempts: 9, error: expect.stringMatching(/exceeds the 0 left/) });
    expect(await refundRow(refund.refundId)).toMatchObject({ status: "pending" });
    // The credits the customer gave up stay refunded: what is owed is the money.
    expect((await caller.credits.balance({ workspaceId })).balance).toBe(1_250);
    const refunded = await runtime.db
      .select()
      .from(outbox)
      .where(and(eq(outbox.workspaceId, workspaceId), eq(outbox.name, "credits/refunded")));
    expect(refunded).toHaveLength(1);
  });
});

describe("refunds of disputed payments", () => {
  async function intentRefunded(paymentIntentId: string) {
    const [intent] = await runtime.db
      .select()
      .from(simulatedObjects)
      .where(eq(simulatedObjects.id, paymentIntentId));

    return Number(intent?.data.amount_refunded ?? 0);
  }

  async function settle() {
    for (let round = 0; round < 4; round++) {
      await drain(runtime);
      clock.advance(10 * 60_000);
    }
  }

  it("refuses a refund while the payment is disputed, before counting credits", async () => {
    const { workspaceId, purchase, caller } = await withPurchase();
    await simulatedGatewayOf(runtime).openDispute(purchase.paymentIntentId!);
    await drain(runtime);

    expect(
      await failure(
        caller.credits.purchases.refund({ workspaceId, purchaseId: purchase.id, reason: "Mine" }),
      ),
    ).toMatchObject({ appCode: "conflict", message: expect.stringMatching(/disputed/) });
    expect(await countRows(runtime, "credit_refunds", `purchase_id = '${purchase.id}'`)).toBe(0);
    await expect(
      simulatedGatewayOf(runtime).refund(
        { paymentIntentId: purchase.paymentIntentId!, amountMinor: 100, metadata: {} },
        `by-hand:${purchase.id}`,
      ),
    ).rejects.toThrow(/disputed/);
    expect(await intentRefunded(purchase.paymentIntentId!)).toBe(0);
  });

  it("does not send a refund asked for before a dispute opened; it fails and the credits stay refunded", async () => {
    const { workspaceId, purchase, caller } = await withPurchase();
    const refund = await caller.credits.purchases.refund({
      workspaceId,
      purchaseId: purchase.id,
      reason: "Not needed",
    });
    expect(refund).toMatchObject({ credits: 5_000, amountMinor: 900 });
    await simulatedGatewayOf(runtime).openDispute(purchase.paymentIntentId!);
    await settle();

    expect(await refundRow(refund.refundId)).toMatchObject({
      status: "failed",
      gatewayRefundId: null,
      failureReason: expect.stringMatching(/disputed/),
    });
    expect(await intentRefunded(purchase.paymentIntentId!)).toBe(0);
    expect((await caller.credits.balance({ workspaceId })).balance).toBe(1_250);
  });

  it("never sends back more than was paid when a refund and a dispute arrive at once", async () => {
    for (let run = 0; run < 3; run++) {
      const { workspaceId, purchase, caller } = await withPurchase();
      const gateway = simulatedGatewayOf(runtime);
      const [asked, dispute] = await Promise.allSettled([
        caller.credits.purchases.refund({ workspaceId, purchaseId: purchase.id, reason: "Race" }),
        gateway.openDispute(purchase.paymentIntentId!),
      ]);
      expect(dispute.status).toBe("fulfilled");
      await settle();
      if (dispute.status === "fulfilled")
        await gateway.closeDispute(dispute.value.disputeId, "lost");
      await settle();

      // The chargeback returns the whole 900; a refund on top would return more than was paid.
      expect(await intentRefunded(purchase.paymentIntentId!)).toBe(0);
      if (asked.status === "fulfilled") {
        expect(await refundRow(asked.value.refundId)).toMatchObject({ status: "failed" });
      } else {
        expect(asked.reason).toMatchObject({ code: "CONFLICT" });
      }
    }
  });
});
