import { and, eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { creditGrants, creditLedgerEntries, outbox, workspaces } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import type { Runtime } from "@/server/runtime";
import { consume, grant } from "@/test/support/credits";
import {
  callerFor,
  expectLedgerInvariant,
  makeUser,
  makeWorkspace,
  testRuntime,
} from "@/test/support/runtime";

import { balanceSummary } from "./queries";
import { freeWithEveryFeature } from "@/test/support/tiers";

const clock = new ManualClock("2027-01-10T09:00:00Z");
let runtime: Runtime;
/** A tier on Free's terms with every feature; see test/support/tiers.ts. */
let everyFeature: string;
const touched = new Set<string>();

beforeAll(async () => {
  runtime = await testRuntime({ clock });
  everyFeature = (await freeWithEveryFeature(runtime)).code;
});
afterEach(async () => {
  for (const workspaceId of touched) await expectLedgerInvariant(runtime, workspaceId);
  touched.clear();
});
afterAll(async () => {
  await runtime.stop();
});

async function workspace(userId?: string) {
  // Free's terms with transfers, which Free itself lacks.
  const made = await makeWorkspace(runtime, { tierCode: everyFeature, userId });
  touched.add(made.workspaceId);

  return made;
}

async function eventsNamed(workspaceId: string, name: string) {
  return runtime.db
    .select()
    .from(outbox)
    .where(and(eq(outbox.workspaceId, workspaceId), eq(outbox.name, name)));
}

describe("admin adjustments", () => {
  it("adds and removes credits with a reason, as new entries", async () => {
    const admin = await makeUser(runtime, { isPlatformAdmin: true });
    const { workspaceId } = await workspace();
    const caller = await callerFor(runtime, admin.id);

    const added = await caller.credits.admin.adjust({
      workspaceId,
      credits: 500,
      reason: "Goodwill for the outage on 3 Jan",
    });
    expect(added).toEqual({ balanceAfter: 1_750, replayed: false });
    const removed = await caller.credits.admin.adjust({
      workspaceId,
      credits: -1_700,
      reason: "Duplicate promotion granted by mistake",
    });
    expect(removed.balanceAfter).toBe(50);

    const entries = await runtime.db
      .select()
      .from(creditLedgerEntries)
      .where(
        and(
          eq(creditLedgerEntries.workspaceId, workspaceId),
          eq(creditLedgerEntries.kind, "adjustment"),
        ),
      );
    expect(entries.map((entry) => entry.amount).reduce((a, b) => a + b, 0)).toBe(-1_200);
    expect(entries.every((entry) => entry.actorId === admin.id)).toBe(true);
    const adjusted = await eventsNamed(workspaceId, "credits/adjusted");
    expect(
      adjusted
        .sort((x, y) => x.seq - y.seq)
        .map((row) => (row.data as { credits: number }).credits),
    ).toEqual([500, -1_700]);
  });

  it("refuses to take the balance below zero, and says what it is", async () => {
    const admin = await makeUser(runtime, { isPlatformAdmin: true });
    const { workspaceId } = await workspace();
    const caller = await callerFor(runtime, admin.id);

    await expect(
      caller.credits.admin.adjust({ workspaceId, credits: -5_000, reason: "Too much" }),
    ).rejects.toMatchObject({
      code: "PAYMENT_REQUIRED",
      message: expect.stringContaining("1,250"),
    });
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(1_250);
  });

  it("needs a reason, a non-zero amount and a platform admin", async () => {
    const admin = await makeUser(runtime, { isPlatformAdmin: true });
    const { workspaceId, userId } = await workspace();
    const caller = await callerFor(runtime, admin.id);

    await expect(
      caller.credits.admin.adjust({ workspaceId, credits: 10, reason: "  " }),
    ).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expect(
      caller.credits.admin.adjust({ workspaceId, credits: 0, reason: "Nothing" }),
    ).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expect(
      (await callerFor(runtime, userId)).credits.admin.adjust({
        workspaceId,
        credits: 10,
        reason: "My own gift",
      }),
    ).rejects.toMatchObject({ code: "FORBIDDEN" });
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(1_250);
  });

  it("applies a repeated request with the same key once", async () => {
    const admin = await makeUser(runtime, { isPlatformAdmin: true });
    const { workspaceId } = await workspace();
    const caller = await callerFor(runtime, admin.id);
    const request = { workspaceId, credits: 100, reason: "Bonus", idempotencyKey: "form-1" };

    const results = await Promise.all([
      caller.credits.admin.adjust(request),
      caller.credits.admin.adjust(request),
    ]);
    expect(results.map((result) => result.replayed).sort()).toEqual([false, true]);
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(1_350);
  });

  it("allocates one-off credits with an expiry, drawn before credits that never expire", async () => {
    const admin = await makeUser(runtime, { isPlatformAdmin: true });
    const { workspaceId } = await workspace();
    const caller = await callerFor(runtime, admin.id);

    const allocated = await caller.credits.admin.allocate({
      workspaceId,
      credits: 300,
      source: "trial",
      reason: "Trial extension",
      expiresAt: new Date("2027-02-01T00:00:00Z"),
    });
    expect(allocated.balanceAfter).toBe(1_550);
    await expect(
      caller.credits.admin.allocate({
        workspaceId,
        credits: 5,
        reason: "Back-dated",
        expiresAt: new Date("2027-01-01T00:00:00Z"),
      }),
    ).rejects.toMatchObject({ code: "BAD_REQUEST" });
    expect(await eventsNamed(workspaceId, "credits/allocated")).toHaveLength(3);
  });

  it("lets a platform admin adjust and allocate in a suspended workspace", async () => {
    const admin = await makeUser(runtime, { isPlatformAdmin: true });
    const { workspaceId } = await workspace();
    await runtime.db
      .update(workspaces)
      .set({ status: "suspended" })
      .where(eq(workspaces.id, workspaceId));
    const caller = await callerFor(runtime, admin.id);

    // Correcting the balance is often why a workspace was suspended.
    expect(
      await caller.credits.admin.adjust({ workspaceId, credits: -50, reason: "Chargeback" }),
    ).toEqual({ balanceAfter: 1_200, replayed: false });
    const allocated = await caller.credits.admin.allocate({
      workspaceId,
      credits: 25,
      reason: "Apology for the outage",
    });
    expect(allocated.balanceAfter).toBe(1_225);
  });
});

describe("transfers between workspaces of one owner", () => {
  it("moves credits as balanced entries and carries each expiry over", async () => {
    const owner = await makeUser(runtime);
    const from = await workspace(owner.id);
    const to = await workspace(owner.id);
    const caller = await callerFor(runtime, owner.id);
    // The free tier's allowance (expiring at the period end) draws first, then the bonus.
    const [allowance] = await runtime.db
      .select()
      .from(creditGrants)
      .where(
        and(
          eq(creditGrants.workspaceId, from.workspaceId),
          eq(creditGrants.source, "tier_allocation"),
        ),
      );
    expect(allowance?.expiresAt).toBeInstanceOf(Date);

    const result = await caller.credits.transfer({
      workspaceId: from.workspaceId,
      toWorkspaceId: to.workspaceId,
      credits: allowance!.amount + 10,
      reason: "Consolidating",
    });
    expect(result.fromBalance).toBe(1_250 - allowance!.amount - 10);
    expect(result.toBalance).toBe(1_250 + allowance!.amount + 10);

    const received = await runtime.db
      .select({ amount: creditGrants.amount, expiresAt: creditGrants.expiresAt })
      .from(creditGrants)
      .where(
        and(eq(creditGrants.workspaceId, to.workspaceId), eq(creditGrants.source, "transfer")),
      );
    expect(received).toHaveLength(2);
    expect(received.find((grant) => grant.amount === allowance!.amount)?.expiresAt).toEqual(
      allowance!.expiresAt,
    );
    expect(received.find((grant) => grant.amount === 10)).toBeDefined();

    const sums = await runtime.db
      .select({ workspaceId: creditLedgerEntries.workspaceId, amount: creditLedgerEntries.amount })
      .from(creditLedgerEntries)
      .where(eq(creditLedgerEntries.kind, "transfer"));
    const net = sums
      .filter((row) => [from.workspaceId, to.workspaceId].includes(row.workspaceId))
      .reduce((sum, row) => sum + row.amount, 0);
    expect(net).toBe(0);
    expect(await eventsNamed(from.workspaceId, "credits/transferred")).toHaveLength(1);
    expect(await eventsNamed(to.workspaceId, "credits/transferred")).toHaveLength(1);
  });

  it("refuses workspaces the caller does not own, and more than the balance", async () => {
    const owner = await makeUser(runtime);
    const mine = await workspace(owner.id);
    const theirs = await workspace();
    const caller = await callerFor(runtime, owner.id);

    await expect(
      caller.credits.transfer({
        workspaceId: mine.workspaceId,
        toWorkspaceId: theirs.workspaceId,
        credits: 10,
        reason: "Gift",
      }),
    ).rejects.toMatchObject({ code: "FORBIDDEN" });
    const second = await workspace(owner.id);
    await expect(
      caller.credits.transfer({
        workspaceId: mine.workspaceId,
        toWorkspaceId: second.workspaceId,
        credits: 1_251,
        reason: "Everything and more",
      }),
    ).rejects.toMatchObject({ code: "PAYMENT_REQUIRED" });
    await expect(
      caller.credits.transfer({
        workspaceId: mine.workspaceId,
        toWorkspaceId: mine.workspaceId,
        credits: 1,
        reason: "Loop",
      }),
    ).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });

  it("never deadlocks or overdraws when transfers cross while credits are consumed", async () => {
    const owner = await makeUser(runtime);
    const a = await workspace(owner.id);
    const b = await workspace(owner.id);
    const caller = await callerFor(runtime, owner.id);

    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 6 }, () =>
        caller.credits.transfer({
          workspaceId: a.workspaceId,
          toWorkspaceId: b.workspaceId,
          credits: 300,
          reason: "a to b",
        }),
      ),
      ...Array.from({ length: 6 }, () =>
        caller.credits.transfer({
          workspaceId: b.workspaceId,
          toWorkspaceId: a.workspaceId,
          credits: 300,
          reason: "b to a",
        }),
      ),
      ...Array.from({ length: 6 }, () => consume(runtime, a.workspaceId, 50)),
    ]);
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") {
        expect(outcome.reason).toMatchObject({ code: "PAYMENT_REQUIRED" });
      }
    }
    const total =
      (await balanceSummary(runtime.db, a.workspaceId)).balance +
      (await balanceSummary(runtime.db, b.workspaceId)).balance;
    const consumed = outcomes
      .slice(12)
      .filter((o) => o.status === "fulfilled" && (o.value as { allowed: boolean }).allowed).length;
    expect(total).toBe(2_500 - consumed * 50);
  });

  it("moves credits once for a form submitted twice with one key", async () => {
    const owner = await makeUser(runtime);
    const from = await workspace(owner.id);
    const to = await workspace(owner.id);
    const caller = await callerFor(runtime, owner.id);
    const request = {
      workspaceId: from.workspaceId,
      toWorkspaceId: to.workspaceId,
      credits: 200,
      reason: "Once",
      idempotencyKey: "transfer-form-1",
    };

    const results = await Promise.all([
      caller.credits.transfer(request),
      caller.credits.transfer(request),
    ]);
    expect(results.map((result) => result.replayed).sort()).toEqual([false, true]);
    expect(results[0]?.transferId).toBe(results[1]?.transferId);
    expect((await balanceSummary(runtime.db, from.workspaceId)).balance).toBe(1_050);
    await expect(caller.credits.transfer({ ...request, credits: 300 })).rejects.toMatchObject({
      code: "CONFLICT",
    });
  });

  it("refuses an expiry PostgreSQL cannot store as a bad request", async () => {
    const admin = await makeUser(runtime, { isPlatformAdmin: true });
    const { workspaceId } = await workspace();
    await expect(
      (await callerFor(runtime, admin.id)).credits.admin.adjust({
        workspaceId,
        credits: 5,
        reason: "Far future",
        expiresAt: new Date("+275760-09-13T00:00:00.000Z"),
      }),
    ).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });

  it("refuses a suspended workspace on either side", async () => {
    const owner = await makeUser(runtime);
    const a = await workspace(owner.id);
    const b = await workspace(owner.id);
    await runtime.db
      .update(workspaces)
      .set({ status: "suspended" })
      .where(eq(workspaces.id, b.workspaceId));
    await grant(runtime, a.workspaceId, 10, "extra");

    await expect(
      (await callerFor(runtime, owner.id)).credits.transfer({
        workspaceId: a.workspaceId,
        toWorkspaceId: b.workspaceId,
        credits: 10,
        reason: "Parking credits",
      }),
    ).rejects.toMatchObject({ code: "FORBIDDEN" });
  });
});
