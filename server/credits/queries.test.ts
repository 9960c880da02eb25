import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import type { Runtime } from "@/server/runtime";
import { consume } from "@/test/support/credits";
import {
  callerFor,
  expectLedgerInvariant,
  makeWorkspace,
  testRuntime,
} from "@/test/support/runtime";

import { consumeCredits } from "./consume";
import { placeHold } from "./holds";
import {
  balanceDetail,
  ledgerHistory,
  overageStatus,
  rolloverEligibility,
  usageByDay,
} from "./queries";

const clock = new ManualClock("2027-01-10T09:00:00Z");
let runtime: Runtime;

beforeAll(async () => {
  runtime = await testRuntime({ clock });
});
afterAll(async () => {
  await runtime.stop();
});

describe("credit queries", () => {
  it("filters history by kind, feature, API key and time, page by page", async () => {
    const { workspaceId, userId } = await makeWorkspace(runtime);
    const keyActor = { type: "api_key" as const, apiKeyId: crypto.randomUUID() };
    clock.set("2027-01-10T10:00:00Z");
    await consume(runtime, workspaceId, 3);
    clock.set("2027-01-10T11:00:00Z");
    for (let i = 0; i < 3; i++) {
      await execute(
        runtime,
        consumeCredits,
        { workspaceId, featureCode: "translate", inputBytes: 100, idempotencyKey: null },
        { actor: keyActor },
      );
    }
    await execute(
      runtime,
      placeHold,
      { workspaceId, credits: 7, featureCode: "translate" },
      { actor: keyActor },
    );

    const all = await ledgerHistory(runtime.db, workspaceId, { limit: 100 });
    expect(all.entries.map((entry) => entry.kind)).toContain("grant");

    const translate = await ledgerHistory(runtime.db, workspaceId, {
      limit: 100,
      featureCode: "translate",
    });
    expect(translate.entries.map((entry) => entry.kind).sort()).toEqual([
      "consume",
      "consume",
      "consume",
      "hold",
    ]);

    const byKey = await ledgerHistory(runtime.db, workspaceId, {
      limit: 100,
      apiKeyId: keyActor.apiKeyId,
      kinds: ["consume"],
    });
    expect(byKey.entries).toHaveLength(3);

    const early = await ledgerHistory(runtime.db, workspaceId, {
      limit: 100,
      kinds: ["consume"],
      from: new Date("2027-01-10T09:30:00Z"),
      to: new Date("2027-01-10T10:30:00Z"),
    });
    expect(early.entries).toHaveLength(1);
    expect(early.entries[0]?.featureCode).toBe("summarize");

    // Keyset pages: no entry twice, none missing, newest first.
    const seen: number[] = [];
    let cursor: number | undefined;
    do {
      const page = await ledgerHistory(runtime.db, workspaceId, { limit: 2, before: cursor });
      seen.push(...page.entries.map((entry) => entry.id));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(seen).toEqual(all.entries.map((entry) => entry.id));

    const caller = await callerFor(runtime, userId);
    await expect(
      caller.credits.history({
        workspaceId,
        from: new Date("2027-01-11T00:00:00Z"),
        to: new Date("2027-01-10T00:00:00Z"),
      }),
    ).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expectLedgerInvariant(runtime, workspaceId);
  });

  it("sums usage per feature and UTC day with empty days filled in", async () => {
    clock.set("2027-01-08T23:30:00Z");
    const { workspaceId } = await makeWorkspace(runtime);
    await consume(runtime, workspaceId, 4);
    clock.set("2027-01-10T00:10:00Z");
    await consume(runtime, workspaceId, 6);
    await consume(runtime, workspaceId, 5_000); // refused: more than the balance

    const usage = await usageByDay(runtime.db, workspaceId, clock.now(), 3);
    expect(usage.features).toEqual(["summarize"]);
    expect(usage.days.map((day) => day.date)).toEqual(["2027-01-08", "2027-01-09", "2027-01-10"]);
    expect(usage.days.map((day) => day.byFeature[0]?.credits)).toEqual([4, 0, 6]);
    expect(usage.days[2]?.byFeature[0]).toMatchObject({ calls: 1, refused: 1 });
    expect(usage.totals).toEqual([{ featureCode: "summarize", credits: 10, calls: 2 }]);
  });

  it("forecasts depletion from the last week's burn and shows held credits", async () => {
    clock.set("2027-01-01T00:00:00Z");
    const { workspaceId } = await makeWorkspace(runtime);
    // 1,250 credits; 175 used over the week is 25 a day.
    for (let day = 0; day < 7; day++) {
      clock.set(new Date(Date.UTC(2027, 0, 1 + day, 12)).toISOString());
      await consume(runtime, workspaceId, 25);
    }
    clock.set("2027-01-08T00:00:00Z");
    await execute(
      runtime,
      placeHold,
      { workspaceId, credits: 75 },
      { actor: { type: "system", reason: "test" } },
    );

    const detail = await balanceDetail(runtime.db, workspaceId, clock.now());
    expect(detail.balance).toBe(1_000);
    expect(detail.held).toEqual({ credits: 75, holds: 1 });
    expect(detail.forecast).toMatchObject({ kind: "runs_out", creditsPerDay: 25 });
    // The allowance draws first: 1,000 − 175 − 75 = 750 left, of which 24 days × 25 = 600 are
    // used by the period end on 1 Feb and 150 lapse; the 250 bonus never expires and lasts 10
    // more days at 25 a day.
    expect(detail.period?.endsAt).toEqual(new Date("2027-02-01T00:00:00Z"));
    if (detail.forecast.kind !== "runs_out") throw new Error("expected a forecast");
    expect(detail.forecast.runsOutAt).toEqual(new Date("2027-02-11T00:00:00Z"));
    expect(detail.forecast.lapsing).toBe(150);
  });

  it("explains what the open period would roll over, and the overage used", async () => {
    clock.set("2027-01-10T09:00:00Z");
    const { workspaceId } = await makeWorkspace(runtime);
    // Move the workspace to Pro's terms (rollover cap 50%, soft cap 5,000) with Free's period.
    await runtime.db.execute(sql`
      UPDATE workspaces SET tier_id = (SELECT id FROM tiers WHERE code = 'pro' LIMIT 1)
      WHERE id = ${workspaceId}`);
    await consume(runtime, workspaceId, 300);

    const rollover = await rolloverEligibility(runtime.db, workspaceId);
    expect(rollover).toMatchObject({
      allowance: 1_000,
      unused: 700,
      cap: 500,
      rolled: 500,
      forfeited: 200,
    });
    expect(rollover?.explanation).toBe(
      "500 of 700 unused credits carry over: the cap is 500; 200 expire.",
    );

    await consume(runtime, workspaceId, 1_400); // 950 left: 450 past zero
    const overage = await overageStatus(runtime.db, workspaceId, clock.now());
    expect(overage).toMatchObject({ policy: "soft_cap", capCredits: 5_000, usedCredits: 450 });
    await expectLedgerInvariant(runtime, workspaceId);
  });
});
