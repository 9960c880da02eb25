import { and, asc, eq, sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  creditGrants,
  creditHolds,
  creditLedgerEntries,
  usageRecords,
  workspaces,
} from "@/drizzle/schema";
import type { Actor } from "@/server/actor";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import type { Runtime } from "@/server/runtime";
import { consume } from "@/test/support/credits";
import {
  drain,
  expectLedgerInvariant,
  makeUser,
  makeWorkspace,
  runCron,
  testRuntime,
} from "@/test/support/runtime";
import { eventsNamed, freeWithEveryFeature } from "@/test/support/tiers";

import { transferCredits } from "./adjustments";
import { expireHolds, finalizeHold, placeHold, releaseHold } from "./holds";
import { checkInvariant } from "./ledger";
import { balanceSummary } from "./queries";

/**
 * Holds on the free tier: 1,000 allowance + 250 signup bonus = 1,250 credits,
 * low-balance threshold 100. Every test checks the ledger invariant after it.
 */
const clock = new ManualClock("2027-03-03T10:00:00Z");
let runtime: Runtime;
const touched = new Set<string>();

beforeAll(async () => {
  runtime = await testRuntime({ clock, pool: 12 });
});
afterEach(async () => {
  for (const workspaceId of touched) await expectLedgerInvariant(runtime, workspaceId);
  touched.clear();
});
afterAll(async () => {
  await runtime.stop();
});

async function freshWorkspace() {
  const workspace = await makeWorkspace(runtime, { tierCode: "free" });
  touched.add(workspace.workspaceId);

  return { ...workspace, actor: { type: "user", userId: workspace.userId } as Actor };
}

function place(
  workspaceId: string,
  actor: Actor,
  input: {
    credits: number;
    expiresInSeconds?: number;
    featureCode?: string | null;
    idempotencyKey?: string | null;
  },
) {
  return execute(runtime, placeHold, { workspaceId, ...input }, { actor });
}

function finalize(workspaceId: string, actor: Actor, holdId: string, credits: number) {
  return execute(runtime, finalizeHold, { workspaceId, holdId, credits }, { actor });
}

function release(workspaceId: string, actor: Actor, holdId: string) {
  return execute(runtime, releaseHold, { workspaceId, holdId }, { actor });
}

async function balanceOf(workspaceId: string) {
  return (await balanceSummary(runtime.db, workspaceId)).balance;
}

async function holdRow(holdId: string) {
  const [hold] = await runtime.db.select().from(creditHolds).where(eq(creditHolds.id, holdId));

  return hold;
}

async function holdEntries(holdId: string) {
  return runtime.db
    .select({
      kind: creditLedgerEntries.kind,
      amount: creditLedgerEntries.amount,
      source: creditGrants.source,
    })
    .from(creditLedgerEntries)
    .innerJoin(creditGrants, eq(creditGrants.id, creditLedgerEntries.grantId))
    .where(eq(creditLedgerEntries.holdId, holdId))
    .orderBy(asc(creditLedgerEntries.id));
}

describe("placing and finalizing a hold", () => {
  it("reserves the credits, keeps the actual amount and gives the rest back", async () => {
    const { workspaceId, userId, actor } = await freshWorkspace();
    const held = await place(workspaceId, actor, {
      credits: 300,
      featureCode: "summarize",
      idempotencyKey: "job-1",
    });
    expect(held).toMatchObject({ status: "active", credits: 300, balance: 950, replayed: false });
    expect(await balanceOf(workspaceId)).toBe(950);
    await expectLedgerInvariant(runtime, workspaceId);

    const done = await finalize(workspaceId, actor, held.holdId, 120);
    expect(done).toMatchObject({
      holdId: held.holdId,
      status: "finalized",
      credits: 300,
      finalCredits: 120,
      balance: 1_130,
      replayed: false,
    });
    expect(await balanceOf(workspaceId)).toBe(1_130);
    expect(await holdEntries(held.holdId)).toEqual([
      { kind: "hold", amount: -300, source: "tier_allocation" },
      { kind: "release", amount: 180, source: "tier_allocation" },
    ]);

    const usage = await runtime.db
      .select()
      .from(usageRecords)
      .where(eq(usageRecords.workspaceId, workspaceId));
    expect(usage).toEqual([
      expect.objectContaining({
        featureCode: "summarize",
        credits: 120,
        outcome: "consumed",
        userId,
        idempotencyKey: "job-1",
      }),
    ]);

    expect((await eventsNamed(runtime, workspaceId, "credits/held")).map((e) => e.data)).toEqual([
      {
        workspaceId,
        holdId: held.holdId,
        credits: 300,
        expiresAt: "2027-03-03T10:15:00.000Z",
        balanceAfter: 950,
      },
    ]);
    expect(
      (await eventsNamed(runtime, workspaceId, "credits/hold-settled")).map((e) => e.data),
    ).toEqual([
      {
        workspaceId,
        holdId: held.holdId,
        outcome: "finalized",
        heldCredits: 300,
        keptCredits: 120,
        balanceAfter: 1_130,
      },
    ]);
    const consumed = await eventsNamed(runtime, workspaceId, "credits/consumed");
    expect(consumed.map((e) => e.data)).toEqual([
      {
        workspaceId,
        consumptions: 1,
        credits: 120,
        balanceAfter: 1_130,
        features: [{ featureCode: "summarize", consumptions: 1, credits: 120 }],
      },
    ]);
    await drain(runtime);
  });

  it("keeps a hold's key apart from consumptions' keys", async () => {
    const { workspaceId, actor } = await freshWorkspace();
    // A finalized hold records usage under its key, with no input bytes, like this consumption.
    const held = await place(workspaceId, actor, {
      credits: 10,
      featureCode: "summarize",
      idempotencyKey: "job-7",
    });
    await finalize(workspaceId, actor, held.holdId, 1);

    expect(await consume(runtime, workspaceId, 1, "job-7")).toMatchObject({
      replayed: false,
      credits: 1,
      balance: 1_248,
    });
  });

  it("gives back to the grants a hold drew from, the last drawn first", async () => {
    const { workspaceId, actor } = await freshWorkspace();
    // 1,100 spans the 1,000 allowance and 100 of the 250 bonus.
    const held = await place(workspaceId, actor, { credits: 1_100 });
    await finalize(workspaceId, actor, held.holdId, 1_000);

    expect(await holdEntries(held.holdId)).toEqual([
      { kind: "hold", amount: -1_000, source: "tier_allocation" },
      { kind: "hold", amount: -100, source: "signup_bonus" },
      { kind: "release", amount: 100, source: "signup_bonus" },
    ]);
    const grants = await runtime.db
      .select({ source: creditGrants.source, remaining: creditGrants.remaining })
      .from(creditGrants)
      .where(eq(creditGrants.workspaceId, workspaceId))
      .orderBy(asc(creditGrants.priority));
    expect(grants).toEqual([
      { source: "tier_allocation", remaining: 0 },
      { source: "signup_bonus", remaining: 250 },
    ]);
  });

  it("refuses to keep more than the hold holds, and changes nothing", async () => {
    const { workspaceId, actor } = await freshWorkspace();
    const held = await place(workspaceId, actor, { credits: 50 });

    await expect(finalize(workspaceId, actor, held.holdId, 51)).rejects.toMatchObject({
      code: "invalid_request",
      field: "credits",
      details: { held: 50 },
    });
    expect(await holdRow(held.holdId)).toMatchObject({ status: "active", finalAmount: null });
    expect(await balanceOf(workspaceId)).toBe(1_200);

    // Keeping exactly what it holds gives nothing back and writes no release entry.
    const done = await finalize(workspaceId, actor, held.holdId, 50);
    expect(done).toMatchObject({ status: "finalized", finalCredits: 50, balance: 1_200 });
    expect((await holdEntries(held.holdId)).map((entry) => entry.kind)).toEqual(["hold"]);
  });

  it("finalizing with 0 gives everything back and records no usage", async () => {
    const { workspaceId, actor } = await freshWorkspace();
    const held = await place(workspaceId, actor, { credits: 40 });
    const done = await finalize(workspaceId, actor, held.holdId, 0);

    expect(done).toMatchObject({ status: "finalized", finalCredits: 0, balance: 1_250 });
    expect(
      await runtime.db.select().from(usageRecords).where(eq(usageRecords.workspaceId, workspaceId)),
    ).toEqual([]);
    expect(await eventsNamed(runtime, workspaceId, "credits/consumed")).toEqual([]);
  });

  it("refuses a hold larger than the balance with 402, allowed false and the balance", async () => {
    const { workspaceId, actor } = await freshWorkspace();
    const refused = place(workspaceId, actor, { credits: 1_251, idempotencyKey: "too-big" });

    await expect(refused).rejects.toMatchObject({
      code: "insufficient_credits",
      httpStatus: 402,
      details: { allowed: false, balance: 1_250, required: 1_251 },
    });
    expect(await balanceOf(workspaceId)).toBe(1_250);
    expect(
      await runtime.db.select().from(creditHolds).where(eq(creditHolds.workspaceId, workspaceId)),
    ).toEqual([]);

    // The refusal left no claim on the key: it can place a hold the balance covers.
    const placed = await place(workspaceId, actor, { credits: 1_250, idempotencyKey: "too-big" });
    expect(placed).toMatchObject({ status: "active", balance: 0, replayed: false });
  });

  it("does not let held credits be spent again", async () => {
    const { workspaceId, actor } = await freshWorkspace();
    await place(workspaceId, actor, { credits: 1_200 });

    const refused = await consume(runtime, workspaceId, 51);
    expect(refused).toMatchObject({ allowed: false, balance: 50 });
    await expect(place(workspaceId, actor, { credits: 51 })).rejects.toMatchObject({
      code: "insufficient_credits",
    });
    expect(await consume(runtime, workspaceId, 50)).toMatchObject({ allowed: true, balance: 0 });
  });
});

describe("releasing a hold", () => {
  it("gives every credit back and records no usage", async () => {
    const { workspaceId, actor } = await freshWorkspace();
    const held = await place(workspaceId, actor, { credits: 700 });
    const released = await release(workspaceId, actor, held.holdId);

    expect(released).toMatchObject({
      status: "released",
      finalCredits: 0,
      balance: 1_250,
      replayed: false,
    });
    expect(await holdEntries(held.holdId)).toEqual([
      { kind: "hold", amount: -700, source: "tier_allocation" },
      { kind: "release", amount: 700, source: "tier_allocation" },
    ]);
    expect(
      (await eventsNamed(runtime, workspaceId, "credits/hold-settled")).map((e) => e.data),
    ).toEqual([
      {
        workspaceId,
        holdId: held.holdId,
        outcome: "released",
        heldCredits: 700,
        keptCredits: 0,
        balanceAfter: 1_250,
      },
    ]);
    expect(await eventsNamed(runtime, workspaceId, "credits/consumed")).toEqual([]);
    expect(
      await runtime.db.select().from(usageRecords).where(eq(usageRecords.workspaceId, workspaceId)),
    ).toEqual([]);

    // Releasing again is a replay; finalizing a released hold is a conflict.
    expect(await release(workspaceId, actor, held.holdId)).toMatchObject({
      status: "released",
      replayed: true,
    });
    await expect(finalize(workspaceId, actor, held.holdId, 10)).rejects.toMatchObject({
      code: "conflict",
      details: { status: "released" },
    });
    expect(await balanceOf(workspaceId)).toBe(1_250);
    expect(await eventsNamed(runtime, workspaceId, "credits/hold-settled")).toHaveLength(1);
  });

  it("works in a suspended workspace, where placing and finalizing do not", async () => {
    const { workspaceId, actor } = await freshWorkspace();
    const first = await place(workspaceId, actor, { credits: 100 });
    const second = await place(workspaceId, actor, { credits: 100 });
    await runtime.db
      .update(workspaces)
      .set({ status: "suspended" })
      .where(eq(workspaces.id, workspaceId));

    await expect(place(workspaceId, actor, { credits: 1 })).rejects.toMatchObject({
      code: "workspace_suspended",
    });
    await expect(finalize(workspaceId, actor, first.holdId, 1)).rejects.toMatchObject({
      code: "workspace_suspended",
    });
    expect(await release(workspaceId, actor, second.holdId)).toMatchObject({
      status: "released",
      balance: 1_150,
    });
    await runtime.db
      .update(workspaces)
      .set({ status: "active" })
      .where(eq(workspaces.id, workspaceId));
  });

  it("cannot settle another workspace's hold", async () => {
    const a = await freshWorkspace();
    const b = await freshWorkspace();
    const held = await place(a.workspaceId, a.actor, { credits: 10 });

    await expect(release(b.workspaceId, b.actor, held.holdId)).rejects.toMatchObject({
      code: "not_found",
    });
    await expect(finalize(b.workspaceId, b.actor, held.holdId, 5)).rejects.toMatchObject({
      code: "not_found",
    });
    expect(await holdRow(held.holdId)).toMatchObject({ status: "active" });
  });
});

describe("idempotent replays", () => {
  it("returns the same hold for the same key and parameters, and 409 for others", async () => {
    const { workspaceId, actor } = await freshWorkspace();
    const input = { credits: 25, expiresInSeconds: 600, featureCode: "translate" };
    const first = await place(workspaceId, actor, { ...input, idempotencyKey: "hold-a" });
    const again = await place(workspaceId, actor, { ...input, idempotencyKey: "hold-a" });

    expect(again).toEqual({ ...first, replayed: true });
    expect(await balanceOf(workspaceId)).toBe(1_225);
    expect(await eventsNamed(runtime, workspaceId, "credits/held")).toHaveLength(1);

    for (const other of [
      { ...input, credits: 26 },
      { ...input, expiresInSeconds: 601 },
      { ...input, featureCode: "summarize" },
    ]) {
      await expect(
        place(workspaceId, actor, { ...other, idempotencyKey: "hold-a" }),
      ).rejects.toMatchObject({ code: "idempotency_conflict", httpStatus: 409 });
    }
    expect(await balanceOf(workspaceId)).toBe(1_225);
  });

  it("places one hold when the same key arrives many times at once", async () => {
    const { workspaceId, actor } = await freshWorkspace();
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        place(workspaceId, actor, { credits: 100, idempotencyKey: "burst" }),
      ),
    );

    expect(new Set(results.map((result) => result.holdId)).size).toBe(1);
    expect(results.filter((result) => !result.replayed)).toHaveLength(1);
    expect(await balanceOf(workspaceId)).toBe(1_150);
  });

  it("replays a finalize with the same amount and refuses another amount", async () => {
    const { workspaceId, actor } = await freshWorkspace();
    const held = await place(workspaceId, actor, { credits: 90 });
    const done = await finalize(workspaceId, actor, held.holdId, 60);
    const again = await finalize(workspaceId, actor, held.holdId, 60);

    expect(again).toEqual({ ...done, replayed: true });
    await expect(finalize(workspaceId, actor, held.holdId, 61)).rejects.toMatchObject({
      code: "conflict",
      details: { status: "finalized", finalCredits: 60 },
    });
    await expect(release(workspaceId, actor, held.holdId)).rejects.toMatchObject({
      code: "conflict",
    });
    expect(await balanceOf(workspaceId)).toBe(1_190);
    expect(
      await runtime.db.select().from(usageRecords).where(eq(usageRecords.workspaceId, workspaceId)),
    ).toHaveLength(1);
  });

  it("settles a hold once when finalize and release race", async () => {
    const { workspaceId, actor } = await freshWorkspace();
    const held = await place(workspaceId, actor, { credits: 80 });
    const outcomes = await Promise.allSettled([
      finalize(workspaceId, actor, held.holdId, 30),
      release(workspaceId, actor, held.holdId),
      finalize(workspaceId, actor, held.holdId, 30),
      release(workspaceId, actor, held.holdId),
    ]);

    const hold = await holdRow(held.holdId);
    expect(hold?.status === "finalized" || hold?.status === "released").toBe(true);
    expect(await eventsNamed(runtime, workspaceId, "credits/hold-settled")).toHaveLength(1);
    expect(await balanceOf(workspaceId)).toBe(hold?.status === "finalized" ? 1_220 : 1_250);
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") {
        expect(outcome.reason).toMatchObject({ code: "conflict" });
      }
    }
  });
});

describe("hold expiry", () => {
  it("releases a hold past its time limit through the cron, once", async () => {
    const { workspaceId, actor } = await freshWorkspace();
    const held = await place(workspaceId, actor, { credits: 400, expiresInSeconds: 60 });
    const kept = await place(workspaceId, actor, { credits: 10, expiresInSeconds: 3_600 });

    clock.advance(59_000);
    await runCron(runtime, expireHolds);
    expect(await holdRow(held.holdId)).toMatchObject({ status: "active" });

    clock.advance(2_000);
    // Past the limit, before the cron has run: finalizing is refused.
    await expect(finalize(workspaceId, actor, held.holdId, 100)).rejects.toMatchObject({
      code: "conflict",
      details: { status: "expired" },
    });
    expect(await balanceOf(workspaceId)).toBe(840);

    await runCron(runtime, expireHolds);
    expect(await holdRow(held.holdId)).toMatchObject({ status: "expired", finalAmount: 0 });
    expect(await holdRow(kept.holdId)).toMatchObject({ status: "active" });
    expect(await balanceOf(workspaceId)).toBe(1_240);
    expect(
      (await eventsNamed(runtime, workspaceId, "credits/hold-settled")).map((e) => e.data),
    ).toEqual([
      {
        workspaceId,
        holdId: held.holdId,
        outcome: "expired",
        heldCredits: 400,
        keptCredits: 0,
        balanceAfter: 1_240,
      },
    ]);

    await runCron(runtime, expireHolds);
    expect(await eventsNamed(runtime, workspaceId, "credits/hold-settled")).toHaveLength(1);
    await expect(finalize(workspaceId, actor, held.holdId, 100)).rejects.toMatchObject({
      code: "conflict",
      details: { status: "expired" },
    });
    await expect(release(workspaceId, actor, held.holdId)).rejects.toMatchObject({
      code: "conflict",
    });
    expect(await balanceOf(workspaceId)).toBe(1_240);
    await release(workspaceId, actor, kept.holdId);
    await drain(runtime);
  });

  it("expires a hold once when two cron runs race", async () => {
    const { workspaceId, actor } = await freshWorkspace();
    const holds = await Promise.all(
      Array.from({ length: 5 }, () =>
        place(workspaceId, actor, { credits: 20, expiresInSeconds: 5 }),
      ),
    );
    clock.advance(6_000);
    await Promise.all([runCron(runtime, expireHolds), runCron(runtime, expireHolds)]);

    for (const hold of holds)
      expect(await holdRow(hold.holdId)).toMatchObject({ status: "expired" });
    expect(await eventsNamed(runtime, workspaceId, "credits/hold-settled")).toHaveLength(5);
    expect(await balanceOf(workspaceId)).toBe(1_250);
  });
});

describe("the hold sweep beside transfers", () => {
  it("never deadlocks with transfers between two workspaces of its run", async () => {
    const owner = await makeUser(runtime);
    const actor: Actor = { type: "user", userId: owner.id };
    // Transfers are a tier feature that Free lacks.
    const { code: tierCode } = await freeWithEveryFeature(runtime);
    const made = [
      await makeWorkspace(runtime, { userId: owner.id, tierCode }),
      await makeWorkspace(runtime, { userId: owner.id, tierCode }),
    ];
    for (const { workspaceId } of made) touched.add(workspaceId);
    const [low, high] = made.map((workspace) => workspace.workspaceId).sort() as [string, string];

    for (let round = 0; round < 8; round++) {
      // The higher id's holds expire first, so a sweep taking them in expiry order would lock
      // that balance before the lower one: the opposite of a transfer.
      for (const [workspaceId, seconds] of [
        [high, 10],
        [high, 10],
        [low, 20],
        [low, 20],
      ] as const) {
        await place(workspaceId, actor, { credits: 1, expiresInSeconds: seconds });
      }
      clock.advance(30_000);
      const outcomes = await Promise.allSettled([
        runCron(runtime, expireHolds),
        execute(
          runtime,
          transferCredits,
          { fromWorkspaceId: low, toWorkspaceId: high, credits: 1, reason: "Sweep race" },
          { actor },
        ),
        execute(
          runtime,
          transferCredits,
          { fromWorkspaceId: high, toWorkspaceId: low, credits: 1, reason: "Sweep race" },
          { actor },
        ),
      ]);
      expect(outcomes.map((outcome) => outcome.status)).toEqual([
        "fulfilled",
        "fulfilled",
        "fulfilled",
      ]);
    }
    for (const workspaceId of [low, high]) expect(await balanceOf(workspaceId)).toBe(1_250);
  });
});

describe("holds and consumption at once on a small balance", () => {
  it("never reserves or spends a credit twice", async () => {
    const { workspaceId, actor } = await freshWorkspace();
    await consume(runtime, workspaceId, 1_220); // 30 left
    expect(await balanceOf(workspaceId)).toBe(30);

    const holdAttempts = Array.from({ length: 8 }, (_, i) =>
      place(workspaceId, actor, { credits: 3, idempotencyKey: `h-${i}` }).then(
        (hold) => ({ kind: "hold" as const, ok: true, credits: 3, holdId: hold.holdId }),
        (error: unknown) => {
          expect(error).toMatchObject({ code: "insufficient_credits" });
          return { kind: "hold" as const, ok: false, credits: 3, holdId: null };
        },
      ),
    );
    const consumeAttempts = Array.from({ length: 8 }, (_, i) =>
      consume(runtime, workspaceId, 2, `c-${i}`).then((result) => ({
        kind: "consume" as const,
        ok: result.allowed,
        credits: 2,
        holdId: null,
      })),
    );
    const outcomes = await Promise.all([...holdAttempts, ...consumeAttempts]);
    const done = outcomes.filter((outcome) => outcome.ok);
    const taken = done.reduce((sum, outcome) => sum + outcome.credits, 0);

    // 40 credits were asked of 30: some were refused, none was overdrawn, and a refusal only
    // happened once the balance could no longer cover that call.
    expect(taken).toBeLessThanOrEqual(30);
    expect(done.length).toBeLessThan(outcomes.length);
    for (const refused of outcomes.filter((outcome) => !outcome.ok)) {
      expect(30 - taken).toBeLessThan(refused.credits);
    }
    expect(await balanceOf(workspaceId)).toBe(30 - taken);
    await expectLedgerInvariant(runtime, workspaceId);

    // Finalizing and releasing the holds at once, while more consumption arrives.
    const holdIds = done.flatMap((outcome) => (outcome.holdId ? [outcome.holdId] : []));
    await Promise.all([
      ...holdIds.map((holdId, i) =>
        i % 2 === 0 ? finalize(workspaceId, actor, holdId, 1) : release(workspaceId, actor, holdId),
      ),
      ...Array.from({ length: 4 }, (_, i) => consume(runtime, workspaceId, 2, `late-${i}`)),
    ]);
    const report = await checkInvariant(runtime.db, workspaceId);
    expect(report.holds).toBe(true);
    expect(report.balance).toBeGreaterThanOrEqual(0);

    // No hold is left active, so every credit gone is a consumption or the kept part of a hold,
    // each with its usage record.
    const [spent] = await runtime.db
      .select({ credits: sql<number>`coalesce(sum(${usageRecords.credits}), 0)::int` })
      .from(usageRecords)
      .where(and(eq(usageRecords.workspaceId, workspaceId), eq(usageRecords.outcome, "consumed")));
    expect(report.balance).toBe(1_250 - (spent?.credits ?? 0));
  });
});
