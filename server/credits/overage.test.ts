import { and, eq, sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { creditLedgerEntries, overageRecords, usageRecords } from "@/drizzle/schema";
import { handleMeteringRequest } from "@/server/api/metering";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import type { Runtime } from "@/server/runtime";
import { apiKeyFor, bytesCosting, consume, grant } from "@/test/support/credits";
import { expectLedgerInvariant, makeWorkspace, testRuntime } from "@/test/support/runtime";
import { eventsNamed, makeTier } from "@/test/support/tiers";

import { placeHold, releaseHold } from "./holds";
import { balanceSummary } from "./queries";

/**
 * Overage policies and the low-balance threshold. The soft-cap tier grants
 * 50 credits a period, no bonus, threshold 10, and lets a workspace go 100
 * credits past zero per billing period.
 */
const clock = new ManualClock("2027-06-10T12:00:00Z");
let runtime: Runtime;
const touched = new Set<string>();

beforeAll(async () => {
  runtime = await testRuntime({ clock, pool: 16 });
});
afterEach(async () => {
  for (const workspaceId of touched) await expectLedgerInvariant(runtime, workspaceId);
  touched.clear();
});
afterAll(async () => {
  await runtime.stop();
});

async function softCapWorkspace() {
  const { code } = await makeTier(runtime, {
    monthlyCredits: 50,
    lowBalanceThreshold: 10,
    overagePolicy: "soft_cap",
    overageCapCredits: 100,
  });
  const workspace = await makeWorkspace(runtime, { tierCode: code });
  touched.add(workspace.workspaceId);

  return workspace;
}

async function balanceOf(workspaceId: string) {
  return (await balanceSummary(runtime.db, workspaceId)).balance;
}

async function overageOf(workspaceId: string) {
  return runtime.db
    .select({
      usageRecordId: overageRecords.usageRecordId,
      credits: overageRecords.credits,
      periodStart: overageRecords.periodStart,
    })
    .from(overageRecords)
    .where(eq(overageRecords.workspaceId, workspaceId))
    .orderBy(overageRecords.createdAt, overageRecords.credits);
}

async function post(key: string, idempotencyKey: string, credits: number) {
  const response = await handleMeteringRequest(
    runtime,
    new Request("http://localhost/api/v1/usage", {
      method: "POST",
      headers: {
        authorization: `Bearer ${key}`,
        "idempotency-key": idempotencyKey,
        "content-type": "application/json",
      },
      body: JSON.stringify({ feature: "summarize", inputBytes: bytesCosting(credits) }),
    }),
  );

  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("soft-cap overage", () => {
  it("goes past zero up to the cap, records the overage and emits credits/overage", async () => {
    const { workspaceId } = await softCapWorkspace();
    await consume(runtime, workspaceId, 30); // 20 left

    const over = await consume(runtime, workspaceId, 50, "over-1");
    expect(over).toMatchObject({ allowed: true, credits: 50, overageCredits: 30, balance: 0 });
    // The balance stays at zero; the ledger holds only the 20 credits there were.
    const entries = await runtime.db
      .select({ amount: creditLedgerEntries.amount })
      .from(creditLedgerEntries)
      .where(eq(creditLedgerEntries.usageRecordId, over.usageRecordId));
    expect(entries).toEqual([{ amount: -20 }]);
    const [usage] = await runtime.db
      .select()
      .from(usageRecords)
      .where(eq(usageRecords.id, over.usageRecordId));
    expect(usage).toMatchObject({ credits: 50, outcome: "consumed" });
    expect(await overageOf(workspaceId)).toEqual([
      {
        usageRecordId: over.usageRecordId,
        credits: 30,
        periodStart: new Date("2027-06-10T12:00:00Z"),
      },
    ]);
    expect((await eventsNamed(runtime, workspaceId, "credits/overage")).map((e) => e.data)).toEqual(
      [{ workspaceId, usageRecordId: over.usageRecordId, overageCredits: 30 }],
    );
    expect(await eventsNamed(runtime, workspaceId, "credits/consumed")).toHaveLength(2);

    // A replay answers the same and records no second overage.
    expect(await consume(runtime, workspaceId, 50, "over-1")).toEqual({ ...over, replayed: true });
    expect(await overageOf(workspaceId)).toHaveLength(1);

    // 70 more brings the month's overage to the cap exactly; one credit past it is refused.
    expect(await consume(runtime, workspaceId, 70)).toMatchObject({
      allowed: true,
      overageCredits: 70,
      balance: 0,
    });
    const refused = await consume(runtime, workspaceId, 1, "past-cap");
    expect(refused).toMatchObject({ allowed: false, overageCredits: 0, balance: 0 });
    expect((await overageOf(workspaceId)).map((row) => row.credits)).toEqual([30, 70]);
    expect(await eventsNamed(runtime, workspaceId, "credits/overage")).toHaveLength(2);
    const [rejected] = await runtime.db
      .select({ outcome: usageRecords.outcome })
      .from(usageRecords)
      .where(eq(usageRecords.id, refused.usageRecordId));
    expect(rejected?.outcome).toBe("rejected");
  });

  it("answers 402 with allowed false and the balance past the cap", async () => {
    const { workspaceId, userId } = await softCapWorkspace();
    const key = await apiKeyFor(runtime, workspaceId, userId);
    expect(await post(key, "a", 140)).toMatchObject({
      status: 200,
      body: { allowed: true, balance: 0, credits: 140 },
    });

    const response = await post(key, "b", 11);
    expect(response).toMatchObject({
      status: 402,
      body: {
        allowed: false,
        balance: 0,
        required: 11,
        error: { code: "insufficient_credits" },
      },
    });
    // What the cap has room for still goes through.
    expect(await post(key, "c", 10)).toMatchObject({ status: 200, body: { allowed: true } });
  });

  it("counts overage per billing period, from the workspace's anchor", async () => {
    const { workspaceId } = await softCapWorkspace();
    await consume(runtime, workspaceId, 150); // 50 from the balance, 100 over: the cap
    expect(await consume(runtime, workspaceId, 1)).toMatchObject({ allowed: false });

    // The last second of the period is still in it; the next period starts with a fresh cap,
    // even before the sweep has started the ended period's cycle.
    clock.set("2027-07-10T11:59:59Z");
    expect(await consume(runtime, workspaceId, 1)).toMatchObject({ allowed: false });
    clock.set("2027-07-10T12:00:00Z");
    expect(await consume(runtime, workspaceId, 1)).toMatchObject({
      allowed: true,
      overageCredits: 1,
    });
    expect((await overageOf(workspaceId)).map((row) => row.periodStart.toISOString())).toEqual([
      "2027-06-10T12:00:00.000Z",
      "2027-07-10T12:00:00.000Z",
    ]);
    clock.set("2027-06-10T12:00:00Z");
  });

  it("never lets concurrent calls past the cap", async () => {
    const { workspaceId } = await softCapWorkspace();
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) => consume(runtime, workspaceId, 7, `burst-${i}`)),
    );
    const allowed = results.filter((result) => result.allowed);

    // 50 in the balance + 100 of overage = 150 credits: 21 calls of 7 (147), the rest refused.
    expect(allowed).toHaveLength(21);
    const overage = allowed.reduce((sum, result) => sum + result.overageCredits, 0);
    const [recorded] = await runtime.db
      .select({ credits: sql<number>`sum(${overageRecords.credits})::int` })
      .from(overageRecords)
      .where(eq(overageRecords.workspaceId, workspaceId));
    expect(recorded?.credits).toBe(overage);
    expect(overage).toBe(97);
    expect(await balanceOf(workspaceId)).toBe(0);
  });

  it("does not use overage while credits are held, and the hold's credits are not spent twice", async () => {
    const { workspaceId, userId } = await softCapWorkspace();
    const actor = { type: "user", userId } as const;
    const hold = await execute(runtime, placeHold, { workspaceId, credits: 50 }, { actor });

    // Nothing left to spend: the whole call is overage, the held credits stay held.
    expect(await consume(runtime, workspaceId, 20)).toMatchObject({
      allowed: true,
      overageCredits: 20,
      balance: 0,
    });
    await execute(runtime, releaseHold, { workspaceId, holdId: hold.holdId }, { actor });
    expect(await balanceOf(workspaceId)).toBe(50);
  });
});

describe("hard stop", () => {
  it("refuses without drawing and records no overage", async () => {
    const { code } = await makeTier(runtime, {
      monthlyCredits: 50,
      lowBalanceThreshold: 10,
      overagePolicy: "hard_stop",
      overageCapCredits: 100,
    });
    const { workspaceId } = await makeWorkspace(runtime, { tierCode: code });
    touched.add(workspaceId);

    expect(await consume(runtime, workspaceId, 51)).toMatchObject({
      allowed: false,
      balance: 50,
      overageCredits: 0,
    });
    expect(await overageOf(workspaceId)).toEqual([]);
    expect(await balanceOf(workspaceId)).toBe(50);
  });
});

describe("low balance", () => {
  it("fires once per downward crossing, whatever moves the balance", async () => {
    const { workspaceId, userId } = await softCapWorkspace();
    const actor = { type: "user", userId } as const;
    const notices = async () =>
      (await eventsNamed(runtime, workspaceId, "credits/low-balance")).map((e) => e.data.balance);

    await consume(runtime, workspaceId, 40); // 10: at the threshold, not below
    expect(await notices()).toEqual([]);

    // A hold takes it below; consuming further below and overage add no notice.
    const hold = await execute(runtime, placeHold, { workspaceId, credits: 4 }, { actor });
    await consume(runtime, workspaceId, 3);
    await consume(runtime, workspaceId, 20);
    expect(await notices()).toEqual([6]);

    // Releasing the hold brings it back to 4, still below: nothing.
    await execute(runtime, releaseHold, { workspaceId, holdId: hold.holdId }, { actor });
    expect(await notices()).toEqual([6]);

    // Back at the threshold, then below again: the second crossing.
    await grant(runtime, workspaceId, 6, "top-up");
    expect((await balanceSummary(runtime.db, workspaceId)).belowThreshold).toBe(false);
    await consume(runtime, workspaceId, 1);
    expect(await notices()).toEqual([6, 9]);
    expect(
      await runtime.db
        .select()
        .from(creditLedgerEntries)
        .where(
          and(
            eq(creditLedgerEntries.workspaceId, workspaceId),
            eq(creditLedgerEntries.kind, "release"),
          ),
        ),
    ).toHaveLength(1);
  });
});
