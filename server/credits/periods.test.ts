import { and, asc, eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  creditGrants,
  creditLedgerEntries,
  creditPeriods,
  tiers,
  workspaces,
} from "@/drizzle/schema";
import { sweepBillingCycles } from "@/server/billing/cycles";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import type { Runtime } from "@/server/runtime";
import { sweepCycles } from "@/test/support/billing";
import { consume } from "@/test/support/credits";
import {
  drain,
  expectLedgerInvariant,
  makeUser,
  makeWorkspace,
  runCron,
  testRuntime,
} from "@/test/support/runtime";
import { eventsNamed, makeTier, freeWithEveryFeature } from "@/test/support/tiers";

import { transferCredits } from "./adjustments";
import { placeHold, releaseHold } from "./holds";
import { grantCredits } from "./ledger";
import { openPeriodOf } from "./periods";
import { balanceSummary } from "./queries";

/**
 * Allocation periods and rollover, driven by the billing cycle sweep (the
 * period closes at the end of its cycle) with a manual clock. Unless a test says otherwise the tier grants 1,000 a
 * period, no signup bonus, low-balance threshold 100, and carries unused
 * allowance over up to 2,000 credits for one period.
 */
const clock = new ManualClock("2027-01-10T09:00:00Z");
let runtime: Runtime;
const touched = new Set<string>();

beforeAll(async () => {
  runtime = await testRuntime({ clock, pool: 12 });
});
afterEach(async () => {
  for (const workspaceId of touched) {
    await expectLedgerInvariant(runtime, workspaceId);
    // Later tests move the clock years on; a cancelled workspace is left out of their sweeps.
    await setStatus(workspaceId, "cancelled");
  }
  touched.clear();
});
afterAll(async () => {
  await runtime.stop();
});

type TierOverrides = Parameters<typeof makeTier>[1];

async function workspaceOn(start: string, tier: TierOverrides = {}) {
  clock.set(start);
  const { code } = await makeTier(runtime, {
    rolloverCapCredits: 2_000,
    rolloverExpiryPeriods: 1,
    ...tier,
  });
  const workspace = await makeWorkspace(runtime, { tierCode: code });
  touched.add(workspace.workspaceId);

  return workspace;
}

async function balanceOf(workspaceId: string) {
  return (await balanceSummary(runtime.db, workspaceId)).balance;
}

async function periodsOf(workspaceId: string) {
  return runtime.db
    .select()
    .from(creditPeriods)
    .where(eq(creditPeriods.workspaceId, workspaceId))
    .orderBy(asc(creditPeriods.sequence));
}

async function liveGrants(workspaceId: string) {
  const rows = await runtime.db
    .select({
      source: creditGrants.source,
      remaining: creditGrants.remaining,
      expiresAt: creditGrants.expiresAt,
    })
    .from(creditGrants)
    .where(eq(creditGrants.workspaceId, workspaceId))
    .orderBy(asc(creditGrants.source), asc(creditGrants.expiresAt));

  return rows
    .filter((row) => row.remaining > 0)
    .map((row) => ({ ...row, expiresAt: row.expiresAt?.toISOString() ?? null }));
}

/** Moves the clock and runs the sweep, as the minute-by-minute cron would. */
async function rollAt(at: string) {
  clock.set(at);
  await sweepCycles(runtime);
}

describe("rollover at period end", () => {
  it("allowance 1,000, 600 used, cap 2,000: the next period opens with 1,400", async () => {
    const { workspaceId } = await workspaceOn("2027-01-10T09:00:00Z");
    expect(await balanceOf(workspaceId)).toBe(1_000);
    await consume(runtime, workspaceId, 600);

    // A minute before the end nothing happens.
    await rollAt("2027-02-10T08:59:00Z");
    expect((await periodsOf(workspaceId)).map((p) => p.status)).toEqual(["open"]);

    await rollAt("2027-02-10T09:00:00Z");
    const periods = await periodsOf(workspaceId);
    expect(periods).toMatchObject([
      { sequence: 1, status: "closed", rolledOverCredits: 400, allowance: 1_000 },
      { sequence: 2, status: "open", allowance: 1_000, rolledOverCredits: null },
    ]);
    expect(periods[1]?.startsAt.toISOString()).toBe("2027-02-10T09:00:00.000Z");
    expect(periods[1]?.endsAt.toISOString()).toBe("2027-03-10T09:00:00.000Z");
    expect(await balanceOf(workspaceId)).toBe(1_400);
    expect(await liveGrants(workspaceId)).toEqual([
      { source: "tier_allocation", remaining: 1_000, expiresAt: "2027-03-10T09:00:00.000Z" },
      { source: "rollover", remaining: 400, expiresAt: "2027-03-10T09:00:00.000Z" },
    ]);

    // The carry is two balanced rollover entries; nothing expired.
    const entries = await runtime.db
      .select({ kind: creditLedgerEntries.kind, amount: creditLedgerEntries.amount })
      .from(creditLedgerEntries)
      .where(eq(creditLedgerEntries.workspaceId, workspaceId))
      .orderBy(asc(creditLedgerEntries.id));
    expect(entries.slice(2)).toEqual([
      { kind: "rollover", amount: -400 },
      { kind: "rollover", amount: 400 },
      { kind: "grant", amount: 1_000 },
    ]);
    const rolled = await eventsNamed(runtime, workspaceId, "credits/rolled-over");
    expect(rolled.map((e) => e.data)).toEqual([
      expect.objectContaining({
        periodId: periods[0]?.id,
        credits: 400,
        forfeitedCredits: 0,
        grantId: expect.any(String),
        periodStart: "2027-02-10T09:00:00.000Z",
        periodEnd: "2027-03-10T09:00:00.000Z",
      }),
    ]);
    expect(await eventsNamed(runtime, workspaceId, "credits/expired")).toEqual([]);
    // The carry dips the balance for a moment inside the transaction; that is no crossing.
    expect(await eventsNamed(runtime, workspaceId, "credits/low-balance")).toEqual([]);
    expect((await runtime.db.transaction((tx) => openPeriodOf(tx, workspaceId)))?.sequence).toBe(2);

    // Running the sweep again changes nothing.
    await rollAt("2027-02-10T09:05:00Z");
    expect(await periodsOf(workspaceId)).toHaveLength(2);
    expect(await balanceOf(workspaceId)).toBe(1_400);
    await drain(runtime);
  });

  it("caps by a percentage of the allowance and expires the rest", async () => {
    const { workspaceId } = await workspaceOn("2027-01-11T09:00:00Z", {
      rolloverCapCredits: null,
      rolloverCapPercent: 25,
    });
    await consume(runtime, workspaceId, 100);
    await rollAt("2027-02-11T09:00:00Z");

    expect((await periodsOf(workspaceId))[0]).toMatchObject({ rolledOverCredits: 250 });
    expect(await balanceOf(workspaceId)).toBe(1_250);
    expect((await eventsNamed(runtime, workspaceId, "credits/expired")).map((e) => e.data)).toEqual(
      [expect.objectContaining({ credits: 650, balanceAfter: 250 })],
    );
    expect(
      (await eventsNamed(runtime, workspaceId, "credits/rolled-over")).map((e) => e.data),
    ).toEqual([expect.objectContaining({ credits: 250, forfeitedCredits: 650 })]);
  });

  it("carries nothing on a tier without a cap", async () => {
    const { workspaceId } = await workspaceOn("2027-01-12T09:00:00Z", {
      rolloverCapCredits: null,
      rolloverCapPercent: null,
    });
    await consume(runtime, workspaceId, 100);
    await rollAt("2027-02-12T09:00:00Z");

    expect(await balanceOf(workspaceId)).toBe(1_000);
    expect((await periodsOf(workspaceId))[0]).toMatchObject({ rolledOverCredits: 0 });
    expect(
      (await eventsNamed(runtime, workspaceId, "credits/rolled-over")).map((e) => e.data),
    ).toEqual([expect.objectContaining({ credits: 0, forfeitedCredits: 900, grantId: null })]);
  });

  it("leaves purchased credits alone", async () => {
    const { workspaceId } = await workspaceOn("2027-01-13T09:00:00Z");
    await runtime.db.transaction((tx) =>
      grantCredits(tx, clock, {
        workspaceId,
        source: "purchase",
        amount: 500,
        idempotencyKey: "pack-1",
        reason: "Pack",
        actor: { type: "system", reason: "test" },
        priority: 120,
        lowBalanceThreshold: 100,
      }),
    );
    // 1,200 takes the whole allowance and 200 of the purchase.
    await consume(runtime, workspaceId, 1_200);
    await rollAt("2027-02-13T09:00:00Z");

    expect((await periodsOf(workspaceId))[0]).toMatchObject({ rolledOverCredits: 0 });
    expect(await balanceOf(workspaceId)).toBe(1_300);
    expect(await liveGrants(workspaceId)).toEqual([
      { source: "tier_allocation", remaining: 1_000, expiresAt: "2027-03-13T09:00:00.000Z" },
      { source: "purchase", remaining: 300, expiresAt: null },
    ]);

    // With allowance left over, only the allowance carries; the purchase is still untouched.
    await consume(runtime, workspaceId, 100);
    await rollAt("2027-03-13T09:00:00Z");
    expect(await liveGrants(workspaceId)).toEqual([
      { source: "tier_allocation", remaining: 1_000, expiresAt: "2027-04-13T09:00:00.000Z" },
      { source: "purchase", remaining: 300, expiresAt: null },
      { source: "rollover", remaining: 900, expiresAt: "2027-04-13T09:00:00.000Z" },
    ]);
    const purchaseEntries = await runtime.db
      .select({ kind: creditLedgerEntries.kind })
      .from(creditLedgerEntries)
      .innerJoin(creditGrants, eq(creditGrants.id, creditLedgerEntries.grantId))
      .where(and(eq(creditGrants.workspaceId, workspaceId), eq(creditGrants.source, "purchase")));
    expect(purchaseEntries.map((entry) => entry.kind).sort()).toEqual(["consume", "grant"]);
  });

  it("draws carried credits before the new allowance that expires with them", async () => {
    const { workspaceId } = await workspaceOn("2027-01-14T09:00:00Z");
    await consume(runtime, workspaceId, 600);
    await rollAt("2027-02-14T09:00:00Z");
    expect(await balanceOf(workspaceId)).toBe(1_400);

    // The 400 carried credits can never carry again; the allowance can. Spending the carried
    // ones first keeps 1,000 allowance to carry, rather than losing 300 carried credits.
    await consume(runtime, workspaceId, 300);
    await rollAt("2027-03-14T09:00:00Z");

    expect((await periodsOf(workspaceId))[1]).toMatchObject({ rolledOverCredits: 1_000 });
    expect(await balanceOf(workspaceId)).toBe(2_000);
    expect((await eventsNamed(runtime, workspaceId, "credits/expired")).map((e) => e.data)).toEqual(
      [expect.objectContaining({ credits: 100 })],
    );
  });

  it("expires carried credits after the tier's number of periods", async () => {
    const { workspaceId } = await workspaceOn("2027-01-15T09:00:00Z", {
      rolloverExpiryPeriods: 2,
      rolloverCapCredits: 1_500,
    });
    await consume(runtime, workspaceId, 600);
    await rollAt("2027-02-15T09:00:00Z");
    // Carried into period 2, live through period 3.
    expect(await liveGrants(workspaceId)).toContainEqual({
      source: "rollover",
      remaining: 400,
      expiresAt: "2027-04-15T09:00:00.000Z",
    });

    // Period 2 uses nothing: the 400 still live count against the cap of 1,500.
    await rollAt("2027-03-15T09:00:00Z");
    expect((await periodsOf(workspaceId))[1]).toMatchObject({ rolledOverCredits: 1_000 });
    expect(await balanceOf(workspaceId)).toBe(2_400);

    // Period 3 ends: the first carry expires; 1,000 carried from period 2 leave room for 500.
    await rollAt("2027-04-15T09:00:00Z");
    expect((await periodsOf(workspaceId))[2]).toMatchObject({ rolledOverCredits: 500 });
    const expired = (await eventsNamed(runtime, workspaceId, "credits/expired")).map(
      (e) => e.data.credits,
    );
    expect(expired.sort()).toEqual([400, 500]);
    expect(await liveGrants(workspaceId)).toEqual([
      { source: "tier_allocation", remaining: 1_000, expiresAt: "2027-05-15T09:00:00.000Z" },
      { source: "rollover", remaining: 1_000, expiresAt: "2027-05-15T09:00:00.000Z" },
      { source: "rollover", remaining: 500, expiresAt: "2027-06-15T09:00:00.000Z" },
    ]);
    expect(await balanceOf(workspaceId)).toBe(2_500);
  });

  it("keeps the anchor day: created on the 31st, periods end Feb 28, Mar 31, Apr 30", async () => {
    const { workspaceId } = await workspaceOn("2027-01-31T12:00:00Z");
    await rollAt("2027-02-28T12:00:00Z");
    await rollAt("2027-03-31T12:00:00Z");
    await rollAt("2027-04-30T11:59:59Z");

    expect((await periodsOf(workspaceId)).map((p) => [p.status, p.endsAt.toISOString()])).toEqual([
      ["closed", "2027-02-28T12:00:00.000Z"],
      ["closed", "2027-03-31T12:00:00.000Z"],
      ["open", "2027-04-30T12:00:00.000Z"],
    ]);
  });

  it("counts held credits as used, and a hold released after the close gives nothing back", async () => {
    const { workspaceId, userId } = await workspaceOn("2027-01-16T09:00:00Z");
    const actor = { type: "user", userId } as const;
    const hold = await execute(
      runtime,
      placeHold,
      { workspaceId, credits: 200, expiresInSeconds: 7 * 24 * 3600 },
      { actor },
    );
    await consume(runtime, workspaceId, 400);

    clock.set("2027-02-16T09:00:00Z");
    await sweepCycles(runtime);
    expect((await periodsOf(workspaceId))[0]).toMatchObject({ rolledOverCredits: 400 });
    expect(await balanceOf(workspaceId)).toBe(1_400);

    // The held credits belong to the closed period's allowance, which has expired.
    const released = await execute(
      runtime,
      releaseHold,
      { workspaceId, holdId: hold.holdId },
      { actor },
    );
    expect(released).toMatchObject({ status: "released", balance: 1_400 });
    expect((await eventsNamed(runtime, workspaceId, "credits/expired")).map((e) => e.data)).toEqual(
      [expect.objectContaining({ credits: 200, balanceAfter: 1_400 })],
    );
  });

  it("sends no low-balance notice when the new allowance replaces the expiring one", async () => {
    const { workspaceId } = await workspaceOn("2027-01-17T09:00:00Z", {
      rolloverCapCredits: null,
    });
    await consume(runtime, workspaceId, 500);
    await rollAt("2027-02-17T09:00:00Z");

    expect(await balanceOf(workspaceId)).toBe(1_000);
    expect(await eventsNamed(runtime, workspaceId, "credits/low-balance")).toEqual([]);
    expect((await balanceSummary(runtime.db, workspaceId)).belowThreshold).toBe(false);
  });

  it("reports a real crossing at the close once, with the balance the close ends on", async () => {
    const { workspaceId } = await workspaceOn("2027-01-18T09:00:00Z", {
      rolloverCapCredits: null,
    });
    await consume(runtime, workspaceId, 50);
    // The tier's allowance drops to 60 for the periods to come: the close ends below 100.
    const [row] = await runtime.db
      .select({ tierId: workspaces.tierId })
      .from(workspaces)
      .where(eq(workspaces.id, workspaceId));
    await runtime.db
      .update(tiers)
      .set({ monthlyCredits: 60 })
      .where(eq(tiers.id, row?.tierId ?? ""));
    await rollAt("2027-02-18T09:00:00Z");

    expect(await balanceOf(workspaceId)).toBe(60);
    expect(
      (await eventsNamed(runtime, workspaceId, "credits/low-balance")).map((e) => e.data),
    ).toEqual([{ workspaceId, balance: 60, threshold: 100 }]);
    expect((await balanceSummary(runtime.db, workspaceId)).belowThreshold).toBe(true);

    // Still below after the next close: no second notice.
    await rollAt("2027-03-18T09:00:00Z");
    expect(await eventsNamed(runtime, workspaceId, "credits/low-balance")).toHaveLength(1);
  });
});

describe("the period sweep", () => {
  it("catches up several missed periods to the same state as closing each on time", async () => {
    const onTime = await workspaceOn("2027-05-03T09:00:00Z");
    const late = await makeWorkspace(runtime, {
      tierCode: (
        await runtime.db
          .select({ code: tiers.code })
          .from(workspaces)
          .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
          .where(eq(workspaces.id, onTime.workspaceId))
      )[0]?.code,
    });
    touched.add(late.workspaceId);
    for (const { workspaceId } of [onTime, late]) await consume(runtime, workspaceId, 600);

    // The late workspace is not swept while suspended, as if the sweep had not run for it.
    await setStatus(late.workspaceId, "suspended");
    for (const at of ["2027-06-03T09:00:00Z", "2027-07-03T09:00:00Z", "2027-08-03T09:00:00Z"]) {
      await rollAt(at);
    }
    expect(await periodsOf(late.workspaceId)).toHaveLength(1);
    await setStatus(late.workspaceId, "active");
    clock.set("2027-08-20T00:00:00Z");
    await sweepCycles(runtime);

    const shape = async (workspaceId: string) => ({
      periods: (await periodsOf(workspaceId)).map((p) => ({
        sequence: p.sequence,
        status: p.status,
        rolled: p.rolledOverCredits,
        endsAt: p.endsAt.toISOString(),
      })),
      balance: await balanceOf(workspaceId),
      grants: await liveGrants(workspaceId),
    });
    const expected = await shape(onTime.workspaceId);
    expect(expected.balance).toBe(2_000);
    expect(expected.periods.map((p) => p.rolled)).toEqual([400, 1_000, 1_000, null]);
    expect(await shape(late.workspaceId)).toEqual(expected);
    expect(await eventsNamed(runtime, late.workspaceId, "credits/rolled-over")).toHaveLength(3);
  });

  it("rolls each period once when two sweeps run at the same moment", async () => {
    const { workspaceId } = await workspaceOn("2027-09-05T09:00:00Z");
    await consume(runtime, workspaceId, 600);
    clock.set("2027-11-05T09:30:00Z");

    await Promise.all([
      runCron(runtime, sweepBillingCycles),
      runCron(runtime, sweepBillingCycles),
      runCron(runtime, sweepBillingCycles),
    ]);
    await drain(runtime);
    await sweepCycles(runtime);

    expect((await periodsOf(workspaceId)).map((p) => [p.sequence, p.rolledOverCredits])).toEqual([
      [1, 400],
      [2, 1_000],
      [3, null],
    ]);
    expect(await eventsNamed(runtime, workspaceId, "credits/rolled-over")).toHaveLength(2);
    expect(await balanceOf(workspaceId)).toBe(2_000);
  });

  it("closes a period while the workspace is consuming", async () => {
    const { workspaceId } = await workspaceOn("2028-02-08T09:00:00Z");
    await consume(runtime, workspaceId, 100);
    clock.set("2028-03-08T09:00:00Z");

    // The sweep measures the unused allowance and then moves it: a consumption in between must
    // wait, or the move finds less than was measured.
    const sweep = sweepCycles(runtime).then(
      () => "closed",
      (error: unknown) => error,
    );
    const calls = await Promise.all(
      Array.from({ length: 40 }, () => consume(runtime, workspaceId, 3)),
    );
    expect(await sweep).toBe("closed");
    expect(calls.every((call) => call.allowed)).toBe(true);

    const [closed] = await periodsOf(workspaceId);
    expect(closed).toMatchObject({ status: "closed" });
    // The cap is above the allowance, so whatever the order nothing is forfeited: 1,000 - 220
    // spent + the new 1,000.
    expect(await balanceOf(workspaceId)).toBe(1_780);
    expect(await eventsNamed(runtime, workspaceId, "credits/rolled-over")).toHaveLength(1);
  });

  it("never deadlocks with transfers between two workspaces it closes", async () => {
    clock.set("2028-04-09T09:00:00Z");
    const owner = await makeUser(runtime);
    const actor = { type: "user", userId: owner.id } as const;
    // The higher id's periods end a second earlier, so a sweep taking them by end would lock
    // its balance first: the opposite of a transfer, which locks the lower id first.
    // Transfers are a tier feature that Free lacks.
    const { code: tierCode } = await freeWithEveryFeature(runtime);
    const high = (await makeWorkspace(runtime, { userId: owner.id, tierCode })).workspaceId;
    touched.add(high);
    let low = high;
    while (low >= high) {
      clock.set("2028-04-09T09:00:01Z");
      low = (await makeWorkspace(runtime, { userId: owner.id, tierCode })).workspaceId;
      touched.add(low);
    }

    for (let month = 1; month <= 6; month++) {
      clock.set(new Date(Date.UTC(2028, 3 + month, 9, 9, 0, 1)));
      const outcomes = await Promise.allSettled([
        sweepCycles(runtime),
        ...[
          [low, high],
          [high, low],
        ].map(([from, to]) =>
          execute(
            runtime,
            transferCredits,
            { fromWorkspaceId: from!, toWorkspaceId: to!, credits: 1, reason: "Sweep race" },
            { actor },
          ),
        ),
      ]);
      expect(outcomes.map((outcome) => outcome.status)).toEqual([
        "fulfilled",
        "fulfilled",
        "fulfilled",
      ]);
      for (const workspaceId of [low, high]) {
        expect((await periodsOf(workspaceId)).at(-1)).toMatchObject({ sequence: month + 1 });
      }
    }
  });

  it("lets consumption use an ended period's allowance until the sweep closes it", async () => {
    const { workspaceId } = await workspaceOn("2027-12-07T09:00:00Z");
    clock.set("2028-01-07T10:00:00Z");
    expect(await consume(runtime, workspaceId, 600)).toMatchObject({ allowed: true, balance: 400 });
    expect(await eventsNamed(runtime, workspaceId, "credits/expired")).toEqual([]);

    await sweepCycles(runtime);
    expect(await balanceOf(workspaceId)).toBe(1_400);
  });
});

async function setStatus(workspaceId: string, status: "active" | "suspended" | "cancelled") {
  await runtime.db.update(workspaces).set({ status }).where(eq(workspaces.id, workspaceId));
}
