import { and, asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { invoiceLines, invoices } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import type { EventEnvelope } from "@/server/events/catalogue";
import type { Runtime } from "@/server/runtime";
import { createWorkspace } from "@/server/workspaces/commands";
import { sweepCycles } from "@/test/support/billing";
import { drain, makeUser, testRuntime, uniqueSuffix } from "@/test/support/runtime";
import { eventsNamed, makeTier } from "@/test/support/tiers";

import { invoiceFirstPeriod } from "./first-invoice";

// Workspaces created now have periods from the 10th of each month, 09:00 UTC; no tax on USD.
const clock = new ManualClock("2027-06-10T09:00:00Z");
let runtime: Runtime;
beforeAll(async () => {
  runtime = await testRuntime({ clock, env: { TALLY_TAX_RATES: "" } });
});
afterAll(async () => {
  await runtime.stop();
});

/** A workspace created by the system (the only way to start on a paid tier), reactions run. */
async function workspaceOn(tierCode: string) {
  clock.set("2027-06-10T09:00:00Z");
  const owner = await makeUser(runtime);
  const slug = `ws-${uniqueSuffix()}`;
  const { workspaceId } = await execute(
    runtime,
    createWorkspace,
    { name: `Workspace ${slug}`, slug, tierCode, ownerUserId: owner.id },
    { actor: { type: "system", reason: "test" } },
  );
  await drain(runtime);

  return workspaceId;
}

async function subscriptionInvoices(workspaceId: string) {
  const rows = await runtime.db
    .select()
    .from(invoices)
    .where(and(eq(invoices.workspaceId, workspaceId), eq(invoices.kind, "subscription")))
    .orderBy(asc(invoices.number));

  return Promise.all(
    rows.map(async (invoice) => ({
      sourceKey: invoice.sourceKey,
      periodStart: invoice.periodStart,
      periodEnd: invoice.periodEnd,
      totalMinor: invoice.totalMinor,
      lines: await runtime.db
        .select({
          kind: invoiceLines.kind,
          description: invoiceLines.description,
          quantity: invoiceLines.quantity,
          amountMinor: invoiceLines.amountMinor,
        })
        .from(invoiceLines)
        .where(eq(invoiceLines.invoiceId, invoice.id))
        .orderBy(asc(invoiceLines.position)),
    })),
  );
}

describe("the first period's invoice", () => {
  it("bills period 1's fee and extra seats in advance at creation, once; the cycle bills period 2", async () => {
    // 25.00 a month with no seat included: the owner is one extra seat at 4.00.
    const tier = await makeTier(runtime, {
      name: "Team",
      monthlyPriceMinor: 2_500,
      includedSeats: 0,
      seatPriceMinor: 400,
    });
    const workspaceId = await workspaceOn(tier.code);

    const first = {
      sourceKey: `first-period:${workspaceId}`,
      periodStart: new Date("2027-06-10T09:00:00Z"),
      periodEnd: new Date("2027-07-10T09:00:00Z"),
      totalMinor: 2_900,
      lines: [
        {
          kind: "tier_fee",
          description: "Team plan, 10 Jun 2027 to 10 Jul 2027",
          quantity: 1,
          amountMinor: 2_500,
        },
        {
          kind: "seats",
          description: "1 extra seat beyond the 0 included, 10 Jun 2027 to 10 Jul 2027",
          quantity: 1,
          amountMinor: 400,
        },
      ],
    };
    expect(await subscriptionInvoices(workspaceId)).toEqual([first]);

    // Delivered again past the inbox, it issues nothing more.
    const [created] = await eventsNamed(runtime, workspaceId, "workspace/created");
    const delivered: EventEnvelope<"workspace/created"> = {
      id: created!.id,
      name: "workspace/created",
      version: created!.version,
      workspaceId,
      streamSeq: created!.streamSeq,
      object: { type: "workspace", id: workspaceId },
      occurredAt: created!.occurredAt,
      causationId: null,
      data: created!.data as EventEnvelope<"workspace/created">["data"],
    };
    await runtime.db.transaction((tx) =>
      invoiceFirstPeriod({
        tx,
        event: delivered,
        deps: runtime.executeDeps,
        log: runtime.logger,
      }),
    );
    expect(await subscriptionInvoices(workspaceId)).toHaveLength(1);

    // Period 1 ends: its cycle bills period 2 in advance, not period 1 again.
    clock.set("2027-07-10T09:00:01Z");
    await sweepCycles(runtime);
    const [, second, ...more] = await subscriptionInvoices(workspaceId);
    expect(more).toEqual([]);
    expect(second?.lines.map((line) => line.description)).toEqual([
      "Team plan, 10 Jul 2027 to 10 Aug 2027",
      "1 extra seat beyond the 0 included, 10 Jul 2027 to 10 Aug 2027",
    ]);
  });

  it("issues none for a free tier", async () => {
    const tier = await makeTier(runtime, { monthlyPriceMinor: 0, seatPriceMinor: 0 });
    const workspaceId = await workspaceOn(tier.code);

    expect(await subscriptionInvoices(workspaceId)).toEqual([]);
    expect(await eventsNamed(runtime, workspaceId, "billing/invoice-generated")).toEqual([]);
  });
});
