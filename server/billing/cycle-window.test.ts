import { and, asc, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { creditGrants, invoiceLines, invoices, workspaceMembers } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import { event } from "@/server/events/catalogue";
import { writeEvents } from "@/server/events/outbox";
import type { Runtime } from "@/server/runtime";
import { createWorkspace } from "@/server/workspaces/commands";
import { cancelWorkspace, changeTier } from "@/server/workspaces/lifecycle";
import { sweepCycles } from "@/test/support/billing";
import {
  drain,
  expectLedgerInvariant,
  makeUser,
  testRuntime,
  uniqueSuffix,
} from "@/test/support/runtime";
import { makeTier } from "@/test/support/tiers";

import { startDueCycles } from "./cycles";

/**
 * Changes made in the window between a period's end and its cycle: before
 * the sweep has started it, or after it started but before it finished (a
 * crash lost its events). The period that ended is billed as it ended; the
 * change is prorated in the next period, once.
 */

const clock = new ManualClock("2027-01-15T12:00:00Z");
let runtime: Runtime;

beforeAll(async () => {
  runtime = await testRuntime({ clock });
});

afterAll(async () => {
  await runtime.stop();
});

async function tierPair() {
  const common = {
    rolloverCapCredits: 0,
    overagePolicy: "hard_stop" as const,
    includedSeats: 1,
  };
  const basic = await makeTier(runtime, {
    ...common,
    name: "Basic",
    monthlyPriceMinor: 1_000,
    monthlyCredits: 1_000,
    seatPriceMinor: 500,
  });
  const plus = await makeTier(runtime, {
    ...common,
    name: "Plus",
    monthlyPriceMinor: 3_000,
    monthlyCredits: 10_000,
    seatPriceMinor: 500,
  });

  return { basic, plus };
}

async function workspaceOn(at: string, tierCode: string) {
  clock.set(at);
  const owner = await makeUser(runtime);
  const slug = `ws-${uniqueSuffix()}`;
  const { workspaceId } = await execute(
    runtime,
    createWorkspace,
    { name: `Window ${slug}`, slug, tierCode, ownerUserId: owner.id },
    { actor: { type: "system", reason: "test" } },
  );
  await drain(runtime);

  return { workspaceId, userId: owner.id };
}

async function linesOf(workspaceId: string) {
  return runtime.db
    .select({
      invoice: invoices.kind,
      kind: invoiceLines.kind,
      amountMinor: invoiceLines.amountMinor,
    })
    .from(invoiceLines)
    .innerJoin(invoices, eq(invoices.id, invoiceLines.invoiceId))
    .where(eq(invoices.workspaceId, workspaceId))
    .orderBy(asc(invoices.number), asc(invoiceLines.position));
}

/** A crash right after the sweep started the cycles: their events never reach the outbox. */
async function startCyclesAndLoseTheirEvents() {
  await runtime.db.transaction((tx) => startDueCycles(tx, clock));
}

describe("a change between a period's end and its cycle", () => {
  it("an upgrade before the sweep bills the new period once: the old fee, then the prorated net", async () => {
    const { basic, plus } = await tierPair();
    const { workspaceId, userId } = await workspaceOn("2027-01-15T12:00:00Z", basic.code);

    // The period ended at 12:00:00; the upgrade comes 30 seconds later, before any sweep.
    clock.set("2027-02-15T12:00:30Z");
    await execute(
      runtime,
      changeTier,
      { workspaceId, tierId: plus.id },
      { actor: { type: "user", userId } },
    );
    await drain(runtime);
    clock.set("2027-02-15T12:01:00Z");
    await sweepCycles(runtime);

    // The cycle of the period that ended bills Basic for the next period, in advance; the
    // upgrade 30 s into it credits Basic's unused part and charges Plus's: 28 days = 2,419,200 s,
    // 2,419,170 of them left: −1,000 × 2,419,170 / 2,419,200 = −999.99 → −1,000 (half-even of
    // −999.9876) and +3,000 × … = 2,999.96 → 3,000.
    expect(await linesOf(workspaceId)).toEqual([
      // Period 1, invoiced in advance at creation.
      { invoice: "subscription", kind: "tier_fee", amountMinor: 1_000 },
      { invoice: "proration", kind: "proration", amountMinor: -1_000 },
      { invoice: "proration", kind: "proration", amountMinor: 3_000 },
      { invoice: "subscription", kind: "tier_fee", amountMinor: 1_000 },
    ]);
    await expectLedgerInvariant(runtime, workspaceId);
  });

  it("an upgrade while the cycle runs grants the next period's allowance once", async () => {
    const { basic, plus } = await tierPair();
    const { workspaceId, userId } = await workspaceOn("2027-03-01T00:00:00Z", basic.code);
    clock.set("2027-04-01T00:00:00Z");
    await startCyclesAndLoseTheirEvents();

    clock.set("2027-04-01T00:05:00Z");
    await execute(
      runtime,
      changeTier,
      { workspaceId, tierId: plus.id },
      { actor: { type: "user", userId } },
    );
    await drain(runtime);
    // The lost cycle is resumed by a sweep after ten minutes.
    clock.set("2027-04-01T00:16:00Z");
    await sweepCycles(runtime);

    const [april] = await runtime.db
      .select({ credits: sql<number>`coalesce(sum(${creditGrants.amount}), 0)::int` })
      .from(creditGrants)
      .where(
        and(
          eq(creditGrants.workspaceId, workspaceId),
          eq(creditGrants.source, "tier_allocation"),
          eq(creditGrants.expiresAt, new Date("2027-05-01T00:00:00Z")),
        ),
      );
    // Basic's 1,000 for April, then the upgrade's prorated difference: 9,000 × (30 days − 5 min)
    // / 30 days = 8,998.96 → 8,999. Plus's whole 10,000 again would make 19,999.
    expect(april?.credits).toBe(1_000 + 8_999);
    await expectLedgerInvariant(runtime, workspaceId);
  });

  it("a member who joins while the cycle runs is billed once for the new period", async () => {
    const { basic } = await tierPair();
    const { workspaceId } = await workspaceOn("2027-03-10T12:00:00Z", basic.code);
    clock.set("2027-04-10T12:00:00Z");
    await startCyclesAndLoseTheirEvents();

    clock.set("2027-04-10T12:05:00Z");
    const member = await makeUser(runtime);
    await runtime.db
      .insert(workspaceMembers)
      .values({ workspaceId, userId: member.id, role: "member" });
    await runtime.db.transaction((tx) =>
      writeEvents(
        tx,
        [event("workspace/collaborator-added", { workspaceId, userId: member.id, role: "member" })],
        clock,
      ),
    );
    await drain(runtime);
    clock.set("2027-04-10T12:11:00Z");
    await sweepCycles(runtime);

    // The cycle bills the seats the period ended with (the owner, included): no seats line. The
    // member's seat is prorated from 12:05 over 10 Apr–10 May: 500 × (30 days − 5 min) / 30 days
    // = 499.94 → 500. Billing both would make 1,000.
    const lines = await linesOf(workspaceId);
    expect(lines.filter((line) => line.kind === "seats")).toEqual([]);
    expect(lines.filter((line) => line.kind === "proration")).toEqual([
      { invoice: "subscription", kind: "proration", amountMinor: 500 },
    ]);
  });

  it("cancelling now before the sweep bills the period that ended, then refunds the new one", async () => {
    const { basic } = await tierPair();
    const { workspaceId, userId } = await workspaceOn("2027-06-20T12:00:00Z", basic.code);
    clock.set("2027-07-20T12:00:30Z");
    await execute(
      runtime,
      cancelWorkspace,
      { workspaceId, timing: "now" },
      { actor: { type: "user", userId } },
    );
    await drain(runtime);

    // The cycle of the period that ended started first, billing Basic for 20 Jul–20 Aug in
    // advance. Cancelling 30 s into it refunds all but 30 s of that fee (−999.99 → −1,000) on
    // the final invoice, which carries the credit; the cycle's invoice, issued after it, takes
    // the credit up. Nothing is due and nothing is lost.
    expect(await linesOf(workspaceId)).toEqual([
      // Period 1, invoiced in advance at creation.
      { invoice: "subscription", kind: "tier_fee", amountMinor: 1_000 },
      { invoice: "subscription", kind: "proration", amountMinor: -1_000 },
      { invoice: "subscription", kind: "credit_carried_forward", amountMinor: 1_000 },
      { invoice: "subscription", kind: "tier_fee", amountMinor: 1_000 },
      { invoice: "subscription", kind: "credit_applied", amountMinor: -1_000 },
    ]);
  });
});
