import { and, eq, sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { dailyMetrics, usageRecords, workspaces } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import type { Runtime } from "@/server/runtime";
import { bytesCosting, consume } from "@/test/support/credits";
import { drain, expectLedgerInvariant, makeWorkspace, testRuntime } from "@/test/support/runtime";
import { eventsNamed, makeTier } from "@/test/support/tiers";

import { consumeBatch, consumeBatchInput, MAX_BATCH, type BatchItemResult } from "./consume";
import { balanceSummary } from "./queries";

/** Batch consumption on the free tier: 1,250 credits, threshold 100. */
const clock = new ManualClock("2027-08-02T07:00:00Z");
let runtime: Runtime;
const touched = new Set<string>();

beforeAll(async () => {
  runtime = await testRuntime({ clock });
});
afterEach(async () => {
  for (const workspaceId of touched) await expectLedgerInvariant(runtime, workspaceId);
  touched.clear();
});
afterAll(async () => {
  await runtime.stop();
});

async function freshWorkspace(tierCode = "free") {
  const workspace = await makeWorkspace(runtime, { tierCode });
  touched.add(workspace.workspaceId);

  return workspace;
}

const item = (credits: number, idempotencyKey: string, featureCode = "summarize") => ({
  featureCode,
  inputBytes: bytesCosting(credits),
  idempotencyKey,
});

function batch(workspaceId: string, items: ReturnType<typeof item>[]) {
  return execute(
    runtime,
    consumeBatch,
    { workspaceId, items },
    { actor: { type: "api_key", apiKeyId: "00000000-0000-4000-8000-000000000001" } },
  );
}

async function balanceOf(workspaceId: string) {
  return (await balanceSummary(runtime.db, workspaceId)).balance;
}

async function usageCount(workspaceId: string, outcome: "consumed" | "rejected") {
  const [row] = await runtime.db
    .select({ n: sql<number>`count(*)::int` })
    .from(usageRecords)
    .where(and(eq(usageRecords.workspaceId, workspaceId), eq(usageRecords.outcome, outcome)));

  return row?.n ?? 0;
}

async function metric(name: string) {
  const [row] = await runtime.db
    .select({ value: dailyMetrics.value })
    .from(dailyMetrics)
    .where(and(eq(dailyMetrics.day, "2027-08-02"), eq(dailyMetrics.metric, name)));

  return row?.value ?? 0;
}

describe("batch consumption", () => {
  it("counts a batch's credits by feature in the daily metrics through one event", async () => {
    const { workspaceId } = await freshWorkspace();
    await drain(runtime);
    const names = ["credits_consumed", "credits_consumed:summarize", "credits_consumed:translate"];
    const before = await Promise.all(names.map(metric));

    const results = await batch(workspaceId, [
      item(10, "m1"),
      { featureCode: "translate", inputBytes: 0, idempotencyKey: "m2" },
      item(20, "m3"),
      item(5_000, "m4"),
    ]);
    expect(results.map((result) => result.status)).toEqual([
      "consumed",
      "consumed",
      "consumed",
      "refused",
    ]);
    expect(
      (await eventsNamed(runtime, workspaceId, "credits/consumed")).map((e) => e.data),
    ).toEqual([
      {
        workspaceId,
        consumptions: 3,
        credits: 32,
        balanceAfter: 1_218,
        features: [
          { featureCode: "summarize", consumptions: 2, credits: 30 },
          { featureCode: "translate", consumptions: 1, credits: 2 },
        ],
      },
    ]);

    await drain(runtime);
    const after = await Promise.all(names.map(metric));
    expect(after.map((value, i) => value - before[i]!)).toEqual([32, 30, 2]);
  });

  it("answers each item on its own; duplicates, refusals and errors never fail the batch", async () => {
    const { workspaceId } = await freshWorkspace();
    const earlier = await consume(runtime, workspaceId, 5, "sent-before");

    const results = await batch(workspaceId, [
      item(10, "a"),
      item(5, "sent-before"), // replay of an earlier request
      item(10, "a"), // replay of an item in this batch
      item(5_000, "too-big"), // more than the balance
      item(3, "b", "teleport"), // unknown feature
      item(11, "a"), // key reused with other parameters
      item(20, "c"),
    ]);

    expect(results.map((result) => result.status)).toEqual([
      "consumed",
      "duplicate",
      "duplicate",
      "refused",
      "error",
      "error",
      "consumed",
    ]);
    const [a, sentBefore, aAgain, tooBig, unknown, conflict, c] = results as [
      BatchItemResult,
      ...BatchItemResult[],
    ];
    expect(a).toMatchObject({ allowed: true, credits: 10, balance: 1_235, replayed: false });
    expect(sentBefore).toEqual({ status: "duplicate", ...earlier, replayed: true });
    expect(aAgain).toEqual({ ...a, status: "duplicate", replayed: true });
    expect(tooBig).toMatchObject({ allowed: false, credits: 5_000, balance: 1_235 });
    expect(unknown).toEqual({
      status: "error",
      error: { code: "invalid_request", message: expect.any(String), field: "featureCode" },
    });
    expect(conflict).toMatchObject({
      status: "error",
      error: { code: "idempotency_conflict" },
    });
    expect(c).toMatchObject({ status: "consumed", credits: 20, balance: 1_215 });

    expect(await balanceOf(workspaceId)).toBe(1_215);
    expect(await usageCount(workspaceId, "consumed")).toBe(3);
    expect(await usageCount(workspaceId, "rejected")).toBe(1);
    const consumed = (consumptions: number, credits: number, balanceAfter: number) => ({
      workspaceId,
      consumptions,
      credits,
      balanceAfter,
      features: [{ featureCode: "summarize", consumptions, credits }],
    });
    // One per transaction too: the earlier consumption, then the batch's two that drew credits.
    expect(
      (await eventsNamed(runtime, workspaceId, "credits/consumed")).map((e) => e.data),
    ).toEqual([consumed(1, 5, 1_245), consumed(2, 30, 1_215)]);
    const summarize = (consumed: number, rejected: number, credits: number) => ({
      workspaceId,
      features: [{ featureCode: "summarize", consumed, rejected, credits }],
      records: consumed + rejected,
    });
    const logged = async () =>
      (await eventsNamed(runtime, workspaceId, "usage/logged")).map((e) => e.data);
    // One per transaction: the earlier consumption, then the batch's three records.
    expect(await logged()).toEqual([summarize(1, 0, 5), summarize(2, 1, 30)]);

    // The whole batch again: every item that got an answer is now a duplicate with that answer.
    const again = await batch(workspaceId, [item(10, "a"), item(5_000, "too-big"), item(20, "c")]);
    expect(again).toEqual([
      { ...a, status: "duplicate", replayed: true },
      { ...tooBig, status: "duplicate", replayed: true },
      { ...c, status: "duplicate", replayed: true },
    ]);
    expect(await balanceOf(workspaceId)).toBe(1_215);
    expect(await logged()).toHaveLength(2);
  });

  it("leaves an item that failed free to be sent again", async () => {
    const { workspaceId } = await freshWorkspace();
    const [failed] = await batch(workspaceId, [item(3, "retry-me", "teleport")]);
    expect(failed?.status).toBe("error");

    const [retried] = await batch(workspaceId, [item(3, "retry-me")]);
    expect(retried).toMatchObject({ status: "consumed", credits: 3, replayed: false });
  });

  it("emits one low-balance notice for a batch that crosses the threshold", async () => {
    const { workspaceId } = await freshWorkspace();
    const results = await batch(
      workspaceId,
      Array.from({ length: 30 }, (_, i) => item(45, `k-${i}`)),
    );

    // 27 calls of 45 fit in 1,250; the rest are refused.
    expect(results.filter((result) => result.status === "consumed")).toHaveLength(27);
    expect(results.filter((result) => result.status === "refused")).toHaveLength(3);
    expect(await balanceOf(workspaceId)).toBe(1_250 - 27 * 45);
    expect(await eventsNamed(runtime, workspaceId, "credits/low-balance")).toHaveLength(1);
  });

  it("goes into overage under a soft cap, item by item", async () => {
    const { code } = await makeTier(runtime, {
      monthlyCredits: 10,
      overagePolicy: "soft_cap",
      overageCapCredits: 15,
      lowBalanceThreshold: 0,
    });
    const { workspaceId } = await freshWorkspace(code);
    const results = await batch(workspaceId, [
      item(8, "x"),
      item(8, "y"),
      item(8, "z"),
      item(2, "w"),
    ]);

    expect(results).toMatchObject([
      { status: "consumed", overageCredits: 0, balance: 2 },
      { status: "consumed", overageCredits: 6, balance: 0 },
      { status: "consumed", overageCredits: 8, balance: 0 },
      { status: "refused", overageCredits: 0, balance: 0 },
    ]);
    expect(await eventsNamed(runtime, workspaceId, "credits/overage")).toHaveLength(2);
  });

  it("takes up to 1,000 items and refuses 1,001 before touching anything", async () => {
    const { workspaceId } = await freshWorkspace();
    const items = (count: number, prefix: string) =>
      Array.from({ length: count }, (_, i) => item(1, `${prefix}-${i}`));
    // Running 1,000 items takes too long for a unit test; the limit itself is the schema's.
    expect(
      consumeBatchInput.safeParse({ workspaceId, items: items(MAX_BATCH, "max") }).success,
    ).toBe(true);

    await expect(batch(workspaceId, items(MAX_BATCH + 1, "over"))).rejects.toMatchObject({
      code: "invalid_request",
      field: "items",
      message: "A batch holds at most 1000 items",
    });
    await expect(batch(workspaceId, [])).rejects.toMatchObject({ code: "invalid_request" });
    expect(await balanceOf(workspaceId)).toBe(1_250);
    expect(await usageCount(workspaceId, "rejected")).toBe(0);

    const results = await batch(workspaceId, items(100, "hundred"));
    expect(results.every((result) => result.status === "consumed")).toBe(true);
    expect(await balanceOf(workspaceId)).toBe(1_150);
  });

  it("refuses the whole batch for a suspended workspace", async () => {
    const { workspaceId } = await freshWorkspace();
    await runtime.db
      .update(workspaces)
      .set({ status: "suspended" })
      .where(eq(workspaces.id, workspaceId));

    await expect(batch(workspaceId, [item(1, "s")])).rejects.toMatchObject({
      code: "workspace_suspended",
    });
    expect(await usageCount(workspaceId, "consumed")).toBe(0);
  });

  it("charges once when single calls race a batch holding the same keys", async () => {
    const { workspaceId } = await freshWorkspace();
    const items = Array.from({ length: 15 }, (_, i) => item(2, `shared-${i}`));
    // The single calls take the keys in the opposite order from the batch.
    const [batched, singles] = await Promise.all([
      batch(workspaceId, items),
      Promise.all(
        items.toReversed().map((one) => consume(runtime, workspaceId, 2, one.idempotencyKey)),
      ),
    ]);

    const fresh =
      batched.filter((result) => result.status === "consumed").length +
      singles.filter((result) => !result.replayed).length;
    expect(fresh).toBe(15);
    expect(await balanceOf(workspaceId)).toBe(1_250 - 30);
  });

  it("charges once when the same batch is sent twice at once", async () => {
    const { workspaceId } = await freshWorkspace();
    const items = Array.from({ length: 20 }, (_, i) => item(2, `twice-${i}`));
    const [first, second] = await Promise.all([
      batch(workspaceId, items),
      batch(workspaceId, items),
    ]);

    const statuses = [...first, ...second].map((result) => result.status);
    expect(statuses.filter((status) => status === "consumed")).toHaveLength(20);
    expect(statuses.filter((status) => status === "duplicate")).toHaveLength(20);
    expect(await balanceOf(workspaceId)).toBe(1_250 - 40);
  });
});
