import { randomUUID } from "node:crypto";

import { and, asc, eq, sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  creditBalances,
  creditGrants,
  creditLedgerEntries,
  outbox,
  overageRecords,
  usageRecords,
  workspaces,
} from "@/drizzle/schema";
import type { Actor } from "@/server/actor";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import type { Tx } from "@/server/db/client";
import type { Runtime } from "@/server/runtime";
import { suspendWorkspace } from "@/server/workspaces/commands";
import { bytesCosting, consume, grant } from "@/test/support/credits";
import {
  drain,
  expectLedgerInvariant,
  makeUser,
  makeWorkspace,
  testRuntime,
} from "@/test/support/runtime";
import { makeTier } from "@/test/support/tiers";

import { consumeCredits, consumeOne, consumptionTerms } from "./consume";
import {
  commitConsumptions,
  GroupCommit,
  type ConsumptionOutcome,
  type ConsumptionRequest,
} from "./group-commit";
import { grantCredits } from "./ledger";
import { balanceSummary } from "./queries";

const clock = new ManualClock("2027-03-10T09:00:00Z");
const actor: Actor = { type: "system", reason: "test" };
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

async function freshWorkspace(tierCode = "free") {
  const workspace = await makeWorkspace(runtime, { tierCode });
  touched.add(workspace.workspaceId);

  return workspace;
}

function request(
  workspaceId: string,
  credits: number,
  idempotencyKey: string | null = randomUUID(),
  overrides: Partial<ConsumptionRequest> = {},
): ConsumptionRequest {
  return {
    workspaceId,
    featureCode: "summarize",
    inputBytes: bytesCosting(credits),
    idempotencyKey,
    actor,
    requestId: null,
    ...overrides,
  };
}

function results(outcomes: ConsumptionOutcome[]) {
  return outcomes.map((outcome) => {
    if (!outcome.ok) throw outcome.error;
    return outcome.result;
  });
}

async function balanceOf(workspaceId: string) {
  return (await balanceSummary(runtime.db, workspaceId)).balance;
}

/** Resolves once `count` sessions on the test database wait for a lock. */
async function lockWaiters(count: number) {
  for (;;) {
    const [row] = await runtime.db.execute<{ n: number }>(sql`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'`);
    if ((row?.n ?? 0) >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Runs `work` in a transaction that stays open, holding its locks, until released. */
async function holdOpen<T>(work: (tx: Tx) => Promise<T>) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let ready!: (value: T) => void;
  const holding = new Promise<T>((resolve) => (ready = resolve));
  const done = runtime.db.transaction(async (tx) => {
    ready(await work(tx));
    await released;
  });
  const value = await Promise.race([
    holding,
    done.then(() => Promise.reject(new Error("The held transaction ended early"))),
  ]);

  return {
    value,
    release: async () => {
      release();
      await done;
    },
  };
}

const lockBalanceRow = (workspaceId: string) => (tx: Tx) =>
  tx.execute(sql`SELECT 1 FROM ${creditBalances} WHERE workspace_id = ${workspaceId} FOR UPDATE`);

async function eventNames(workspaceId: string) {
  const rows = await runtime.db
    .select({ name: outbox.name })
    .from(outbox)
    .where(eq(outbox.workspaceId, workspaceId))
    .orderBy(asc(outbox.seq));

  return rows.map((row) => row.name);
}

/** Everything a consumption leaves behind, without ids and times, to compare two workspaces. */
async function footprint(workspaceId: string) {
  const entries = await runtime.db
    .select({
      kind: creditLedgerEntries.kind,
      amount: creditLedgerEntries.amount,
      balanceAfter: creditLedgerEntries.balanceAfter,
      source: creditGrants.source,
      reason: creditLedgerEntries.reason,
    })
    .from(creditLedgerEntries)
    .innerJoin(creditGrants, eq(creditGrants.id, creditLedgerEntries.grantId))
    .where(eq(creditLedgerEntries.workspaceId, workspaceId))
    .orderBy(asc(creditLedgerEntries.id));
  const usage = await runtime.db
    .select({
      credits: usageRecords.credits,
      units: usageRecords.units,
      outcome: usageRecords.outcome,
      key: usageRecords.idempotencyKey,
    })
    .from(usageRecords)
    .where(eq(usageRecords.workspaceId, workspaceId))
    .orderBy(asc(usageRecords.createdAt), asc(usageRecords.idempotencyKey));
  const events = await runtime.db
    .select({ name: outbox.name, data: outbox.data })
    .from(outbox)
    .where(eq(outbox.workspaceId, workspaceId))
    .orderBy(asc(outbox.seq));
  const [flags] = await runtime.db
    .select({
      balance: creditBalances.balance,
      belowThreshold: creditBalances.belowThreshold,
      belowTopUp: creditBalances.belowTopUp,
    })
    .from(creditBalances)
    .where(eq(creditBalances.workspaceId, workspaceId));

  return {
    entries,
    usage,
    flags,
    // Ids differ between workspaces; what each event says otherwise must not.
    events: events.map(({ name, data }) => {
      const {
        workspaceId: _w,
        usageRecordId: _u,
        grantId: _g,
        actor: _a,
        ...rest
      } = data as Record<string, unknown>;
      return { name, ...rest };
    }),
  };
}

describe("a group of consumptions", () => {
  it("lets exactly 20 of 50 concurrent 1-credit calls through a balance of 20, and replays them", async () => {
    const { workspaceId } = await freshWorkspace();
    await consume(runtime, workspaceId, 1_230);
    expect(await balanceOf(workspaceId)).toBe(20);

    const queue = new GroupCommit(runtime, { maxConcurrent: 3 });
    const calls = Array.from({ length: 50 }, (_, i) => request(workspaceId, 1, `call-${i}`));
    const answers = await Promise.all(calls.map((call) => queue.consume(call)));

    expect(answers.filter((answer) => answer.allowed)).toHaveLength(20);
    expect(answers.filter((answer) => !answer.allowed)).toHaveLength(30);
    expect(answers.every((answer) => !answer.replayed)).toBe(true);
    // Each success saw its own balance, from 19 down to 0; each refusal the empty balance.
    expect(
      answers
        .filter((answer) => answer.allowed)
        .map((answer) => answer.balance)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(await balanceOf(workspaceId)).toBe(0);
    await expectLedgerInvariant(runtime, workspaceId);

    const replays = await Promise.all(calls.map((call) => queue.consume(call)));
    expect(replays).toEqual(answers.map((answer) => ({ ...answer, replayed: true })));
    expect(await balanceOf(workspaceId)).toBe(0);
    const [usage] = await runtime.db
      .select({ n: sql<number>`count(*)::int` })
      .from(usageRecords)
      .where(
        and(eq(usageRecords.workspaceId, workspaceId), eq(usageRecords.featureCode, "summarize")),
      );
    // The setup's consumption and the 50 calls: replays write nothing.
    expect(usage?.n).toBe(51);

    await drain(runtime);
    await expectLedgerInvariant(runtime, workspaceId);
  });

  it("lets the next group of a busy workspace take everything that arrived while it waited", async () => {
    const { workspaceId } = await freshWorkspace();
    // Someone else holds the balance row until released.
    const holder = await holdOpen(lockBalanceRow(workspaceId));

    const queue = new GroupCommit(runtime, { maxConcurrent: 3 });
    const first = queue.consume(request(workspaceId, 1, "first"));
    await lockWaiters(1);
    const second = queue.consume(request(workspaceId, 1, "second"));
    // The late group waits for the lock without items; these arrive while it waits.
    await lockWaiters(2);
    const later = Array.from({ length: 5 }, (_, i) =>
      queue.consume(request(workspaceId, 1, `later-${i}`)),
    );
    await holder.release();
    const answers = await Promise.all([first, second, ...later]);

    expect(answers.map((answer) => answer.balance)).toEqual([
      1_249, 1_248, 1_247, 1_246, 1_245, 1_244, 1_243,
    ]);
    // Two transactions: the first group's one consumption, then the late group's six.
    const logged = await runtime.db
      .select({ data: outbox.data })
      .from(outbox)
      .where(and(eq(outbox.workspaceId, workspaceId), eq(outbox.name, "usage/logged")))
      .orderBy(asc(outbox.seq));
    expect(logged.map((row) => (row.data as { records: number }).records)).toEqual([1, 6]);
    await queue.settled();
  });

  it("orders a suspension after the consumptions already waiting, and refuses the ones after it", async () => {
    const { workspaceId } = await freshWorkspace();
    const holder = await holdOpen(lockBalanceRow(workspaceId));

    const waiting = commitConsumptions(runtime, [request(workspaceId, 4, "waiting")]);
    await lockWaiters(1);
    let suspendedAt: number | null = null;
    const suspension = execute(
      runtime,
      suspendWorkspace,
      { workspaceId, reason: "Card declined" },
      { actor: { type: "system", reason: "test" } },
    ).then(() => (suspendedAt = performance.now()));
    // The suspension waits for the balance the consumption is waiting for.
    await lockWaiters(2);
    expect(suspendedAt).toBeNull();

    await holder.release();
    const [outcome] = await waiting;
    await suspension;

    expect(outcome).toMatchObject({ ok: true, result: { allowed: true, balance: 1_246 } });
    const [after] = await commitConsumptions(runtime, [request(workspaceId, 1, "after")]);
    expect(after).toMatchObject({ ok: false, error: { code: "workspace_suspended" } });
    expect(await balanceOf(workspaceId)).toBe(1_246);
  });

  it("leaves the same ledger, usage, flags and events as one transaction per consumption", async () => {
    const one = await freshWorkspace();
    const grouped = await freshWorkspace();
    // Auto top-up below 1,000 as well as the tier's low-balance threshold (100).
    for (const { workspaceId } of [one, grouped]) {
      await runtime.db
        .update(creditBalances)
        .set({ topUpThreshold: 1_000 })
        .where(eq(creditBalances.workspaceId, workspaceId));
    }
    const before = {
      one: (await eventNames(one.workspaceId)).length,
      grouped: (await eventNames(grouped.workspaceId)).length,
    };
    // Spans the allowance into the bonus, crosses both thresholds once, then is refused.
    const costs = [300, 800, 60, 40, 45, 10, 200];
    for (const [i, credits] of costs.entries())
      await consume(runtime, one.workspaceId, credits, `k${i}`);
    const outcomes = await commitConsumptions(
      runtime,
      costs.map((credits, i) => request(grouped.workspaceId, credits, `k${i}`)),
    );

    expect(results(outcomes).map((result) => [result.allowed, result.balance])).toEqual([
      [true, 950],
      [true, 150],
      [true, 90],
      [true, 50],
      [true, 5],
      [false, 5],
      [false, 5],
    ]);
    const a = await footprint(one.workspaceId);
    const b = await footprint(grouped.workspaceId);
    expect(b.entries).toEqual(a.entries);
    expect(b.usage).toEqual(a.usage);
    expect(b.flags).toEqual({ balance: 5, belowThreshold: true, belowTopUp: true });
    expect(b.flags).toEqual(a.flags);
    // The same events in the same order, but the consumption summaries: one per transaction.
    const summary = (e: { name: string }) =>
      e.name === "usage/logged" || e.name === "credits/consumed";
    const named = (events: typeof a.events, summed: boolean) =>
      events.filter((e) => summary(e) === summed);
    const [aEvents, bEvents] = [a.events.slice(before.one), b.events.slice(before.grouped)];
    expect(named(bEvents, false)).toEqual(named(aEvents, false));
    expect(aEvents.filter((e) => e.name === "usage/logged")).toHaveLength(7);
    expect(aEvents.filter((e) => e.name === "credits/consumed")).toHaveLength(5);
    expect(named(bEvents, true)).toEqual([
      {
        name: "credits/consumed",
        consumptions: 5,
        credits: 1_245,
        balanceAfter: 5,
        features: [{ featureCode: "summarize", consumptions: 5, credits: 1_245 }],
      },
      {
        name: "usage/logged",
        records: 7,
        features: [{ featureCode: "summarize", consumed: 5, rejected: 2, credits: 1_245 }],
      },
    ]);
    expect(b.events.filter((e) => e.name === "credits/low-balance")).toHaveLength(1);
    expect(b.events.filter((e) => e.name === "credits/top-up-due")).toHaveLength(1);
  });

  it("replays keys across the two paths, and refuses a key reused with other parameters", async () => {
    const { workspaceId } = await freshWorkspace();
    const single = await consume(runtime, workspaceId, 3, "shared");
    const [replay, conflict, inGroupFirst, inGroupAgain, inGroupOther] = await commitConsumptions(
      runtime,
      [
        request(workspaceId, 3, "shared"),
        request(workspaceId, 4, "shared"),
        request(workspaceId, 7, "fresh"),
        request(workspaceId, 7, "fresh"),
        request(workspaceId, 8, "fresh"),
      ],
    );

    expect(replay).toEqual({ ok: true, result: { ...single, replayed: true } });
    expect(conflict).toMatchObject({
      ok: false,
      error: { code: "idempotency_conflict", field: "Idempotency-Key" },
    });
    expect(inGroupFirst).toMatchObject({ ok: true, result: { allowed: true, credits: 7 } });
    expect(inGroupAgain).toEqual({
      ok: true,
      result: { ...(inGroupFirst as { result: object }).result, replayed: true },
    });
    expect(inGroupOther).toMatchObject({ ok: false, error: { code: "idempotency_conflict" } });
    expect(await balanceOf(workspaceId)).toBe(1_250 - 3 - 7);

    // And the single path replays what the group stored.
    const back = await consume(runtime, workspaceId, 7, "fresh");
    expect(back).toEqual({ ...(inGroupFirst as { result: object }).result, replayed: true });
  });

  it("fails items alone: an unknown feature, a suspended workspace, a workspace without credits", async () => {
    const good = await freshWorkspace();
    const suspended = await freshWorkspace();
    await runtime.db
      .update(workspaces)
      .set({ status: "suspended" })
      .where(eq(workspaces.id, suspended.workspaceId));
    const outcomes = await commitConsumptions(runtime, [
      request(good.workspaceId, 2),
      request(good.workspaceId, 2, "bad", { featureCode: "teleport" }),
      request(suspended.workspaceId, 2),
      request(randomUUID(), 2),
      request(good.workspaceId, 2),
    ]);

    expect(outcomes.map((o) => (o.ok ? "ok" : (o.error as { code: string }).code))).toEqual([
      "ok",
      "invalid_request",
      "workspace_suspended",
      "not_found",
      "ok",
    ]);
    expect(outcomes[1]).toMatchObject({
      error: { field: "featureCode", details: { features: expect.arrayContaining(["summarize"]) } },
    });
    expect(await balanceOf(good.workspaceId)).toBe(1_246);
    expect(await balanceOf(suspended.workspaceId)).toBe(1_250);
    const [stored] = await runtime.db
      .select({ n: sql<number>`count(*)::int` })
      .from(usageRecords)
      .where(
        and(eq(usageRecords.workspaceId, good.workspaceId), eq(usageRecords.idempotencyKey, "bad")),
      );
    expect(stored?.n).toBe(0);
  });

  it("runs the items one by one when the group's transaction fails, so a bad item fails alone", async () => {
    const { workspaceId } = await freshWorkspace();
    // An actor id the usage_records.api_key_id column cannot hold breaks the group's insert.
    const poisoned: Actor = { type: "api_key", apiKeyId: "not-a-uuid" };
    const outcomes = await commitConsumptions(runtime, [
      request(workspaceId, 5, "before"),
      request(workspaceId, 5, "poisoned", { actor: poisoned }),
      request(workspaceId, 5, "after"),
    ]);

    expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, false, true]);
    expect(await balanceOf(workspaceId)).toBe(1_240);
    const keys = await runtime.db
      .select({ key: usageRecords.idempotencyKey })
      .from(usageRecords)
      .where(eq(usageRecords.workspaceId, workspaceId));
    expect(keys.map((row) => row.key).sort()).toEqual(["after", "before"]);
  });

  it("replays a key that another transaction answered while the group waited for the balance", async () => {
    const { workspaceId } = await freshWorkspace();
    // A consumption with the key "raced" holds the balance lock, uncommitted, until released.
    const holder = await holdOpen(async (tx) => {
      const one = await consumeOne(
        { tx, actor, clock, log: runtime.logger, requestId: null },
        workspaceId,
        await consumptionTerms(tx, workspaceId),
        { featureCode: "summarize", inputBytes: bytesCosting(3), idempotencyKey: "raced" },
      );
      return one.result;
    });
    const first = holder.value;
    const group = commitConsumptions(runtime, [
      request(workspaceId, 3, "raced"),
      request(workspaceId, 2),
    ]);
    // The group waits on the balance row: see it wait, then let the first consumption commit.
    await lockWaiters(1);
    await holder.release();
    const [raced, other] = await group;

    expect(raced).toEqual({ ok: true, result: { ...first, replayed: true } });
    expect(other).toMatchObject({ ok: true, result: { allowed: true, credits: 2 } });
    // Charged once for "raced" (3) and once for the other item (2).
    expect(await balanceOf(workspaceId)).toBe(1_245);
  });

  it("expires grants past their expiry before drawing, with an entry and an event", async () => {
    const { workspaceId } = await freshWorkspace();
    await runtime.db.transaction((tx) =>
      grantCredits(tx, clock, {
        workspaceId,
        source: "promotion",
        amount: 40,
        idempotencyKey: "short-promo",
        reason: "promotion",
        actor,
        priority: 1,
        expiresAt: new Date(clock.now().getTime() + 60_000),
        lowBalanceThreshold: 100,
      }),
    );
    clock.advance(120_000);
    const [first, second] = results(
      await commitConsumptions(runtime, [request(workspaceId, 1), request(workspaceId, 1)]),
    );

    expect([first?.balance, second?.balance]).toEqual([1_249, 1_248]);
    const names = await eventNames(workspaceId);
    expect(names.filter((name) => name === "credits/expired")).toHaveLength(1);
    const [promo] = await runtime.db
      .select({ remaining: creditGrants.remaining })
      .from(creditGrants)
      .where(and(eq(creditGrants.workspaceId, workspaceId), eq(creditGrants.source, "promotion")));
    expect(promo?.remaining).toBe(0);
  });

  it("goes past zero up to the soft overage cap, records the overage, then refuses", async () => {
    const tier = await makeTier(runtime, {
      monthlyCredits: 10,
      overagePolicy: "soft_cap",
      overageCapCredits: 15,
      lowBalanceThreshold: 5,
    });
    const { workspaceId } = await freshWorkspace(tier.code);
    expect(await balanceOf(workspaceId)).toBe(10);
    const outcomes = results(
      await commitConsumptions(runtime, [
        request(workspaceId, 6),
        request(workspaceId, 10), // 4 from the balance, 6 past zero
        request(workspaceId, 9), // 9 more past zero: 15, the cap
        request(workspaceId, 1), // over the cap
      ]),
    );

    expect(outcomes.map((o) => [o.allowed, o.overageCredits, o.balance])).toEqual([
      [true, 0, 4],
      [true, 6, 0],
      [true, 9, 0],
      [false, 0, 0],
    ]);
    const overage = await runtime.db
      .select({ credits: overageRecords.credits })
      .from(overageRecords)
      .where(eq(overageRecords.workspaceId, workspaceId));
    expect(overage.map((row) => row.credits).sort((a, b) => a - b)).toEqual([6, 9]);
    const names = await eventNames(workspaceId);
    expect(names.filter((name) => name === "credits/overage")).toHaveLength(2);
    expect(names.filter((name) => name === "credits/low-balance")).toHaveLength(1);
  });

  it("groups the calls of many workspaces into one transaction, each with its own balance", async () => {
    const many = await Promise.all(Array.from({ length: 4 }, () => freshWorkspace()));
    const user = await makeUser(runtime);
    const queue = new GroupCommit(runtime, { maxConcurrent: 1 });
    const answers = await Promise.all(
      many.flatMap(({ workspaceId }, w) =>
        Array.from({ length: 5 }, (_, i) =>
          queue.consume(
            request(workspaceId, w + 1, `m-${i}`, { actor: { type: "user", userId: user.id } }),
          ),
        ),
      ),
    );

    expect(answers.every((answer) => answer.allowed)).toBe(true);
    for (const [w, { workspaceId }] of many.entries()) {
      expect(await balanceOf(workspaceId)).toBe(1_250 - 5 * (w + 1));
    }
    const [recorded] = await runtime.db
      .select({ n: sql<number>`count(distinct ${usageRecords.workspaceId})::int` })
      .from(usageRecords)
      .where(eq(usageRecords.userId, user.id));
    expect(recorded?.n).toBe(4);
    await queue.settled();
  });

  it("gives the portal's single path and the group the same answer to the same key", async () => {
    const { workspaceId } = await freshWorkspace();
    await grant(runtime, workspaceId, 10, "extra");
    const viaGroup = results(
      await commitConsumptions(runtime, [request(workspaceId, 9, "same")]),
    )[0];
    const viaCommand = await execute(
      runtime,
      consumeCredits,
      {
        workspaceId,
        featureCode: "summarize",
        inputBytes: bytesCosting(9),
        idempotencyKey: "same",
      },
      { actor },
    );
    expect(viaCommand).toEqual({ ...viaGroup, replayed: true });
  });
});
