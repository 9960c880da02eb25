import { randomUUID } from "node:crypto";

import { and, eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  creditBalances,
  creditGrants,
  creditPurchases,
  notifications,
  outbox,
  payments,
  stripeEvents,
  workspaceMembers,
  workspaces,
} from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { seedPacks } from "@/server/db/seed";
import type { WireEvent } from "@/server/events/reactions";
import type { SimulatedCard } from "@/server/payments/simulated";
import type { Runtime } from "@/server/runtime";
import { consume } from "@/test/support/credits";
import { failure } from "@/test/support/failure";
import { buyPaidPack, gatewayCustomerOf, simulatedGatewayOf } from "@/test/support/purchases";
import {
  callerFor,
  drain,
  expectLedgerInvariant,
  makeUser,
  makeWorkspace,
  testRuntime,
} from "@/test/support/runtime";

import { monthStart } from "./auto-top-up";
import { freeWithEveryFeature } from "@/test/support/tiers";

// Late on the last day of a month, so a test can reach the next month in a few hours.
const clock = new ManualClock("2027-05-31T20:00:00Z");
const STARTER = seedPacks[0];
let runtime: Runtime;
/** A tier on Free's terms with every feature; see test/support/tiers.ts. */
let everyFeature: string;
const touched = new Set<string>();

beforeAll(async () => {
  runtime = await testRuntime({ clock });
  everyFeature = (await freeWithEveryFeature(runtime)).code;
});
afterEach(async () => {
  for (const workspaceId of touched) await expectLedgerInvariant(runtime, workspaceId);
  touched.clear();
});
afterAll(async () => {
  await runtime.stop();
});

/**
 * A workspace on Free's terms (1,250 credits) with auto top-up, which Free
 * itself lacks, and a card saved at the gateway (4242…, which pays) unless
 * told otherwise: off-session charges need one.
 */
async function workspace(options: { card?: SimulatedCard | null } = {}) {
  const created = await makeWorkspace(runtime, { tierCode: everyFeature });
  touched.add(created.workspaceId);
  const card = options.card === undefined ? "4242424242424242" : options.card;
  if (card) {
    await simulatedGatewayOf(runtime).saveCard(
      await gatewayCustomerOf(runtime, created.workspaceId),
      card,
    );
  }

  return { ...created, caller: await callerFor(runtime, created.userId) };
}

const settings = (workspaceId: string, change: Record<string, unknown> = {}) => ({
  workspaceId,
  enabled: true,
  packId: STARTER.id,
  thresholdCredits: 1_000,
  monthlyLimit: 3,
  ...change,
});

async function topUps(workspaceId: string) {
  return runtime.db
    .select()
    .from(creditPurchases)
    .where(
      and(eq(creditPurchases.workspaceId, workspaceId), eq(creditPurchases.origin, "auto_top_up")),
    );
}

async function failureNotices(workspaceId: string) {
  return runtime.db
    .select()
    .from(notifications)
    .where(
      and(
        eq(notifications.workspaceId, workspaceId),
        eq(notifications.type, "credits.top_up_failed"),
      ),
    );
}

async function balanceOf(workspaceId: string) {
  const [row] = await runtime.db
    .select()
    .from(creditBalances)
    .where(eq(creditBalances.workspaceId, workspaceId));

  return row!;
}

describe("auto top-up settings", () => {
  it("saves the settings and the threshold the ledger watches; off clears it", async () => {
    const { workspaceId, caller } = await workspace();
    const saved = await caller.credits.autoTopUp.set(settings(workspaceId));

    expect(saved).toMatchObject({ enabled: true, thresholdCredits: 1_000, topUpAsked: false });
    expect(await caller.credits.autoTopUp.get({ workspaceId })).toEqual({
      enabled: true,
      packId: STARTER.id,
      packName: "Starter",
      packArchived: false,
      thresholdCredits: 1_000,
      monthlyLimit: 3,
      usedThisMonth: 0,
    });
    expect(await balanceOf(workspaceId)).toMatchObject({
      topUpThreshold: 1_000,
      belowTopUp: false,
    });

    await caller.credits.autoTopUp.set(settings(workspaceId, { enabled: false }));
    expect(await balanceOf(workspaceId)).toMatchObject({ topUpThreshold: null, belowTopUp: false });
    await consume(runtime, workspaceId, 500);
    await drain(runtime);
    expect(await topUps(workspaceId)).toHaveLength(0);
  });

  it.each([
    [{ thresholdCredits: 0 }, "thresholdCredits"],
    [{ monthlyLimit: 0 }, "monthlyLimit"],
    [{ monthlyLimit: 101 }, "monthlyLimit"],
    [{ packId: randomUUID() }, "packId"],
  ])("refuses %o, naming the field", async (change, field) => {
    const { workspaceId, caller } = await workspace();

    expect(
      await failure(caller.credits.autoTopUp.set(settings(workspaceId, change))),
    ).toMatchObject({ appCode: "invalid_request", field });
  });

  it("is for billing members and up", async () => {
    const { workspaceId } = await workspace();
    const member = await makeUser(runtime);
    await runtime.db
      .insert(workspaceMembers)
      .values({ workspaceId, userId: member.id, role: "member" });
    const caller = await callerFor(runtime, member.id);

    expect(await failure(caller.credits.autoTopUp.set(settings(workspaceId)))).toMatchObject({
      code: "FORBIDDEN",
    });
  });
});

describe("topping up automatically", () => {
  it("buys the chosen pack once when the balance falls below the threshold", async () => {
    const { workspaceId, caller } = await workspace();
    await caller.credits.autoTopUp.set(settings(workspaceId));
    await consume(runtime, workspaceId, 200);
    await drain(runtime);
    expect(await topUps(workspaceId)).toHaveLength(0);

    await consume(runtime, workspaceId, 100);
    await drain(runtime);

    const [purchase, ...more] = await topUps(workspaceId);
    expect(more).toHaveLength(0);
    expect(purchase).toMatchObject({
      status: "paid",
      credits: 5_000,
      amountMinor: 900,
      paymentIntentId: expect.stringMatching(/^pi_sim/),
    });
    expect(
      await runtime.db.select().from(creditGrants).where(eq(creditGrants.purchaseId, purchase!.id)),
    ).toHaveLength(1);
    expect((await caller.credits.balance({ workspaceId })).balance).toBe(950 + 5_000);
    const purchased = await runtime.db
      .select()
      .from(outbox)
      .where(and(eq(outbox.workspaceId, workspaceId), eq(outbox.name, "credits/purchased")));
    expect(purchased.map((row) => row.data.origin)).toEqual(["auto_top_up"]);
    // The gateway's webhook for the same payment arrived too, and found the purchase paid.
    const [webhook] = await runtime.db
      .select()
      .from(stripeEvents)
      .where(eq(stripeEvents.type, "payment_intent.succeeded"))
      .then((rows) =>
        rows.filter(
          (row) =>
            (row.payload.data as { object: { id: string } }).object.id ===
            purchase!.paymentIntentId,
        ),
      );
    expect(webhook?.processedAt).not.toBeNull();
    expect((await caller.credits.autoTopUp.get({ workspaceId })).usedThisMonth).toBe(1);
    // One payment row, whichever of the charge's answer and its webhook came first.
    expect(
      await runtime.db.select().from(payments).where(eq(payments.purchaseId, purchase!.id)),
    ).toMatchObject([
      {
        kind: "purchase",
        trigger: "auto_top_up",
        status: "succeeded",
        paymentIntentId: purchase!.paymentIntentId,
        amountMinor: 900,
        paymentMethodLabel: "Visa ending 4242",
      },
    ]);
  });

  it("asks at once when turned on below the threshold", async () => {
    const { workspaceId, caller } = await workspace();
    const saved = await caller.credits.autoTopUp.set(
      settings(workspaceId, { thresholdCredits: 2_000 }),
    );
    expect(saved.topUpAsked).toBe(true);
    await drain(runtime);

    expect((await topUps(workspaceId)).map((purchase) => purchase.status)).toEqual(["paid"]);
  });

  it("notifies the billing members once when the card is declined, and does not retry", async () => {
    const { workspaceId, caller } = await workspace();
    await simulatedGatewayOf(runtime).saveCard(
      await gatewayCustomerOf(runtime, workspaceId),
      "4000000000000341",
    );
    await caller.credits.autoTopUp.set(settings(workspaceId, { thresholdCredits: 2_000 }));
    await drain(runtime);

    const [purchase, ...more] = await topUps(workspaceId);
    expect(more).toHaveLength(0);
    expect(purchase).toMatchObject({ status: "failed", failureReason: "Your card was declined." });
    expect(
      await runtime.db.select().from(payments).where(eq(payments.purchaseId, purchase!.id)),
    ).toMatchObject([
      {
        trigger: "auto_top_up",
        status: "failed",
        failureMessage: "Your card was declined.",
        failureCode: expect.any(String),
        amountMinor: 900,
        paymentMethodLabel: "Visa ending 0341",
      },
    ]);
    const failed = await runtime.db
      .select()
      .from(outbox)
      .where(and(eq(outbox.workspaceId, workspaceId), eq(outbox.name, "credits/top-up-failed")));
    expect(failed.map((row) => row.data)).toEqual([
      { workspaceId, purchaseId: purchase!.id, reason: "Your card was declined." },
    ]);
    const notices = await failureNotices(workspaceId);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({
      title: "Auto top-up failed",
      link: expect.stringMatching(/\/credits$/),
    });

    // Saving the settings again while still below asks for nothing new.
    const saved = await caller.credits.autoTopUp.set(
      settings(workspaceId, { thresholdCredits: 2_000 }),
    );
    expect(saved.topUpAsked).toBe(false);
    await drain(runtime);
    expect(await topUps(workspaceId)).toHaveLength(1);
    expect(await failureNotices(workspaceId)).toHaveLength(1);
    expect((await caller.credits.balance({ workspaceId })).balance).toBe(1_250);
  });

  it("fails without a saved card, and says so", async () => {
    const { workspaceId, caller } = await workspace({ card: null });
    await caller.credits.autoTopUp.set(settings(workspaceId, { thresholdCredits: 2_000 }));
    await drain(runtime);

    const [purchase] = await topUps(workspaceId);
    expect(purchase).toMatchObject({
      status: "failed",
      paymentIntentId: null,
      failureReason: expect.stringMatching(/^No saved card to charge/),
    });
    expect(await failureNotices(workspaceId)).toHaveLength(1);
    expect((await caller.credits.balance({ workspaceId })).balance).toBe(1_250);
  });

  it("stops at the monthly limit and says so; the next month buys again", async () => {
    const { workspaceId, caller } = await workspace();
    await caller.credits.autoTopUp.set(settings(workspaceId, { monthlyLimit: 1 }));
    await consume(runtime, workspaceId, 300);
    await drain(runtime);
    expect(await topUps(workspaceId)).toHaveLength(1);

    await consume(runtime, workspaceId, 5_000);
    await drain(runtime);
    expect(await topUps(workspaceId)).toHaveLength(1);
    const notices = await failureNotices(workspaceId);
    expect(notices).toHaveLength(1);
    expect(notices[0]?.body).toMatch(/limit of 1 auto top-ups is reached; it resets on June 1/);

    // Back above the threshold, then below again, in June.
    clock.set("2027-06-01T01:00:00Z");
    expect(monthStart(clock.now()).toISOString()).toBe("2027-06-01T00:00:00.000Z");
    await caller.credits.purchases
      .start({ workspaceId, packId: STARTER.id })
      .then(async ({ purchaseId }) => {
        const [row] = await runtime.db
          .select()
          .from(creditPurchases)
          .where(eq(creditPurchases.id, purchaseId));
        await simulatedGatewayOf(runtime).payCheckoutSession(
          row!.checkoutSessionId!,
          "4242424242424242",
        );
      });
    await drain(runtime);
    await consume(runtime, workspaceId, 5_000);
    await drain(runtime);
    expect((await topUps(workspaceId)).map((purchase) => purchase.status)).toEqual([
      "paid",
      "paid",
    ]);
    expect(await failureNotices(workspaceId)).toHaveLength(1);
  });

  it("does not buy for a refund, and buys on the next drop below the threshold", async () => {
    const { workspaceId, userId, caller } = await workspace();
    const purchase = await buyPaidPack(runtime, { workspaceId, userId }, STARTER.id); // 6,250
    await caller.credits.autoTopUp.set(settings(workspaceId));
    await consume(runtime, workspaceId, 4_000); // 2,250: above the threshold
    await caller.credits.purchases.refund({
      workspaceId,
      purchaseId: purchase.id,
      credits: 1_500,
      reason: "Bought too many",
    });
    await drain(runtime);
    expect(await topUps(workspaceId)).toHaveLength(0); // 750 after the refund: no purchase for it

    await consume(runtime, workspaceId, 700); // 50: usage crossing down is a crossing
    await drain(runtime);
    expect(await topUps(workspaceId)).toHaveLength(1);
    expect((await consume(runtime, workspaceId, 100)).allowed).toBe(true);
  });

  it("charges nothing while the workspace is suspended, where buying by checkout still works", async () => {
    const { workspaceId, caller } = await workspace();
    await caller.credits.autoTopUp.set(settings(workspaceId));
    await runtime.db
      .update(workspaces)
      .set({ status: "suspended" })
      .where(eq(workspaces.id, workspaceId));
    // A suspended workspace consumes nothing, but an admin's correction still moves its balance.
    const admin = await callerFor(runtime, (await makeUser(runtime, { isPlatformAdmin: true })).id);
    await admin.credits.admin.adjust({ workspaceId, credits: -300, reason: "Chargeback" }); // 950
    await drain(runtime);

    expect(await topUps(workspaceId)).toHaveLength(0);
    // A person may still buy credits for the workspace; the automatic purchase stays off.
    expect(await caller.credits.purchases.start({ workspaceId, packId: STARTER.id })).toMatchObject(
      { checkoutUrl: expect.any(String) },
    );
    expect(await topUps(workspaceId)).toHaveLength(0);
  });

  it("keeps one top-up in flight, however many are asked for at once", async () => {
    const { workspaceId, caller } = await workspace();
    await caller.credits.autoTopUp.set(settings(workspaceId));
    await consume(runtime, workspaceId, 300);
    const due = (): WireEvent => ({
      id: randomUUID(),
      name: "credits/top-up-due",
      version: 1,
      workspaceId,
      streamSeq: 0,
      object: { type: "credit_balance", id: workspaceId },
      occurredAt: clock.now().toISOString(),
      causationId: null,
      data: { workspaceId, balance: 950, threshold: 1_000 },
    });

    await Promise.all([1, 2, 3].map(() => runtime.runReaction("credits-auto-top-up", due())));
    await drain(runtime);

    expect((await topUps(workspaceId)).map((purchase) => purchase.status)).toEqual(["paid"]);
    expect((await caller.credits.balance({ workspaceId })).balance).toBe(950 + 5_000);
  });

  it("buys nothing while a top-up is still waiting for the gateway", async () => {
    const { workspaceId, caller } = await workspace();
    await caller.credits.autoTopUp.set(settings(workspaceId));
    // A top-up whose payment the gateway reported as processing.
    await runtime.db.insert(creditPurchases).values({
      workspaceId,
      packId: STARTER.id,
      credits: 5_000,
      amountMinor: 900,
      currency: "USD",
      origin: "auto_top_up",
      gateway: "simulated",
      createdAt: clock.now(),
    });
    await consume(runtime, workspaceId, 300);
    await drain(runtime);

    expect((await topUps(workspaceId)).map((purchase) => purchase.status)).toEqual(["pending"]);
    expect(await failureNotices(workspaceId)).toHaveLength(0);
  });
});
