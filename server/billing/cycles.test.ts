import { randomUUID } from "node:crypto";

import { and, asc, eq, sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  billingCycles,
  creditGrants,
  creditPeriods,
  invoiceLines,
  invoices,
  subscriptions,
  workspaces,
} from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import type { EventName, EventEnvelope } from "@/server/events/catalogue";
import type { ReactionHandler } from "@/server/events/reactions";
import type { Runtime } from "@/server/runtime";
import {
  createWorkspace,
  reactivateWorkspace,
  suspendWorkspace,
} from "@/server/workspaces/commands";
import { cancelWorkspace, changeTier } from "@/server/workspaces/lifecycle";
import { saveCardOnPage, sweepCycles } from "@/test/support/billing";
import { consume } from "@/test/support/credits";
import {
  drain,
  expectLedgerInvariant,
  makeUser,
  runCron,
  testRuntime,
  uniqueSuffix,
} from "@/test/support/runtime";
import { eventsNamed, makeTier } from "@/test/support/tiers";

import {
  collectCycleUsage,
  invoiceCycle,
  startDueCycles,
  sweepBillingCycles,
  upcomingInvoice,
} from "./cycles";
import { ROUNDING } from "./invoice-math";

/**
 * Billing cycles end to end: the sweep and the reactions it leads to, with a
 * manual clock, tax at 10% on USD. Periods start at the workspace's creation
 * (12:00 UTC on its day) and keep that anchor.
 */
const clock = new ManualClock("2027-01-15T12:00:00Z");
let runtime: Runtime;
const touched = new Set<string>();

beforeAll(async () => {
  runtime = await testRuntime({ clock, pool: 12, env: { TALLY_TAX_RATES: "USD=10" } });
});
afterEach(async () => {
  // Later tests move the clock on; a cancelled workspace is left out of their sweeps.
  for (const workspaceId of touched) {
    await runtime.db
      .update(workspaces)
      .set({ status: "cancelled" })
      .where(eq(workspaces.id, workspaceId));
  }
  touched.clear();
});
afterAll(async () => {
  await runtime.stop();
});

/** Basic 10.00 a month, Plus 30.00, Lite 5.00; overage is a price per 1,000 credits. */
async function tiers() {
  const common = { rolloverCapCredits: 0, overagePolicy: "soft_cap" as const };
  const basic = await makeTier(runtime, {
    ...common,
    name: "Basic",
    monthlyPriceMinor: 1_000,
    monthlyCredits: 1_000,
    includedSeats: 1,
    seatPriceMinor: 500,
    overageCapCredits: 5_000,
    overageUnitCredits: 1_000,
    overageUnitPriceMinor: 250,
  });
  const plus = await makeTier(runtime, {
    ...common,
    name: "Plus",
    monthlyPriceMinor: 3_000,
    monthlyCredits: 3_000,
    includedSeats: 1,
    seatPriceMinor: 700,
    overageCapCredits: 5_000,
    overageUnitCredits: 1_000,
    overageUnitPriceMinor: 200,
  });
  const lite = await makeTier(runtime, {
    ...common,
    name: "Lite",
    monthlyPriceMinor: 500,
    monthlyCredits: 500,
    includedSeats: 2,
    seatPriceMinor: 0,
    overageCapCredits: 5_000,
    overageUnitCredits: 1_000,
    overageUnitPriceMinor: 500,
  });

  return { basic, plus, lite };
}

/** A workspace on a paid tier, as the system creates them (customers start on free tiers). */
async function workspaceOn(start: string, tierCode: string) {
  clock.set(start);
  const owner = await makeUser(runtime);
  const slug = `ws-${uniqueSuffix()}`;
  const { workspaceId } = await execute(
    runtime,
    createWorkspace,
    { name: `Workspace ${slug}`, slug, tierCode, ownerUserId: owner.id },
    { actor: { type: "system", reason: "test" } },
  );
  await drain(runtime);
  // A card that pays: the first period's invoice, issued at creation, is paid with it at once.
  await saveCardOnPage(runtime, { workspaceId, userId: owner.id }, "4242424242424242");
  touched.add(workspaceId);

  return { workspaceId, userId: owner.id };
}

async function sweepAt(at: string) {
  clock.set(at);
  await sweepCycles(runtime);
}

/** The invoices since creation: all but period 1's, which is issued at creation (first-invoice.ts). */
async function invoicesOf(workspaceId: string) {
  const rows = await runtime.db
    .select()
    .from(invoices)
    .where(
      and(
        eq(invoices.workspaceId, workspaceId),
        sql`coalesce(${invoices.sourceKey}, '') NOT LIKE 'first-period:%'`,
      ),
    )
    .orderBy(asc(invoices.number));

  return Promise.all(
    rows.map(async (invoice) => ({
      ...invoice,
      lines: await runtime.db
        .select({
          kind: invoiceLines.kind,
          quantity: invoiceLines.quantity,
          unitAmountMinor: invoiceLines.unitAmountMinor,
          amountMinor: invoiceLines.amountMinor,
          rounding: invoiceLines.rounding,
        })
        .from(invoiceLines)
        .where(eq(invoiceLines.invoiceId, invoice.id))
        .orderBy(asc(invoiceLines.position)),
    })),
  );
}

async function cyclesOf(workspaceId: string) {
  return runtime.db
    .select()
    .from(billingCycles)
    .where(eq(billingCycles.workspaceId, workspaceId))
    .orderBy(asc(billingCycles.sequence));
}

async function periodsOf(workspaceId: string) {
  return runtime.db
    .select()
    .from(creditPeriods)
    .where(eq(creditPeriods.workspaceId, workspaceId))
    .orderBy(asc(creditPeriods.sequence));
}

async function subscriptionOf(workspaceId: string) {
  const [row] = await runtime.db
    .select()
    .from(subscriptions)
    .where(eq(subscriptions.workspaceId, workspaceId));

  return row!;
}

const fee = (amountMinor: number) => ({
  kind: "tier_fee",
  quantity: 1,
  unitAmountMinor: amountMinor,
  amountMinor,
  rounding: ROUNDING.exact,
});
const overage = (credits: number, amountMinor: number) => ({
  kind: "overage",
  quantity: credits,
  unitAmountMinor: null,
  amountMinor,
  rounding: ROUNDING.halfEven,
});
const proration = (amountMinor: number) => ({
  kind: "proration",
  quantity: 1,
  unitAmountMinor: null,
  amountMinor,
  rounding: ROUNDING.prorated,
});

describe("four months of one workspace", () => {
  it("bills every period once, line by line, with the ledger whole after each step", async () => {
    const { basic, plus, lite } = await tiers();
    const { workspaceId, userId } = await workspaceOn("2027-01-15T12:00:00Z", basic.code);
    const actor = { actor: { type: "user", userId } as const };
    // Period 1 is invoiced in advance at creation, with 10% tax.
    const [first] = await runtime.db
      .select()
      .from(invoices)
      .where(eq(invoices.sourceKey, `first-period:${workspaceId}`));
    expect(first).toMatchObject({
      number: "INV-2027-000001",
      kind: "subscription",
      periodStart: new Date("2027-01-15T12:00:00Z"),
      periodEnd: new Date("2027-02-15T12:00:00Z"),
      subtotalMinor: 1_000,
      taxMinor: 100,
      totalMinor: 1_100,
    });
    expect(await subscriptionOf(workspaceId)).toMatchObject({
      status: "active",
      currency: "USD",
      seats: 1,
      periodSequence: 1,
      currentPeriodStart: new Date("2027-01-15T12:00:00Z"),
      currentPeriodEnd: new Date("2027-02-15T12:00:00Z"),
    });

    // Period 1 on Basic: the allowance and 1,500 credits of overage; a second seat (as the
    // seat reaction keeps it).
    await consume(runtime, workspaceId, 1_000);
    expect(await consume(runtime, workspaceId, 1_500)).toMatchObject({
      allowed: true,
      overageCredits: 1_500,
    });
    await runtime.db
      .update(subscriptions)
      .set({ seats: 2 })
      .where(eq(subscriptions.workspaceId, workspaceId));

    // A second before the end nothing happens.
    await sweepAt("2027-02-15T11:59:59Z");
    expect(await cyclesOf(workspaceId)).toEqual([]);

    await sweepAt("2027-02-15T12:00:00Z");
    let billed = await invoicesOf(workspaceId);
    expect(billed).toHaveLength(1);
    expect(billed[0]).toMatchObject({
      number: "INV-2027-000002",
      kind: "subscription",
      status: "paid",
      currency: "USD",
      periodStart: new Date("2027-01-15T12:00:00Z"),
      periodEnd: new Date("2027-02-15T12:00:00Z"),
      // 1,000 + 500 + 375 = 1,875; tax 187.5 → 188 (half to even).
      subtotalMinor: 1_875,
      taxRateBps: 1_000,
      taxMinor: 188,
      totalMinor: 2_063,
      amountDueMinor: 2_063,
      lines: [
        fee(1_000),
        {
          kind: "seats",
          quantity: 1,
          unitAmountMinor: 500,
          amountMinor: 500,
          rounding: ROUNDING.exact,
        },
        // 1,500 credits × 2.50 per 1,000 = 3.75.
        overage(1_500, 375),
      ],
    });
    expect(await cyclesOf(workspaceId)).toMatchObject([
      {
        sequence: 1,
        status: "completed",
        tierId: basic.id,
        nextTierId: basic.id,
        overageCredits: 1_500,
        seats: 2,
        invoiceId: billed[0]!.id,
      },
    ]);
    expect(
      (await eventsNamed(runtime, workspaceId, "billing/overage-charged")).map((e) => e.data),
    ).toEqual([
      {
        workspaceId,
        invoiceId: billed[0]!.id,
        credits: 1_500,
        amountMinor: 375,
        currency: "USD",
      },
    ]);
    // Period 1's invoice at creation, then the cycle's.
    expect(
      (await eventsNamed(runtime, workspaceId, "billing/payment-requested")).map(
        (requested) => requested.data.invoiceId,
      ),
    ).toEqual([first!.id, billed[0]!.id]);
    expect((await periodsOf(workspaceId)).map((p) => [p.sequence, p.status, p.allowance])).toEqual([
      [1, "closed", 1_000],
      [2, "open", 1_000],
    ]);
    expect(await subscriptionOf(workspaceId)).toMatchObject({
      periodSequence: 2,
      currentPeriodStart: new Date("2027-02-15T12:00:00Z"),
      currentPeriodEnd: new Date("2027-03-15T12:00:00Z"),
    });
    await expectLedgerInvariant(runtime, workspaceId);

    // Period 2 (28 days): upgrade to Plus halfway. Its net is invoiced at once. Both tiers are
    // prorated with the extra seat: Basic 10.00 + 5.00, Plus 30.00 + 7.00.
    clock.set("2027-03-01T12:00:00Z");
    await execute(runtime, changeTier, { workspaceId, tierId: plus.id }, actor);
    await drain(runtime);
    billed = await invoicesOf(workspaceId);
    expect(billed[1]).toMatchObject({
      number: "INV-2027-000003",
      kind: "proration",
      status: "paid",
      sourceKey: expect.stringMatching(/^tier-change:/),
      subtotalMinor: 1_100,
      taxMinor: 110,
      totalMinor: 1_210,
      amountDueMinor: 1_210,
      lines: [proration(-750), proration(1_850)],
    });
    await expectLedgerInvariant(runtime, workspaceId);

    // The preview before the period ends is what the cycle then issues.
    clock.set("2027-03-15T11:00:00Z");
    const preview = await upcomingInvoice(
      runtime.db,
      workspaceId,
      clock.now(),
      runtime.executeDeps.billing,
    );
    expect(preview).toMatchObject({
      currency: "USD",
      issuesAt: new Date("2027-03-15T12:00:00Z"),
      totals: { subtotalMinor: 3_700, taxMinor: 370, totalMinor: 4_070 },
    });

    await sweepAt("2027-03-15T12:00:00Z");
    billed = await invoicesOf(workspaceId);
    expect(billed[2]).toMatchObject({
      number: "INV-2027-000004",
      kind: "subscription",
      subtotalMinor: 3_700,
      taxMinor: 370,
      totalMinor: 4_070,
      lines: [fee(3_000), { kind: "seats", quantity: 1, unitAmountMinor: 700, amountMinor: 700 }],
    });
    expect(billed[2]!.lines).toEqual(
      preview!.lines.map((line) => ({
        kind: line.kind,
        quantity: line.quantity,
        unitAmountMinor: line.unitAmountMinor,
        amountMinor: line.amountMinor,
        rounding: line.rounding,
      })),
    );
    expect((await periodsOf(workspaceId)).at(-1)).toMatchObject({ sequence: 3, allowance: 3_000 });
    await expectLedgerInvariant(runtime, workspaceId);

    // Period 3 (31 days): down to Basic now, halfway; its net credit waits for the next
    // invoice. Then 600 credits of overage on Basic, and Lite scheduled for the period's end.
    clock.set("2027-03-31T00:00:00Z");
    await execute(runtime, changeTier, { workspaceId, tierId: basic.id, timing: "now" }, actor);
    await drain(runtime);
    expect(await invoicesOf(workspaceId)).toHaveLength(3);
    expect(await consume(runtime, workspaceId, 2_600)).toMatchObject({ overageCredits: 600 });
    await execute(
      runtime,
      changeTier,
      { workspaceId, tierId: lite.id, timing: "period_end" },
      actor,
    );
    await expectLedgerInvariant(runtime, workspaceId);

    await sweepAt("2027-04-15T12:00:00Z");
    billed = await invoicesOf(workspaceId);
    // Lite's fee (its two included seats cover both), Basic's overage, the downgrade's two
    // lines (Plus 37.00 and Basic 15.00 with the extra seat, halved): −450 in all. Its 10% tax,
    // −45, is credited with it (the tax paid on Plus's unused half goes back too), so nothing is
    // due and 4.95 is carried to the next invoice.
    const fourth = billed[3]!;
    expect(fourth).toMatchObject({
      number: "INV-2027-000005",
      status: "paid",
      subtotalMinor: -450,
      taxMinor: -45,
      totalMinor: 0,
      amountDueMinor: 0,
    });
    expect(fourth.lines.slice(0, 4)).toEqual([
      fee(500),
      overage(600, 150),
      proration(-1_850),
      proration(750),
    ]);
    expect(fourth.lines[4]).toMatchObject({ kind: "credit_carried_forward", amountMinor: 495 });
    expect(await cyclesOf(workspaceId)).toMatchObject([
      {},
      { tierId: plus.id, nextTierId: plus.id },
      { tierId: basic.id, nextTierId: lite.id, overageCredits: 600, status: "completed" },
    ]);
    expect((await periodsOf(workspaceId)).at(-1)).toMatchObject({ sequence: 4, allowance: 500 });
    await expectLedgerInvariant(runtime, workspaceId);

    // Period 4 on Lite: 1,000 credits of overage, then cancelled at the period's end.
    await consume(runtime, workspaceId, 1_500);
    await execute(runtime, cancelWorkspace, { workspaceId, timing: "period_end" }, actor);
    await sweepAt("2027-05-15T12:00:00Z");
    billed = await invoicesOf(workspaceId);
    expect(billed[4]).toMatchObject({
      number: "INV-2027-000006",
      status: "paid",
      // No fee for a period that does not follow; the carried credit, tax included, is
      // applied after tax: 500 + 10% tax 50 = 550, less 495 carried = 55 due.
      subtotalMinor: 500,
      taxMinor: 50,
      totalMinor: 55,
      amountDueMinor: 55,
      lines: [
        overage(1_000, 500),
        { kind: "credit_applied", amountMinor: -495, unitAmountMinor: null, quantity: 1 },
      ],
    });
    expect(await subscriptionOf(workspaceId)).toMatchObject({
      status: "cancelled",
      periodSequence: 4,
    });
    expect((await cyclesOf(workspaceId)).at(-1)).toMatchObject({
      sequence: 4,
      tierId: lite.id,
      nextTierId: null,
      status: "completed",
    });
    expect((await periodsOf(workspaceId)).map((p) => p.status)).toEqual([
      "closed",
      "closed",
      "closed",
      "closed",
    ]);
    await expectLedgerInvariant(runtime, workspaceId);

    // Nothing follows a cancellation, however long the sweep keeps running.
    await sweepAt("2027-07-15T12:00:00Z");
    expect(await invoicesOf(workspaceId)).toHaveLength(5);
    expect(await cyclesOf(workspaceId)).toHaveLength(4);
  });
});

describe("the subscription", () => {
  it("follows the workspace's suspension, reactivation and cancellation in the same change", async () => {
    const { basic } = await tiers();
    const { workspaceId } = await workspaceOn("2030-05-20T08:00:00Z", basic.code);
    const system = { actor: { type: "system", reason: "test" } as const };
    const statusOf = async () => (await subscriptionOf(workspaceId)).status;

    await execute(runtime, suspendWorkspace, { workspaceId, reason: "Payment dispute" }, system);
    expect(await statusOf()).toBe("suspended");
    await execute(runtime, reactivateWorkspace, { workspaceId }, system);
    expect(await statusOf()).toBe("active");
    await execute(runtime, cancelWorkspace, { workspaceId, timing: "now" }, system);
    expect(await statusOf()).toBe("cancelled");

    // A cancelled subscription is never swept.
    await sweepAt("2030-07-01T00:00:00Z");
    expect(await cyclesOf(workspaceId)).toEqual([]);
  });
});

describe("the sweep", () => {
  it("bills a period once when sweeps run at the same time and again later", async () => {
    const { basic } = await tiers();
    const { workspaceId } = await workspaceOn("2027-08-03T09:00:00Z", basic.code);
    clock.set("2027-09-03T09:00:00Z");

    await Promise.all([
      runCron(runtime, sweepBillingCycles),
      runCron(runtime, sweepBillingCycles),
      runCron(runtime, sweepBillingCycles),
    ]);
    await drain(runtime);
    await sweepCycles(runtime);
    clock.set("2027-09-03T10:00:00Z");
    await sweepCycles(runtime);

    expect(await cyclesOf(workspaceId)).toHaveLength(1);
    expect((await invoicesOf(workspaceId)).map((invoice) => invoice.totalMinor)).toEqual([1_100]);
    expect(await allocationsOf(workspaceId)).toBe(2);
    await expectLedgerInvariant(runtime, workspaceId);
  });

  it("completes a cycle whose events were lost between steps, with nothing twice", async () => {
    const { basic } = await tiers();
    const { workspaceId } = await workspaceOn("2027-10-04T09:00:00Z", basic.code);
    clock.set("2027-11-04T09:00:00Z");

    // Each step commits and its events are lost: the process died before the relay ran.
    await runtime.db.transaction((tx) => startDueCycles(tx, clock));
    const [cycle] = await cyclesOf(workspaceId);
    expect(cycle).toMatchObject({ status: "started" });
    const ref = { workspaceId, subscriptionId: cycle!.subscriptionId, cycleId: cycle!.id };
    await runHandler(collectCycleUsage, "billing/cycle-started", {
      ...ref,
      periodStart: cycle!.periodStart.toISOString(),
      periodEnd: cycle!.periodEnd.toISOString(),
    });
    await runHandler(invoiceCycle, "billing/usage-collected", { ...ref, overageCredits: 0 });
    expect((await cyclesOf(workspaceId))[0]).toMatchObject({ status: "invoiced" });

    // Not yet stalled: a sweep leaves it alone.
    clock.set("2027-11-04T09:09:00Z");
    await sweepCycles(runtime);
    expect((await cyclesOf(workspaceId))[0]).toMatchObject({ status: "invoiced" });

    clock.set("2027-11-04T09:11:00Z");
    await sweepCycles(runtime);
    expect((await cyclesOf(workspaceId))[0]).toMatchObject({ status: "completed" });
    expect(await invoicesOf(workspaceId)).toHaveLength(1);
    expect(await allocationsOf(workspaceId)).toBe(2);
    expect((await periodsOf(workspaceId)).map((p) => p.status)).toEqual(["closed", "open"]);
    await expectLedgerInvariant(runtime, workspaceId);
  });

  it("resumes a cycle stopped right after it started", async () => {
    const { basic } = await tiers();
    const { workspaceId } = await workspaceOn("2027-12-05T09:00:00Z", basic.code);
    clock.set("2028-01-05T09:00:00Z");
    // The sweep commits and its events are lost.
    await runtime.db.transaction((tx) => startDueCycles(tx, clock));

    clock.set("2028-01-05T09:11:00Z");
    await sweepCycles(runtime);
    expect(await cyclesOf(workspaceId)).toMatchObject([{ status: "completed" }]);
    expect(await invoicesOf(workspaceId)).toHaveLength(1);
    expect(await allocationsOf(workspaceId)).toBe(2);
    await expectLedgerInvariant(runtime, workspaceId);
  });

  it("bills a workspace anchored on January 31 on February 28, then March 31", async () => {
    const { basic } = await tiers();
    const { workspaceId } = await workspaceOn("2029-01-31T12:00:00Z", basic.code);

    // One sweep after a jump past two period ends runs both cycles, in order.
    await sweepAt("2029-04-01T00:00:00Z");
    expect(
      (await cyclesOf(workspaceId)).map((cycle) => [
        cycle.periodStart.toISOString(),
        cycle.periodEnd.toISOString(),
        cycle.status,
      ]),
    ).toEqual([
      ["2029-01-31T12:00:00.000Z", "2029-02-28T12:00:00.000Z", "completed"],
      ["2029-02-28T12:00:00.000Z", "2029-03-31T12:00:00.000Z", "completed"],
    ]);
    const billed = await invoicesOf(workspaceId);
    expect(billed.map((invoice) => invoice.lines[0]?.kind)).toEqual(["tier_fee", "tier_fee"]);
    const feePeriods = await runtime.db
      .select({ start: invoiceLines.periodStart, end: invoiceLines.periodEnd })
      .from(invoiceLines)
      .innerJoin(invoices, eq(invoices.id, invoiceLines.invoiceId))
      .where(and(eq(invoices.workspaceId, workspaceId), eq(invoiceLines.kind, "tier_fee")))
      .orderBy(asc(invoiceLines.periodStart));
    // Period 1's fee was invoiced at creation: the fees tile from the anchor on.
    expect(feePeriods.map((p) => [p.start?.toISOString(), p.end?.toISOString()])).toEqual([
      ["2029-01-31T12:00:00.000Z", "2029-02-28T12:00:00.000Z"],
      ["2029-02-28T12:00:00.000Z", "2029-03-31T12:00:00.000Z"],
      ["2029-03-31T12:00:00.000Z", "2029-04-30T12:00:00.000Z"],
    ]);
    expect(await subscriptionOf(workspaceId)).toMatchObject({
      periodSequence: 3,
      currentPeriodEnd: new Date("2029-04-30T12:00:00Z"),
    });
    expect(await allocationsOf(workspaceId)).toBe(3);
    await expectLedgerInvariant(runtime, workspaceId);
  });

  it("completes a free workspace's cycle without an invoice, and leaves suspended ones alone", async () => {
    const { workspaceId } = await workspaceOn("2030-02-10T09:00:00Z", "free");
    const suspended = await workspaceOn("2030-02-10T09:00:00Z", "free");
    await runtime.db
      .update(workspaces)
      .set({ status: "suspended" })
      .where(eq(workspaces.id, suspended.workspaceId));

    await sweepAt("2030-03-10T09:00:00Z");
    expect(await cyclesOf(workspaceId)).toMatchObject([{ status: "completed", invoiceId: null }]);
    expect(await invoicesOf(workspaceId)).toEqual([]);
    expect(await periodsOf(workspaceId)).toHaveLength(2);
    expect(await cyclesOf(suspended.workspaceId)).toEqual([]);
  });
});

/** Tier allowance grants of the workspace: one per period opened. */
async function allocationsOf(workspaceId: string): Promise<number> {
  const [row] = await runtime.db
    .select({ n: sql<number>`count(*)::int` })
    .from(creditGrants)
    .where(
      and(
        eq(creditGrants.workspaceId, workspaceId),
        sql`${creditGrants.idempotencyKey} LIKE 'tier-allocation:%'`,
      ),
    );

  return row?.n ?? 0;
}

/**
 * One reaction, outside the inbox, on a made-up delivery of its event; the
 * events it returns are dropped, as if the process died after its commit.
 */
async function runHandler<N extends EventName>(
  handler: ReactionHandler<N>,
  name: N,
  data: EventEnvelope<N>["data"],
) {
  return runtime.db.transaction((tx) =>
    handler({
      tx,
      event: {
        id: randomUUID(),
        name,
        version: 1,
        workspaceId: (data as { workspaceId: string }).workspaceId,
        streamSeq: 0,
        object: { type: "test", id: randomUUID() },
        occurredAt: clock.now(),
        causationId: null,
        data,
      } as EventEnvelope<N>,
      deps: runtime.executeDeps,
      log: runtime.logger,
    }),
  );
}
