import { and, eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { autoTopUps, creditPurchases, invoiceLines, invoices } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { uuidFromName } from "@/server/credits/purchases";
import { seedPacks } from "@/server/db/seed";
import type { EventEnvelope } from "@/server/events/catalogue";
import { wasHandled } from "@/server/events/reactions";
import type { Runtime } from "@/server/runtime";
import { TIER_FEATURES } from "@/server/workspaces/tiers";
import { sweepCycles } from "@/test/support/billing";
import { consume } from "@/test/support/credits";
import { gatewayCustomerOf, simulatedGatewayOf } from "@/test/support/purchases";
import {
  callerFor,
  drain,
  expectLedgerInvariant,
  makeWorkspace,
  testRuntime,
} from "@/test/support/runtime";
import { eventsNamed, makeTier } from "@/test/support/tiers";

import { autoPurchaseOnOverage } from "./overage-charges";

// Workspaces created now have periods from the 2nd of each month, 08:00 UTC.
const created = "2027-04-02T08:00:00Z";
const periodEnded = "2027-05-02T08:00:01Z";
const clock = new ManualClock(created);
const STARTER = seedPacks[0]!;
let runtime: Runtime;
let withAutoTopUp: string;
let withoutAutoTopUp: string;
const touched = new Set<string>();

beforeAll(async () => {
  runtime = await testRuntime({ clock });
  // Overage builds up under a soft cap; 1,000 credits a month, overage at 20 per 100 credits.
  const terms = {
    overagePolicy: "soft_cap" as const,
    overageCapCredits: 500,
    overageUnitCredits: 100,
    overageUnitPriceMinor: 20,
  };
  withAutoTopUp = (await makeTier(runtime, terms)).code;
  withoutAutoTopUp = (
    await makeTier(runtime, {
      ...terms,
      features: TIER_FEATURES.filter((feature) => feature !== "auto_top_up"),
    })
  ).code;
});
afterEach(async () => {
  for (const workspaceId of touched) await expectLedgerInvariant(runtime, workspaceId);
  touched.clear();
});
afterAll(async () => {
  await runtime.stop();
});

/** Auto top-up of Starter, as the workspace's settings say, on or off. */
function autoTopUpSettings(workspaceId: string, enabled: boolean) {
  return {
    workspaceId,
    enabled,
    packId: STARTER.id,
    thresholdCredits: 10,
    monthlyLimit: 3,
  };
}

/**
 * A workspace on `tierCode` created at the period's start, its auto top-up
 * set as given, with a card saved at the gateway (4242…) to charge.
 */
async function workspace(tierCode: string, enabled: boolean) {
  clock.set(created);
  const made = await makeWorkspace(runtime, { tierCode });
  touched.add(made.workspaceId);
  await simulatedGatewayOf(runtime).saveCard(
    await gatewayCustomerOf(runtime, made.workspaceId),
    "4242424242424242",
  );
  const settings = autoTopUpSettings(made.workspaceId, enabled);
  if (tierCode === withAutoTopUp) {
    const caller = await callerFor(runtime, made.userId);
    await caller.credits.autoTopUp.set(settings);
  } else {
    // The tier refuses the setting; a workspace keeps the one it chose on an earlier tier.
    await runtime.db.insert(autoTopUps).values({ ...settings, updatedAt: clock.now() });
  }

  return made;
}

/** 1,200 credits used of the 1,000 allowance: 200 of overage. Then the period ends. */
async function overageThenPeriodEnd(workspaceId: string) {
  clock.set("2027-04-20T10:00:00Z");
  const used = await consume(runtime, workspaceId, 1_200);
  expect(used.overageCredits).toBe(200);
  await drain(runtime);
  const before = await topUps(workspaceId);
  clock.set(periodEnded);
  await sweepCycles(runtime);

  const [charged, ...more] = await eventsNamed(runtime, workspaceId, "billing/overage-charged");
  expect(more).toEqual([]);
  expect(charged?.data).toMatchObject({ credits: 200, amountMinor: 40, currency: "USD" });
  const overage = await runtime.db
    .select({ amountMinor: invoiceLines.amountMinor, quantity: invoiceLines.quantity })
    .from(invoiceLines)
    .where(
      and(
        eq(invoiceLines.invoiceId, String(charged!.data.invoiceId)),
        eq(invoiceLines.kind, "overage"),
      ),
    );
  expect(overage).toEqual([{ amountMinor: 40, quantity: 200 }]);
  const bought = (await topUps(workspaceId)).filter(
    (purchase) => !before.some((earlier) => earlier.id === purchase.id),
  );

  return { charged: charged!, bought };
}

async function topUps(workspaceId: string) {
  return runtime.db
    .select()
    .from(creditPurchases)
    .where(
      and(eq(creditPurchases.workspaceId, workspaceId), eq(creditPurchases.origin, "auto_top_up")),
    );
}

describe("auto purchase after overage is charged", () => {
  it("buys the chosen pack once when the tier includes auto top-up and the workspace has it on", async () => {
    const { workspaceId } = await workspace(withAutoTopUp, true);
    const { charged, bought } = await overageThenPeriodEnd(workspaceId);

    // One purchase for the overage charged, named by that event, on top of any the threshold asked.
    expect(bought).toHaveLength(1);
    const [purchase] = bought;
    expect(purchase).toMatchObject({
      id: uuidFromName(`auto-top-up:${charged.id}`),
      status: "paid",
      credits: 5_000,
      amountMinor: 900,
    });
    expect(
      await runtime.db.select().from(invoices).where(eq(invoices.purchaseId, purchase!.id)),
    ).toHaveLength(1);

    // Delivered again past the inbox, it buys nothing more.
    const delivered: EventEnvelope<"billing/overage-charged"> = {
      id: charged.id,
      name: "billing/overage-charged",
      version: charged.version,
      workspaceId,
      streamSeq: charged.streamSeq,
      object: { type: "invoice", id: String(charged.data.invoiceId) },
      occurredAt: charged.occurredAt,
      causationId: null,
      data: charged.data as EventEnvelope<"billing/overage-charged">["data"],
    };
    const count = (await topUps(workspaceId)).length;
    await runtime.db.transaction((tx) =>
      autoPurchaseOnOverage({
        tx,
        event: delivered,
        deps: runtime.executeDeps,
        log: runtime.logger,
      }),
    );
    await drain(runtime);
    expect(await topUps(workspaceId)).toHaveLength(count);
  });

  it("buys nothing when the workspace has auto top-up off", async () => {
    const { workspaceId } = await workspace(withAutoTopUp, false);
    const { charged, bought } = await overageThenPeriodEnd(workspaceId);

    expect(await wasHandled(runtime.db, "billing-overage-auto-purchase", charged.id)).toBe(true);
    expect(bought).toEqual([]);
  });

  it("buys nothing when the tier does not include auto top-up", async () => {
    const { workspaceId } = await workspace(withoutAutoTopUp, true);
    const { charged, bought } = await overageThenPeriodEnd(workspaceId);

    expect(await wasHandled(runtime.db, "billing-overage-auto-purchase", charged.id)).toBe(true);
    expect(bought).toEqual([]);
  });
});
