import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { subscriptions, workspaceMembers } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import type { Runtime } from "@/server/runtime";
import { consume } from "@/test/support/credits";
import { failure } from "@/test/support/failure";
import {
  callerFor,
  expectLedgerInvariant,
  makeUser,
  makeWorkspace,
  testRuntime,
} from "@/test/support/runtime";
import { makeTier } from "@/test/support/tiers";

import { projectOverage, type OverageProjectionInput } from "./forecast";

const JANUARY = {
  periodStart: new Date("2027-01-01T00:00:00Z"),
  periodEnd: new Date("2027-02-01T00:00:00Z"),
};
const day = (n: number) => new Date(Date.UTC(2027, 0, 1 + n));

describe("projecting a period's overage", () => {
  // 10 of January's 31 days gone: 21 left. 10,000 credits so far → 21,000 more at that rate.
  const base: OverageProjectionInput = {
    ...JANUARY,
    now: day(10),
    consumedCredits: 10_000,
    overageCredits: 0,
    balance: 5_000,
    policy: "soft_cap",
    capCredits: 10_000,
    unitCredits: 1_000,
    unitPriceMinor: 200,
  };

  it("projects the rest of the period from the rate so far, capped by the soft cap", () => {
    expect(projectOverage(base)).toEqual({
      creditsPerDay: 1_000,
      projectedConsumedCredits: 31_000,
      shortfallCredits: 16_000,
      projectedOverageCredits: 10_000,
      capped: true,
      projectedAmountMinor: 2_000,
    });
  });

  it("adds the overage already recorded to what the rest of the period will draw", () => {
    expect(
      projectOverage({ ...base, overageCredits: 1_500, balance: 20_000, capCredits: 50_000 }),
    ).toMatchObject({
      shortfallCredits: 1_000,
      projectedOverageCredits: 2_500,
      capped: false,
      // 2,500 × 200 / 1,000 = 500.
      projectedAmountMinor: 500,
    });
  });

  it("projects no overage while the balance covers the rest of the period", () => {
    expect(projectOverage({ ...base, balance: 21_000 })).toMatchObject({
      shortfallCredits: 0,
      projectedOverageCredits: 0,
      projectedAmountMinor: 0,
      capped: false,
    });
  });

  it("bills nothing past what is recorded under a hard stop, and no cap under auto top-up", () => {
    expect(projectOverage({ ...base, policy: "hard_stop" })).toMatchObject({
      shortfallCredits: 16_000,
      projectedOverageCredits: 0,
      capped: true,
    });
    expect(projectOverage({ ...base, policy: "auto_top_up" })).toMatchObject({
      projectedOverageCredits: 16_000,
      capped: false,
      projectedAmountMinor: 3_200,
    });
  });

  it("rounds projected credits half to even and amounts like the invoice's overage line", () => {
    const lastHour = {
      ...base,
      periodEnd: new Date("2027-01-01T03:00:00Z"),
      now: new Date("2027-01-01T02:00:00Z"),
      balance: 0,
      policy: "auto_top_up" as const,
    };
    // 2 hours gone, 1 left: 1 credit → 0.5 more, rounded to 0; 3 → 1.5, rounded to 2.
    expect(projectOverage({ ...lastHour, consumedCredits: 1 })).toMatchObject({
      projectedConsumedCredits: 1,
      projectedOverageCredits: 0,
    });
    expect(projectOverage({ ...lastHour, consumedCredits: 3 })).toMatchObject({
      projectedConsumedCredits: 5,
      projectedOverageCredits: 2,
      // 12 a day from 3 in 2 hours is exactly 36: no rounding up needed.
      creditsPerDay: 36,
    });
    // 1,000 credits in 3 days, 28 left: 9,333.33… → 9,333; priced 9,333 × 7 / 1,000 = 65.33 → 65.
    expect(
      projectOverage({
        ...base,
        now: day(3),
        consumedCredits: 1_000,
        balance: 0,
        policy: "auto_top_up",
        unitPriceMinor: 7,
      }),
    ).toMatchObject({
      projectedOverageCredits: 9_333,
      projectedAmountMinor: 65,
      creditsPerDay: 334,
    });
  });

  it("projects nothing in the period's first hour or once it is over", () => {
    expect(projectOverage({ ...base, now: new Date("2027-01-01T00:59:59Z") })).toBeNull();
    expect(projectOverage({ ...base, now: new Date("2027-01-01T01:00:00Z") })).not.toBeNull();
    expect(projectOverage({ ...base, now: JANUARY.periodEnd })).toBeNull();
  });

  it("refuses credits that are not whole numbers", () => {
    expect(() => projectOverage({ ...base, consumedCredits: 1.5 })).toThrow(RangeError);
    expect(() => projectOverage({ ...base, overageCredits: -1 })).toThrow(RangeError);
  });
});

describe("the overage forecast query", () => {
  const clock = new ManualClock("2027-01-01T00:00:00Z");
  let runtime: Runtime;
  let softCap: string;

  beforeAll(async () => {
    runtime = await testRuntime({ clock });
    // 1,000 credits a month; overage up to 5,000 credits at 2.00 per 1,000.
    softCap = (
      await makeTier(runtime, {
        overagePolicy: "soft_cap",
        overageCapCredits: 5_000,
        overageUnitCredits: 1_000,
        overageUnitPriceMinor: 200,
      })
    ).code;
  });
  afterAll(async () => {
    await runtime.stop();
  });

  async function subscribedWorkspace() {
    const created = await makeWorkspace(runtime, { tierCode: softCap });
    await runtime.db.insert(subscriptions).values({
      workspaceId: created.workspaceId,
      currency: "USD",
      anchorAt: JANUARY.periodStart,
      currentPeriodStart: JANUARY.periodStart,
      currentPeriodEnd: JANUARY.periodEnd,
    });

    return { ...created, caller: await callerFor(runtime, created.userId) };
  }

  it("projects the period's overage from its consumption and prices it", async () => {
    clock.set("2027-01-01T00:30:00Z");
    const { workspaceId, caller } = await subscribedWorkspace();

    expect(await caller.billingForecast.overageForecast({ workspaceId })).toMatchObject({
      consumedCredits: 0,
      balance: 1_000,
      projection: null,
      runsOutAt: null,
    });

    clock.set(day(5));
    // 1,000 from the balance, 200 past it as overage.
    await consume(runtime, workspaceId, 1_200);
    clock.set(day(10));

    expect(await caller.billingForecast.overageForecast({ workspaceId })).toEqual({
      currency: "USD",
      ...JANUARY,
      policy: "soft_cap",
      capCredits: 5_000,
      unitCredits: 1_000,
      unitPriceMinor: 200,
      consumedCredits: 1_200,
      balance: 0,
      overageCreditsSoFar: 200,
      overageAmountSoFarMinor: 40,
      projection: {
        // 1,200 in 10 days: 2,520 more in the 21 left, all of it overage.
        creditsPerDay: 120,
        projectedConsumedCredits: 3_720,
        shortfallCredits: 2_520,
        projectedOverageCredits: 2_720,
        capped: false,
        projectedAmountMinor: 544,
      },
      runsOutAt: day(10),
      rounding: "credits half-even to a whole credit; amounts half-even to the minor unit",
    });
    await expectLedgerInvariant(runtime, workspaceId);
  });

  it("is null without a subscription, and for the billing role and up", async () => {
    clock.set(day(10));
    const { workspaceId, caller } = await subscribedWorkspace();
    const other = await makeWorkspace(runtime, { tierCode: softCap });
    const otherCaller = await callerFor(runtime, other.userId);
    expect(
      await otherCaller.billingForecast.overageForecast({ workspaceId: other.workspaceId }),
    ).toBeNull();

    const billing = await makeUser(runtime);
    const member = await makeUser(runtime);
    await runtime.db.insert(workspaceMembers).values([
      { workspaceId, userId: billing.id, role: "billing" },
      { workspaceId, userId: member.id, role: "member" },
    ]);
    expect(
      await (await callerFor(runtime, billing.id)).billingForecast.overageForecast({ workspaceId }),
    ).toMatchObject({ balance: 1_000, projection: expect.objectContaining({ creditsPerDay: 0 }) });
    expect(
      await failure(
        (await callerFor(runtime, member.id)).billingForecast.overageForecast({ workspaceId }),
      ),
    ).toMatchObject({ code: "FORBIDDEN" });
    expect(await caller.billingForecast.overageForecast({ workspaceId })).not.toBeNull();
  });
});
