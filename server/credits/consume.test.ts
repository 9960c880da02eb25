import { and, eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  creditGrants,
  creditLedgerEntries,
  outbox,
  usageRecords,
  workspaces,
} from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import { AppError } from "@/server/errors";
import type { Runtime } from "@/server/runtime";
import { bytesCosting, consume, grant } from "@/test/support/credits";
import {
  callerFor,
  drain,
  expectLedgerInvariant,
  makeWorkspace,
  testRuntime,
} from "@/test/support/runtime";

import { consumeCredits } from "./consume";
import { grantCredits } from "./ledger";
import { balanceSummary } from "./queries";

const clock = new ManualClock("2027-01-10T09:00:00Z");
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

async function freshWorkspace() {
  const workspace = await makeWorkspace(runtime, { tierCode: "free" });
  touched.add(workspace.workspaceId);

  return workspace;
}

async function eventsNamed(workspaceId: string, name: string) {
  return runtime.db
    .select()
    .from(outbox)
    .where(and(eq(outbox.workspaceId, workspaceId), eq(outbox.name, name)));
}

describe("consuming credits", () => {
  it("prices the call from the tier, draws credits and records the usage", async () => {
    const { workspaceId } = await freshWorkspace();
    const result = await consume(runtime, workspaceId, 5);

    expect(result).toMatchObject({
      allowed: true,
      credits: 5,
      units: 4,
      balance: 1_245,
      replayed: false,
    });
    const [usage] = await runtime.db
      .select()
      .from(usageRecords)
      .where(eq(usageRecords.id, result.usageRecordId));
    expect(usage).toMatchObject({
      featureCode: "summarize",
      inputBytes: 4096,
      credits: 5,
      outcome: "consumed",
    });
    expect(await eventsNamed(workspaceId, "credits/consumed")).toHaveLength(1);
    expect(await eventsNamed(workspaceId, "usage/logged")).toHaveLength(1);
  });

  it("draws the allowance before the bonus and spans grants in one consumption", async () => {
    const { workspaceId } = await freshWorkspace();
    const result = await consume(runtime, workspaceId, 1_100);

    const entries = await runtime.db
      .select({
        amount: creditLedgerEntries.amount,
        source: creditGrants.source,
        balanceAfter: creditLedgerEntries.balanceAfter,
      })
      .from(creditLedgerEntries)
      .innerJoin(creditGrants, eq(creditGrants.id, creditLedgerEntries.grantId))
      .where(and(eq(creditLedgerEntries.usageRecordId, result.usageRecordId)))
      .orderBy(creditLedgerEntries.id);
    expect(entries).toEqual([
      { amount: -1_000, source: "tier_allocation", balanceAfter: 250 },
      { amount: -100, source: "signup_bonus", balanceAfter: 150 },
    ]);
  });

  it("draws by priority, then soonest expiry; grants that never expire go last", async () => {
    const { workspaceId } = await freshWorkspace();
    await runtime.db.transaction(async (tx) => {
      // A promotion that expires soon, at the same priority as the allowance.
      await grantCredits(tx, clock, {
        workspaceId,
        source: "promotion",
        amount: 10,
        idempotencyKey: "promo",
        reason: "promotion",
        actor: { type: "system", reason: "test" },
        priority: 100,
        expiresAt: new Date("2027-01-20T00:00:00Z"),
        lowBalanceThreshold: 100,
      });
    });
    const result = await consume(runtime, workspaceId, 15);
    const draws = await runtime.db
      .select({ source: creditGrants.source, amount: creditLedgerEntries.amount })
      .from(creditLedgerEntries)
      .innerJoin(creditGrants, eq(creditGrants.id, creditLedgerEntries.grantId))
      .where(eq(creditLedgerEntries.usageRecordId, result.usageRecordId))
      .orderBy(creditLedgerEntries.id);
    expect(draws).toEqual([
      { source: "promotion", amount: -10 },
      { source: "tier_allocation", amount: -5 },
    ]);
  });

  it("expires grants past their expiry before drawing, with an entry and an event", async () => {
    const { workspaceId } = await freshWorkspace();
    await runtime.db.transaction(async (tx) => {
      await grantCredits(tx, clock, {
        workspaceId,
        source: "promotion",
        amount: 40,
        idempotencyKey: "short-promo",
        reason: "promotion",
        actor: { type: "system", reason: "test" },
        expiresAt: new Date(clock.now().getTime() + 60_000),
        lowBalanceThreshold: 100,
      });
    });
    clock.advance(120_000);
    const result = await consume(runtime, workspaceId, 1);

    expect(result.balance).toBe(1_250 - 1);
    expect(await eventsNamed(workspaceId, "credits/expired")).toHaveLength(1);
  });

  it("refuses without overdrawing, stores the refusal and changes no balance", async () => {
    const { workspaceId } = await freshWorkspace();
    const result = await consume(runtime, workspaceId, 1_251, "too-much");

    expect(result).toMatchObject({ allowed: false, credits: 1_251, balance: 1_250 });
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(1_250);
    const [usage] = await runtime.db
      .select()
      .from(usageRecords)
      .where(eq(usageRecords.id, result.usageRecordId));
    expect(usage?.outcome).toBe("rejected");
    expect(await eventsNamed(workspaceId, "credits/consumed")).toHaveLength(0);

    const replay = await consume(runtime, workspaceId, 1_251, "too-much");
    expect(replay).toEqual({ ...result, replayed: true });
  });

  it("emits low-balance once per downward crossing of the threshold", async () => {
    const { workspaceId } = await freshWorkspace();
    // 1,250 → 101: still at or above the 100 threshold.
    await consume(runtime, workspaceId, 1_149);
    expect(await eventsNamed(workspaceId, "credits/low-balance")).toHaveLength(0);

    await consume(runtime, workspaceId, 2); // 99: crossed
    await consume(runtime, workspaceId, 5); // 94: still below, no second event
    expect(await eventsNamed(workspaceId, "credits/low-balance")).toHaveLength(1);

    await grant(runtime, workspaceId, 6, "back-to-100"); // exactly 100: no longer below
    await consume(runtime, workspaceId, 1); // 99 again: a second crossing
    const events = await eventsNamed(workspaceId, "credits/low-balance");
    expect(events.map((e) => e.data)).toEqual([
      { workspaceId, balance: 99, threshold: 100 },
      { workspaceId, balance: 99, threshold: 100 },
    ]);
  });

  it("tells the owner in the app and by email when the balance runs low", async () => {
    const { workspaceId, userId } = await freshWorkspace();
    await consume(runtime, workspaceId, 1_200);
    await drain(runtime);

    const caller = await callerFor(runtime, userId);
    const { items, unread } = await caller.notifications.list();
    // The welcome notice from the workspace's creation, then the low-balance one.
    expect(unread).toBe(2);
    expect(items.map((item) => item.type).sort()).toEqual([
      "account.welcome",
      "credits.low_balance",
    ]);
    expect(items.find((item) => item.type === "credits.low_balance")).toMatchObject({
      title: "Credits are running low",
      workspaceId,
      link: expect.stringMatching(/^\/w\//),
    });
    const me = await caller.auth.me();
    const mailbox = await caller.notifications.mailbox({ to: me?.email ?? "" });
    expect(mailbox.filter((email) => email.type === "credits.low_balance")).toHaveLength(1);
  });

  it("replays a repeated key and refuses the key with other parameters", async () => {
    const { workspaceId } = await freshWorkspace();
    const first = await consume(runtime, workspaceId, 3, "key-1");
    const again = await consume(runtime, workspaceId, 3, "key-1");
    expect(again).toEqual({ ...first, replayed: true });
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(1_247);

    await expect(consume(runtime, workspaceId, 4, "key-1")).rejects.toMatchObject({
      code: "idempotency_conflict",
    });
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(1_247);
  });

  it("keeps idempotency keys per workspace", async () => {
    const a = await freshWorkspace();
    const b = await freshWorkspace();
    await consume(runtime, a.workspaceId, 3, "shared-key");
    const inB = await consume(runtime, b.workspaceId, 7, "shared-key");
    expect(inB).toMatchObject({ allowed: true, credits: 7, replayed: false });
  });

  it("explains unknown features and oversized input beside the field", async () => {
    const { workspaceId } = await freshWorkspace();
    const unknown = execute(
      runtime,
      consumeCredits,
      { workspaceId, featureCode: "teleport", inputBytes: 1, idempotencyKey: null },
      { actor: { type: "system", reason: "test" } },
    );
    await expect(unknown).rejects.toMatchObject({ code: "invalid_request", field: "featureCode" });
    await expect(unknown).rejects.toBeInstanceOf(AppError);

    const negative = execute(
      runtime,
      consumeCredits,
      { workspaceId, featureCode: "summarize", inputBytes: -5, idempotencyKey: null },
      { actor: { type: "system", reason: "test" } },
    );
    await expect(negative).rejects.toMatchObject({ code: "invalid_request", field: "inputBytes" });
  });

  it("refuses consumption in a workspace that is not active", async () => {
    const { workspaceId } = await freshWorkspace();
    await runtime.db
      .update(workspaces)
      .set({ status: "suspended" })
      .where(eq(workspaces.id, workspaceId));
    await expect(consume(runtime, workspaceId, 1)).rejects.toMatchObject({
      code: "workspace_suspended",
    });
    await runtime.db
      .update(workspaces)
      .set({ status: "active" })
      .where(eq(workspaces.id, workspaceId));
  });

  it("writes nothing when the transaction fails after the draw", async () => {
    const { workspaceId } = await freshWorkspace();
    const before = await runtime.db
      .select()
      .from(outbox)
      .where(eq(outbox.workspaceId, workspaceId));
    await expect(
      runtime.db.transaction(async (tx) => {
        await consumeCredits.run(
          {
            tx,
            actor: { type: "system", reason: "test" },
            clock,
            log: runtime.logger,
            requestId: null,
          },
          {
            workspaceId,
            featureCode: "summarize",
            inputBytes: bytesCosting(10),
            idempotencyKey: null,
          },
          undefined,
        );
        throw new Error("boom after the draw");
      }),
    ).rejects.toThrow("boom after the draw");

    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(1_250);
    expect(
      await runtime.db.select().from(outbox).where(eq(outbox.workspaceId, workspaceId)),
    ).toHaveLength(before.length);
  });
});
