import { randomUUID } from "node:crypto";

import { and, eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { creditPurchases, invoices } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { seedPacks } from "@/server/db/seed";
import { event, type EventEnvelope } from "@/server/events/catalogue";
import { writeEvents } from "@/server/events/outbox";
import { wasHandled } from "@/server/events/reactions";
import type { Runtime } from "@/server/runtime";
import {
  callerFor,
  drain,
  expectLedgerInvariant,
  makeWorkspace,
  testRuntime,
} from "@/test/support/runtime";
import { eventsNamed, makeTier } from "@/test/support/tiers";

import { autoPurchaseOnOverage } from "./overage-charges";

const clock = new ManualClock("2027-04-02T08:00:00Z");
const STARTER = seedPacks[0]!;
let runtime: Runtime;
let topUpTier: string;
let softCapTier: string;
const touched = new Set<string>();

beforeAll(async () => {
  runtime = await testRuntime({ clock });
  topUpTier = (await makeTier(runtime, { overagePolicy: "auto_top_up" })).code;
  softCapTier = (await makeTier(runtime, { overagePolicy: "soft_cap", overageCapCredits: 500 }))
    .code;
});
afterEach(async () => {
  for (const workspaceId of touched) await expectLedgerInvariant(runtime, workspaceId);
  touched.clear();
});
afterAll(async () => {
  await runtime.stop();
});

/** A workspace on `tierCode` (1,000 credits a month) with auto top-up of Starter set as given. */
async function workspace(tierCode: string, enabled: boolean) {
  const created = await makeWorkspace(runtime, { tierCode });
  touched.add(created.workspaceId);
  const caller = await callerFor(runtime, created.userId);
  // The threshold is far below the balance: the overage, not the threshold, asks for the pack.
  await caller.credits.autoTopUp.set({
    workspaceId: created.workspaceId,
    enabled,
    packId: STARTER.id,
    thresholdCredits: 10,
    monthlyLimit: 3,
  });

  return created;
}

/** The cycle's invoice charged 1,200 credits of overage. */
async function overageCharged(workspaceId: string): Promise<string> {
  const [id] = await runtime.db.transaction((tx) =>
    writeEvents(
      tx,
      [
        event("billing/overage-charged", {
          workspaceId,
          invoiceId: randomUUID(),
          credits: 1_200,
          amountMinor: 240,
          currency: "USD",
        }),
      ],
      clock,
    ),
  );
  await drain(runtime);

  return id!;
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
  it("buys the chosen pack once when the tier tops up and the workspace has it on", async () => {
    const { workspaceId, userId } = await workspace(topUpTier, true);
    const eventId = await overageCharged(workspaceId);

    const [purchase, ...more] = await topUps(workspaceId);
    expect(more).toHaveLength(0);
    expect(purchase).toMatchObject({ status: "paid", credits: 5_000, amountMinor: 900 });
    expect(
      (await eventsNamed(runtime, workspaceId, "credits/purchased")).map((row) => row.data),
    ).toEqual([expect.objectContaining({ purchaseId: purchase!.id, origin: "auto_top_up" })]);
    // Bought above the threshold: 1,000 of the allowance plus the pack.
    const owner = await callerFor(runtime, userId);
    expect((await owner.credits.balance({ workspaceId })).balance).toBe(1_000 + 5_000);
    expect(
      await runtime.db.select().from(invoices).where(eq(invoices.purchaseId, purchase!.id)),
    ).toHaveLength(1);

    const [row] = await eventsNamed(runtime, workspaceId, "billing/overage-charged");
    const delivered: EventEnvelope<"billing/overage-charged"> = {
      id: eventId,
      name: "billing/overage-charged",
      version: row!.version,
      workspaceId,
      streamSeq: row!.streamSeq,
      object: { type: "invoice", id: String(row!.data.invoiceId) },
      occurredAt: row!.occurredAt,
      causationId: null,
      data: row!.data as EventEnvelope<"billing/overage-charged">["data"],
    };
    await runtime.db.transaction((tx) =>
      autoPurchaseOnOverage({
        tx,
        event: delivered,
        deps: runtime.executeDeps,
        log: runtime.logger,
      }),
    );
    await drain(runtime);
    expect(await topUps(workspaceId)).toHaveLength(1);
  });

  it("buys nothing when the workspace has auto top-up off", async () => {
    const { workspaceId } = await workspace(topUpTier, false);
    const eventId = await overageCharged(workspaceId);

    expect(await wasHandled(runtime.db, "billing-overage-auto-purchase", eventId)).toBe(true);
    expect(await topUps(workspaceId)).toEqual([]);
  });

  it("buys nothing when the tier's overage policy is not auto top-up", async () => {
    const { workspaceId } = await workspace(softCapTier, true);
    const eventId = await overageCharged(workspaceId);

    expect(await wasHandled(runtime.db, "billing-overage-auto-purchase", eventId)).toBe(true);
    expect(await topUps(workspaceId)).toEqual([]);
  });
});
