import { and, asc, eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { creditGrants, creditLedgerEntries } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import type { Runtime } from "@/server/runtime";
import { consume } from "@/test/support/credits";
import {
  drain,
  expectLedgerInvariant,
  makeWorkspace,
  runCron,
  testRuntime,
} from "@/test/support/runtime";
import { eventsNamed } from "@/test/support/tiers";

import { grantCredits, type GrantSource } from "./ledger";
import { balanceSummary } from "./queries";
import { expireDueGrants } from "./reactions";

/**
 * The credits-expire-grants cron on the free tier (1,000 allowance for the
 * period, 250 signup bonus that never expires, threshold 100).
 */
const clock = new ManualClock("2027-04-01T08:00:00Z");
const HOUR = 3_600_000;
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

  return workspace;
}

async function grantExpiring(
  workspaceId: string,
  amount: number,
  expiresAt: Date,
  source: GrantSource = "promotion",
) {
  const result = await runtime.db.transaction((tx) =>
    grantCredits(tx, clock, {
      workspaceId,
      source,
      amount,
      idempotencyKey: `${source}-${expiresAt.toISOString()}-${amount}`,
      reason: `Test ${source}`,
      actor: { type: "system", reason: "test" },
      priority: 100,
      expiresAt,
      lowBalanceThreshold: 100,
    }),
  );

  return result.grantId;
}

async function balanceOf(workspaceId: string) {
  return (await balanceSummary(runtime.db, workspaceId)).balance;
}

async function expireEntries(workspaceId: string) {
  return runtime.db
    .select({
      grantId: creditLedgerEntries.grantId,
      amount: creditLedgerEntries.amount,
      balanceAfter: creditLedgerEntries.balanceAfter,
      actorType: creditLedgerEntries.actorType,
    })
    .from(creditLedgerEntries)
    .where(
      and(eq(creditLedgerEntries.workspaceId, workspaceId), eq(creditLedgerEntries.kind, "expire")),
    )
    .orderBy(asc(creditLedgerEntries.id));
}

describe("the expiry cron", () => {
  it("expires what is left of grants past their expiry, once, with an entry and an event", async () => {
    const { workspaceId } = await freshWorkspace();
    const start = clock.now().getTime();
    const promotion = await grantExpiring(workspaceId, 300, new Date(start + HOUR));
    const trial = await grantExpiring(workspaceId, 50, new Date(start + 2 * HOUR), "trial");
    expect(await balanceOf(workspaceId)).toBe(1_600);
    // The promotion expires first, so it is drawn first.
    await consume(runtime, workspaceId, 100);

    clock.set(new Date(start + HOUR - 1));
    await runCron(runtime, expireDueGrants);
    expect(await expireEntries(workspaceId)).toEqual([]);

    clock.set(new Date(start + HOUR));
    await runCron(runtime, expireDueGrants);
    expect(await expireEntries(workspaceId)).toEqual([
      { grantId: promotion, amount: -200, balanceAfter: 1_300, actorType: "system" },
    ]);
    expect(await balanceOf(workspaceId)).toBe(1_300);
    const [expired] = await runtime.db
      .select({ remaining: creditGrants.remaining })
      .from(creditGrants)
      .where(eq(creditGrants.id, promotion));
    expect(expired?.remaining).toBe(0);

    // Nothing more is due until the trial's turn.
    await runCron(runtime, expireDueGrants);
    expect(await expireEntries(workspaceId)).toHaveLength(1);

    clock.set(new Date(start + 3 * HOUR));
    await runCron(runtime, expireDueGrants);
    await runCron(runtime, expireDueGrants);
    expect((await eventsNamed(runtime, workspaceId, "credits/expired")).map((e) => e.data)).toEqual(
      [
        { workspaceId, grantId: promotion, credits: 200, balanceAfter: 1_300 },
        { workspaceId, grantId: trial, credits: 50, balanceAfter: 1_250 },
      ],
    );
    expect(await balanceOf(workspaceId)).toBe(1_250);
    await drain(runtime);
  });

  it("leaves a grant used up before its expiry alone", async () => {
    const { workspaceId } = await freshWorkspace();
    await grantExpiring(workspaceId, 30, new Date(clock.now().getTime() + HOUR));
    await consume(runtime, workspaceId, 30);
    clock.advance(2 * HOUR);
    await runCron(runtime, expireDueGrants);

    expect(await expireEntries(workspaceId)).toEqual([]);
    expect(await eventsNamed(runtime, workspaceId, "credits/expired")).toEqual([]);
  });

  it("does not expire the open period's allowance before the period is closed", async () => {
    const { workspaceId } = await freshWorkspace();
    const promotion = await grantExpiring(
      workspaceId,
      40,
      new Date(clock.now().getTime() + 40 * 24 * HOUR),
    );
    // Past the period's end (one month) and the promotion's, with no period sweep yet.
    clock.advance(45 * 24 * HOUR);
    await runCron(runtime, expireDueGrants);

    // Only the promotion went; the allowance waits for its period to close and roll over.
    expect((await expireEntries(workspaceId)).map((entry) => entry.grantId)).toEqual([promotion]);
    expect(await balanceOf(workspaceId)).toBe(1_250);
    const allowance = await runtime.db
      .select({ remaining: creditGrants.remaining })
      .from(creditGrants)
      .where(
        and(eq(creditGrants.workspaceId, workspaceId), eq(creditGrants.source, "tier_allocation")),
      );
    expect(allowance).toEqual([{ remaining: 1_000 }]);
  });

  it("emits low-balance once when expiry takes the balance below the threshold", async () => {
    const { workspaceId } = await freshWorkspace();
    await consume(runtime, workspaceId, 1_200); // 50 left, below 100: the first notice
    const promotion = await grantExpiring(workspaceId, 60, new Date(clock.now().getTime() + HOUR));
    expect((await balanceSummary(runtime.db, workspaceId)).belowThreshold).toBe(false);

    clock.advance(HOUR);
    await runCron(runtime, expireDueGrants);
    expect(await balanceOf(workspaceId)).toBe(50);
    const notices = await eventsNamed(runtime, workspaceId, "credits/low-balance");
    expect(notices.map((e) => e.data)).toEqual([
      { workspaceId, balance: 50, threshold: 100 },
      { workspaceId, balance: 50, threshold: 100 },
    ]);
    expect((await expireEntries(workspaceId)).map((entry) => entry.grantId)).toEqual([promotion]);
  });

  it("expires each grant once when sweeps race, across many workspaces", async () => {
    const workspaces = await Promise.all(Array.from({ length: 6 }, () => freshWorkspace()));
    const expiresAt = new Date(clock.now().getTime() + HOUR);
    for (const { workspaceId } of workspaces) {
      await grantExpiring(workspaceId, 25, expiresAt);
      await grantExpiring(workspaceId, 35, expiresAt, "trial");
    }
    clock.advance(HOUR);

    await Promise.all(Array.from({ length: 3 }, () => runCron(runtime, expireDueGrants)));
    await runCron(runtime, expireDueGrants);

    for (const { workspaceId } of workspaces) {
      expect((await expireEntries(workspaceId)).map((entry) => entry.amount).sort()).toEqual([
        -25, -35,
      ]);
      expect(await eventsNamed(runtime, workspaceId, "credits/expired")).toHaveLength(2);
      expect(await balanceOf(workspaceId)).toBe(1_250);
    }
  });

  it("expires before drawing, even with no sweep, and never draws expired credits", async () => {
    const { workspaceId } = await freshWorkspace();
    await grantExpiring(workspaceId, 500, new Date(clock.now().getTime() + HOUR));
    clock.advance(HOUR);

    expect(await consume(runtime, workspaceId, 1_251)).toMatchObject({
      allowed: false,
      balance: 1_250,
    });
    expect(await expireEntries(workspaceId)).toHaveLength(1);
    await runCron(runtime, expireDueGrants);
    expect(await eventsNamed(runtime, workspaceId, "credits/expired")).toHaveLength(1);
  });
});
