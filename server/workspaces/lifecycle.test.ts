import { randomUUID } from "node:crypto";

import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  auditLog,
  billingAdjustments,
  creditGrants,
  creditPeriods,
  eventInbox,
  invoiceLines,
  invoices,
  notifications,
  quotaExceedances,
  reactionRuns,
  subscriptions,
  tiers,
  workspaceMembers,
  workspaces,
} from "@/drizzle/schema";
import { periodAt } from "@/server/billing/periods";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import { balanceSummary } from "@/server/credits/queries";
import type { Runtime } from "@/server/runtime";
import { sweepCycles } from "@/test/support/billing";
import { apiKeyFor, consume } from "@/test/support/credits";
import {
  callerFor,
  countRows,
  drain,
  expectLedgerInvariant,
  makeUser,
  runCron,
  testRuntime,
  uniqueSuffix,
} from "@/test/support/runtime";
import { eventsNamed, makeTier } from "@/test/support/tiers";

import { createWorkspace } from "./commands";
import { tierBlockers, type WorkspaceUsage } from "./compatibility";
import { tombstoneSlug } from "./lifecycle";
import { deleteExpiredCancelledWorkspaces } from "./reactions";

// Periods of workspaces created now run from the 1st of each month at midnight UTC.
const start = "2027-03-01T00:00:00.000Z";
const halfway = "2027-03-16T12:00:00.000Z";
const clock = new ManualClock(start);
let runtime: Runtime;
beforeAll(async () => {
  runtime = await testRuntime({ clock });
});
afterAll(async () => {
  await runtime.stop();
});

const everything = ["api_keys", "webhooks", "transfers", "auto_top_up", "holds"] as const;

/** Two tiers priced like Stripe's example: 1,000 → 2,000 a month, 1,000 → 3,000 credits. */
async function tierPair() {
  const basic = await makeTier(runtime, {
    monthlyPriceMinor: 1_000,
    monthlyCredits: 1_000,
    features: [...everything],
  });
  const plus = await makeTier(runtime, {
    monthlyPriceMinor: 2_000,
    monthlyCredits: 3_000,
    features: [...everything],
  });

  return { basic, plus };
}

/** A workspace on a (paid) tier, created by the system for its owner, reactions run. */
async function workspaceOn(tierCode: string) {
  clock.set(start);
  const owner = await makeUser(runtime);
  const slug = `ws-${uniqueSuffix()}`;
  const { workspaceId } = await execute(
    runtime,
    createWorkspace,
    { name: `Workspace ${slug}`, slug, tierCode, ownerUserId: owner.id },
    { actor: { type: "system", reason: "test" } },
  );
  await drain(runtime);

  return { workspaceId, slug, ownerId: owner.id, owner: await callerFor(runtime, owner.id) };
}

async function member(workspaceId: string, role: "admin" | "billing" | "member") {
  const user = await makeUser(runtime);
  await runtime.db.insert(workspaceMembers).values({ workspaceId, userId: user.id, role });

  return callerFor(runtime, user.id);
}

async function workspaceRow(workspaceId: string) {
  const [row] = await runtime.db.select().from(workspaces).where(eq(workspaces.id, workspaceId));
  if (!row) throw new Error("workspace vanished");

  return row;
}

async function adjustmentsOf(workspaceId: string) {
  return runtime.db
    .select({
      kind: billingAdjustments.kind,
      amountMinor: billingAdjustments.amountMinor,
      currency: billingAdjustments.currency,
    })
    .from(billingAdjustments)
    .where(eq(billingAdjustments.workspaceId, workspaceId))
    .orderBy(asc(billingAdjustments.kind));
}

async function prorationInvoicesOf(workspaceId: string) {
  return runtime.db
    .select({
      kind: invoices.kind,
      status: invoices.status,
      totalMinor: invoices.totalMinor,
      amountDueMinor: invoices.amountDueMinor,
    })
    .from(invoices)
    .where(and(eq(invoices.workspaceId, workspaceId), eq(invoices.kind, "proration")))
    .orderBy(asc(invoices.number));
}

/**
 * Runs these reactions of these events again as if the inbox had never seen
 * them: what the reactions themselves do must not happen twice.
 */
async function rerun(eventIds: string[], reactions: string[]) {
  await runtime.db
    .delete(eventInbox)
    .where(and(inArray(eventInbox.eventId, eventIds), inArray(eventInbox.reaction, reactions)));
  await runtime.db
    .update(reactionRuns)
    .set({ status: "pending", attempts: 0, nextAttemptAt: clock.now(), lockedUntil: null })
    .where(and(inArray(reactionRuns.eventId, eventIds), inArray(reactionRuns.reaction, reactions)));
  await drain(runtime);
}

describe("the period of a workspace", () => {
  it("is the anchored month that holds the instant", () => {
    const anchor = new Date("2027-01-31T10:00:00Z");
    expect(periodAt(anchor, new Date("2027-01-31T10:00:00Z"))).toEqual({
      startsAt: new Date("2027-01-31T10:00:00Z"),
      endsAt: new Date("2027-02-28T10:00:00Z"),
    });
    expect(periodAt(anchor, new Date("2027-03-30T09:59:59Z")).startsAt).toEqual(
      new Date("2027-02-28T10:00:00Z"),
    );
    expect(periodAt(anchor, new Date("2027-03-31T10:00:00Z")).startsAt).toEqual(
      new Date("2027-03-31T10:00:00Z"),
    );
  });
});

describe("tier compatibility", () => {
  const usage: WorkspaceUsage = {
    currency: "USD",
    seats: 3,
    callsThisPeriod: { summarize: 120, translate: 5 },
    callsToday: { summarize: 21 },
    featuresInUse: ["api_keys", "webhooks", "holds"],
  };
  const target = {
    name: "Small",
    currency: "USD",
    maxSeats: 2,
    quotas: [
      { featureCode: "summarize", period: "day" as const, maxCalls: 20 },
      { featureCode: "summarize", period: "month" as const, maxCalls: 500 },
      { featureCode: "translate", period: "month" as const, maxCalls: 5 },
    ],
    features: ["api_keys" as const],
    archivedAt: null,
  };

  it("names every blocker with a code and a sentence", () => {
    const blockers = tierBlockers(usage, target);
    expect(blockers.map(({ code, featureCode }) => [code, featureCode])).toEqual([
      ["too_many_seats", undefined],
      ["quota_exceeded", "summarize"],
      ["feature_in_use", "webhooks"],
      ["feature_in_use", "holds"],
    ]);
    expect(blockers[0]?.message).toBe(
      "The Small tier allows 2 seats and 3 are in use; remove 1 member first.",
    );
    expect(blockers[1]?.message).toContain(
      "allows 20 summarize calls a day and this day has used 21",
    );
  });

  it("lets a workspace move where nothing is exceeded; a quota reached exactly is no blocker", () => {
    expect(
      tierBlockers(usage, {
        ...target,
        maxSeats: null,
        quotas: [{ featureCode: "summarize", period: "day", maxCalls: 21 }],
        features: [...everything],
      }),
    ).toEqual([]);
  });

  it("refuses another currency and an archived tier", () => {
    const blockers = tierBlockers(usage, {
      ...target,
      currency: "EUR",
      maxSeats: null,
      quotas: [],
      features: [...everything],
      archivedAt: new Date(),
    });
    expect(blockers.map((blocker) => blocker.code)).toEqual(["tier_archived", "currency_mismatch"]);
  });
});

describe("upgrading", () => {
  it("previews the proration, then charges it, grants the credits and confirms, once", async () => {
    const { basic, plus } = await tierPair();
    const { workspaceId, owner } = await workspaceOn(basic.code);
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(1_000);
    clock.set(halfway);

    const plans = await owner.workspaces.plans({ workspaceId });
    const offer = plans.tiers.find((tier) => tier.id === plus.id);
    expect(plans.tiers.find((tier) => tier.current)?.id).toBe(basic.id);
    expect(offer?.change).toMatchObject({
      direction: "upgrade",
      blockers: [],
      timings: ["now"],
      now: { currency: "USD", creditMinor: -500, chargeMinor: 1_000, netMinor: 500 },
    });
    // Half of the 2,000 credits' difference.
    expect(offer?.change?.now.creditsGranted).toBe(1_000);

    const billing = await member(workspaceId, "billing");
    expect(await billing.workspaces.changeTier({ workspaceId, tierId: plus.id })).toEqual({
      status: "changed",
      tierId: plus.id,
      effectiveAt: clock.now(),
    });
    const [changed] = await eventsNamed(runtime, workspaceId, "workspace/tier-changed");
    expect(changed?.data).toEqual({
      workspaceId,
      fromTierId: basic.id,
      toTierId: plus.id,
      effectiveAt: halfway,
      direction: "upgrade",
      prorated: true,
      periodStart: start,
      periodEnd: "2027-04-01T00:00:00.000Z",
    });
    await drain(runtime);

    expect((await workspaceRow(workspaceId)).tierId).toBe(plus.id);
    expect(await adjustmentsOf(workspaceId)).toEqual([
      { kind: "proration_credit", amountMinor: -500, currency: "USD" },
      { kind: "proration_charge", amountMinor: 1_000, currency: "USD" },
    ]);
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(2_000);
    const [upgrade] = await runtime.db
      .select()
      .from(creditGrants)
      .where(
        and(
          eq(creditGrants.workspaceId, workspaceId),
          eq(creditGrants.amount, 1_000),
          sql`${creditGrants.idempotencyKey} LIKE 'tier-upgrade:%'`,
        ),
      );
    expect(upgrade).toMatchObject({
      source: "tier_allocation",
      expiresAt: new Date("2027-04-01T00:00:00Z"),
    });
    const [period] = await runtime.db
      .select()
      .from(creditPeriods)
      .where(eq(creditPeriods.workspaceId, workspaceId));
    expect(period?.allowance).toBe(2_000);
    expect(
      await countRows(
        runtime,
        "notifications",
        `workspace_id = '${workspaceId}' AND type = 'workspace.tier_changed'`,
      ),
    ).toBe(1);

    // The reactions themselves, run again past the inbox, change nothing.
    await rerun([changed!.id], ["credits-upgrade-allocation", "billing-tier-change-proration"]);
    expect(await adjustmentsOf(workspaceId)).toHaveLength(2);
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(2_000);
    // The upgrade's net is invoiced at once, by one proration invoice taking up both lines.
    expect((await workspacePlansOf(owner, workspaceId)).pendingMinor).toBe(0);
    expect(await prorationInvoicesOf(workspaceId)).toEqual([
      { kind: "proration", status: "open", totalMinor: 500, amountDueMinor: 500 },
    ]);
    await expectLedgerInvariant(runtime, workspaceId);
  });

  it("refuses a move something blocks, with every reason, and lets members below billing not", async () => {
    const { basic } = await tierPair();
    const small = await makeTier(runtime, {
      monthlyPriceMinor: 3_000,
      maxSeats: 1,
      features: ["api_keys"],
    });
    const { workspaceId, owner, ownerId } = await workspaceOn(basic.code);
    await member(workspaceId, "admin");
    const plain = await member(workspaceId, "member");
    await apiKeyFor(runtime, workspaceId, ownerId);
    clock.set(halfway);

    const refusal = await owner.workspaces
      .changeTier({ workspaceId, tierId: small.id })
      .catch((error: unknown) => error);
    expect(refusal).toMatchObject({
      code: "CONFLICT",
      cause: {
        field: "tierId",
        details: { blockers: [expect.objectContaining({ code: "too_many_seats" })] },
      },
    });
    await expect(
      plain.workspaces.changeTier({ workspaceId, tierId: small.id }),
    ).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(
      owner.workspaces.changeTier({ workspaceId, tierId: basic.id }),
    ).rejects.toMatchObject({ code: "CONFLICT", message: expect.stringContaining("already on") });
    await expect(
      owner.workspaces.changeTier({ workspaceId, tierId: small.id, timing: "period_end" }),
    ).rejects.toMatchObject({ code: "CONFLICT" });
    expect(await eventsNamed(runtime, workspaceId, "workspace/tier-changed")).toEqual([]);
  });

  it("counts usage of the period against the new tier's quotas", async () => {
    const { basic } = await tierPair();
    const capped = await makeTier(runtime, {
      monthlyPriceMinor: 5_000,
      quotas: [{ featureCode: "summarize", period: "month", maxCalls: 1 }],
      features: [...everything],
    });
    const { workspaceId, owner } = await workspaceOn(basic.code);
    clock.set(halfway);
    await consume(runtime, workspaceId, 2, randomUUID());
    await consume(runtime, workspaceId, 2, randomUUID());

    const plans = await owner.workspaces.plans({ workspaceId });
    expect(plans.tiers.find((tier) => tier.id === capped.id)?.change?.blockers).toEqual([
      expect.objectContaining({ code: "quota_exceeded", featureCode: "summarize" }),
    ]);
  });
});

async function workspacePlansOf(
  caller: Awaited<ReturnType<typeof callerFor>>,
  workspaceId: string,
) {
  return caller.workspaces.plans({ workspaceId });
}

describe("downgrading", () => {
  it("waits for the period's end by default, can be cancelled, and then allocates by the new tier", async () => {
    const { basic, plus } = await tierPair();
    const { workspaceId, owner } = await workspaceOn(plus.code);
    clock.set(halfway);

    expect(await owner.workspaces.changeTier({ workspaceId, tierId: basic.id })).toEqual({
      status: "scheduled",
      tierId: basic.id,
      effectiveAt: new Date("2027-04-01T00:00:00Z"),
    });
    let plans = await owner.workspaces.plans({ workspaceId });
    expect(plans.scheduledChange).toMatchObject({
      tier: { id: basic.id },
      effectiveAt: new Date("2027-04-01T00:00:00Z"),
    });
    await owner.workspaces.cancelScheduledTierChange({ workspaceId });
    plans = await owner.workspaces.plans({ workspaceId });
    expect(plans.scheduledChange).toBeNull();
    await expect(owner.workspaces.cancelScheduledTierChange({ workspaceId })).rejects.toMatchObject(
      { code: "CONFLICT" },
    );

    await owner.workspaces.changeTier({ workspaceId, tierId: basic.id, timing: "period_end" });
    clock.set("2027-04-01T00:00:30.000Z");
    await sweepCycles(runtime);
    await drain(runtime);

    const row = await workspaceRow(workspaceId);
    expect(row).toMatchObject({ tierId: basic.id, scheduledTierId: null, scheduledTierAt: null });
    const periods = await runtime.db
      .select({ sequence: creditPeriods.sequence, allowance: creditPeriods.allowance })
      .from(creditPeriods)
      .where(eq(creditPeriods.workspaceId, workspaceId))
      .orderBy(asc(creditPeriods.sequence));
    expect(periods).toEqual([
      { sequence: 1, allowance: 3_000 },
      { sequence: 2, allowance: 1_000 },
    ]);
    const [changed] = await eventsNamed(runtime, workspaceId, "workspace/tier-changed");
    expect(changed?.data).toMatchObject({ direction: "downgrade", prorated: false });
    // No proration at the period's end, and nothing taken back.
    expect(await adjustmentsOf(workspaceId)).toEqual([]);
    await expectLedgerInvariant(runtime, workspaceId);
  });

  it("now, when asked: the net credit stays as a customer credit balance and the allowance's share goes", async () => {
    const { basic, plus } = await tierPair();
    const { workspaceId, owner } = await workspaceOn(plus.code);
    clock.set(halfway);
    const before = (await balanceSummary(runtime.db, workspaceId)).balance;

    await owner.workspaces.changeTier({ workspaceId, tierId: basic.id, timing: "now" });
    await drain(runtime);

    expect(await adjustmentsOf(workspaceId)).toEqual([
      { kind: "proration_credit", amountMinor: -1_000, currency: "USD" },
      { kind: "proration_charge", amountMinor: 500, currency: "USD" },
    ]);
    expect((await owner.workspaces.plans({ workspaceId })).pendingMinor).toBe(-500);
    // Half a period of the difference of allowances (3,000 − 1,000) goes back.
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(before - 1_000);
  });

  it("refuses a version of a tier that a newer one has replaced", async () => {
    const { basic, plus } = await tierPair();
    const { workspaceId, owner } = await workspaceOn(basic.code);
    const [old] = await runtime.db.select().from(tiers).where(eq(tiers.id, plus.id));
    await runtime.db.insert(tiers).values({ ...old!, id: randomUUID(), version: 2 });

    await expect(
      owner.workspaces.changeTier({ workspaceId, tierId: plus.id }),
    ).rejects.toMatchObject({ code: "CONFLICT", cause: { field: "tierId" } });
  });

  it("gives no credits away when a workspace moves up and back down again and again", async () => {
    const { basic, plus } = await tierPair();
    const { workspaceId, owner } = await workspaceOn(basic.code);
    clock.set(halfway);
    const before = (await balanceSummary(runtime.db, workspaceId)).balance;

    for (let round = 0; round < 3; round++) {
      await owner.workspaces.changeTier({ workspaceId, tierId: plus.id });
      await drain(runtime);
      expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(before + 1_000);
      await owner.workspaces.changeTier({ workspaceId, tierId: basic.id, timing: "now" });
      await drain(runtime);
      expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(before);
    }
    // Money nets out as well: each round charges and credits the same half period. Each upgrade
    // is invoiced at once; each downgrade's credit waits for the next invoice.
    const invoiced = await prorationInvoicesOf(workspaceId);
    expect(invoiced.map((invoice) => invoice.totalMinor)).toEqual([500, 500, 500]);
    expect((await owner.workspaces.plans({ workspaceId })).pendingMinor).toBe(-1_500);
  });

  it("waits for the period's end when the period has used more allowance than a downgrade leaves", async () => {
    const { basic, plus } = await tierPair();
    const { workspaceId, owner } = await workspaceOn(plus.code);
    clock.set(halfway);
    // 2,500 of the 3,000 allowance used: a downgrade now would give back 1,000 of the 500 left.
    await consume(runtime, workspaceId, 2_500, randomUUID());
    const before = (await balanceSummary(runtime.db, workspaceId)).balance;

    await expect(
      owner.workspaces.changeTier({ workspaceId, tierId: basic.id, timing: "now" }),
    ).rejects.toMatchObject({ code: "CONFLICT", cause: { field: "timing" } });
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(before);
    expect(await adjustmentsOf(workspaceId)).toEqual([]);
    expect(
      await owner.workspaces.changeTier({ workspaceId, tierId: basic.id, timing: "period_end" }),
    ).toMatchObject({ status: "scheduled" });
  });
});

describe("changing tier with extra seats", () => {
  /** Small: 10.00 for 1 seat, 5.00 per extra seat; Big: 30.00 for 10 seats. */
  async function seatTiers() {
    const small = await makeTier(runtime, {
      name: "Small",
      monthlyPriceMinor: 1_000,
      includedSeats: 1,
      seatPriceMinor: 500,
      features: [...everything],
    });
    const big = await makeTier(runtime, {
      name: "Big",
      monthlyPriceMinor: 3_000,
      includedSeats: 10,
      seatPriceMinor: 500,
      features: [...everything],
    });

    return { small, big };
  }

  async function billedSeats(workspaceId: string, seats: number) {
    await runtime.db
      .update(subscriptions)
      .set({ seats })
      .where(eq(subscriptions.workspaceId, workspaceId));
  }

  async function linesOf(workspaceId: string) {
    return runtime.db
      .select({
        kind: billingAdjustments.kind,
        amountMinor: billingAdjustments.amountMinor,
        description: billingAdjustments.description,
      })
      .from(billingAdjustments)
      .where(eq(billingAdjustments.workspaceId, workspaceId))
      .orderBy(asc(billingAdjustments.kind));
  }

  it("upgrading prorates the old tier's extra seats too: seats the new tier includes are credited", async () => {
    const { small, big } = await seatTiers();
    const { workspaceId, owner } = await workspaceOn(small.code);
    // Five seats on Small: 10.00 + 4 × 5.00 = 30.00 a period; Big includes them for 30.00.
    await billedSeats(workspaceId, 5);
    clock.set(halfway);

    const plans = await owner.workspaces.plans({ workspaceId });
    expect(plans.tiers.find((tier) => tier.id === big.id)?.change?.now).toMatchObject({
      currency: "USD",
      creditMinor: -1_500,
      chargeMinor: 1_500,
      netMinor: 0,
    });
    await owner.workspaces.changeTier({ workspaceId, tierId: big.id });
    await drain(runtime);

    expect(await linesOf(workspaceId)).toEqual([
      {
        kind: "proration_credit",
        amountMinor: -1_500,
        description: "Unused time on Small with 4 extra seats, 16 Mar 2027 to 1 Apr 2027",
      },
      {
        kind: "proration_charge",
        amountMinor: 1_500,
        description: "Remaining time on Big, 16 Mar 2027 to 1 Apr 2027",
      },
    ]);
  });

  it("cancelling now refunds the unused extra seats with the fee", async () => {
    const { small } = await seatTiers();
    const { workspaceId, owner } = await workspaceOn(small.code);
    // Five seats on Small: 10.00 + 4 × 5.00 = 30.00 billed for the period; half of it unused.
    await billedSeats(workspaceId, 5);
    clock.set(halfway);

    await owner.workspaces.cancel({ workspaceId, timing: "now" });
    await drain(runtime);

    expect(
      (await linesOf(workspaceId)).filter((line) => line.kind === "cancellation_refund"),
    ).toEqual([
      {
        kind: "cancellation_refund",
        amountMinor: -1_500,
        description:
          "Refund of the unused Small fee with 4 extra seats, 16 Mar 2027 to 1 Apr 2027 ($15.00)",
      },
    ]);
  });

  it("downgrading now charges the new tier's extra seats for the rest of the period", async () => {
    const { small, big } = await seatTiers();
    const { workspaceId, owner } = await workspaceOn(big.code);
    // Three seats: Big 30.00 with none extra; Small 10.00 + 2 × 5.00 = 20.00.
    await billedSeats(workspaceId, 3);
    clock.set(halfway);

    const plans = await owner.workspaces.plans({ workspaceId });
    expect(plans.tiers.find((tier) => tier.id === small.id)?.change?.now).toMatchObject({
      creditMinor: -1_500,
      chargeMinor: 1_000,
      netMinor: -500,
    });
    await owner.workspaces.changeTier({ workspaceId, tierId: small.id, timing: "now" });
    await drain(runtime);

    expect(await linesOf(workspaceId)).toEqual([
      {
        kind: "proration_credit",
        amountMinor: -1_500,
        description: "Unused time on Big, 16 Mar 2027 to 1 Apr 2027",
      },
      {
        kind: "proration_charge",
        amountMinor: 1_000,
        description: "Remaining time on Small with 2 extra seats, 16 Mar 2027 to 1 Apr 2027",
      },
    ]);
    expect((await owner.workspaces.plans({ workspaceId })).pendingMinor).toBe(-500);
  });
});

describe("cancelling", () => {
  it("at the period's end: stays active, can be withdrawn, then becomes cancelled by the sweep", async () => {
    const { plus } = await tierPair();
    const { workspaceId, slug, owner } = await workspaceOn(plus.code);
    const admin = await member(workspaceId, "admin");
    clock.set(halfway);

    await expect(admin.workspaces.cancel({ workspaceId })).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
    expect(await owner.workspaces.cancel({ workspaceId, reason: "Too expensive" })).toEqual({
      status: "cancelling",
      effectiveAt: new Date("2027-04-01T00:00:00Z"),
    });
    expect(await workspaceRow(workspaceId)).toMatchObject({
      status: "active",
      cancelAt: new Date("2027-04-01T00:00:00Z"),
    });
    await owner.workspaces.withdrawCancellation({ workspaceId });
    expect((await workspaceRow(workspaceId)).cancelAt).toBeNull();
    await owner.workspaces.cancel({ workspaceId });

    clock.set("2027-04-01T00:00:30.000Z");
    await sweepCycles(runtime);
    await drain(runtime);

    const row = await workspaceRow(workspaceId);
    expect(row).toMatchObject({
      status: "cancelled",
      cancelAt: null,
      cancelledAt: new Date("2027-04-01T00:00:00Z"),
      purgeAfter: new Date("2027-05-01T00:00:00Z"),
    });
    // No period opens after the cancellation, and a cancel at the end refunds nothing.
    expect(await countRows(runtime, "credit_periods", `workspace_id = '${workspaceId}'`)).toBe(1);
    expect(await adjustmentsOf(workspaceId)).toEqual([]);
    const [cancelled] = await eventsNamed(runtime, workspaceId, "workspace/cancelled");
    expect(cancelled?.data).toMatchObject({ immediate: false });
    expect(
      await countRows(
        runtime,
        "notifications",
        `workspace_id = '${workspaceId}' AND type = 'workspace.cancelled'`,
      ),
    ).toBe(1);
    const seen = await owner.workspaces.bySlug({ slug });
    expect(seen.readOnly?.status).toBe("cancelled");
    await expect(owner.workspaces.withdrawCancellation({ workspaceId })).rejects.toMatchObject({
      cause: { code: "workspace_read_only" },
    });
  });

  it("now: cancelled at once with a refund of the unused base fee, recorded once", async () => {
    const { plus } = await tierPair();
    const { workspaceId, owner } = await workspaceOn(plus.code);
    clock.set(halfway);

    expect(await owner.workspaces.cancel({ workspaceId, timing: "now" })).toEqual({
      status: "cancelled",
      effectiveAt: clock.now(),
    });
    await drain(runtime);
    // The final invoice takes the refund up; what it leaves over is owed back, carried forward.
    expect(await adjustmentsOf(workspaceId)).toEqual([
      { kind: "cancellation_refund", amountMinor: -1_000, currency: "USD" },
      { kind: "credit_carried_forward", amountMinor: -1_000, currency: "USD" },
    ]);
    // Period 1's fee was invoiced at creation; the final invoice is the cancellation's.
    const all = await runtime.db
      .select()
      .from(invoices)
      .where(eq(invoices.workspaceId, workspaceId))
      .orderBy(asc(invoices.number));
    expect(all.map((invoice) => invoice.sourceKey)).toEqual([
      `first-period:${workspaceId}`,
      expect.stringMatching(/^final:/),
    ]);
    const finals = all.slice(1);
    expect(finals).toMatchObject([
      {
        kind: "subscription",
        status: "paid",
        totalMinor: 0,
        amountDueMinor: 0,
        periodEnd: clock.now(),
      },
    ]);
    expect(
      await runtime.db
        .select({ kind: invoiceLines.kind, amountMinor: invoiceLines.amountMinor })
        .from(invoiceLines)
        .where(eq(invoiceLines.invoiceId, finals[0]!.id))
        .orderBy(asc(invoiceLines.position)),
    ).toEqual([
      { kind: "proration", amountMinor: -1_000 },
      { kind: "credit_carried_forward", amountMinor: 1_000 },
    ]);
    const [cancelled] = await eventsNamed(runtime, workspaceId, "workspace/cancelled");
    await rerun([cancelled!.id], ["billing-cancellation-refund"]);
    expect(await adjustmentsOf(workspaceId)).toHaveLength(2);
    expect(await countRows(runtime, "invoices", `workspace_id = '${workspaceId}'`)).toBe(2);
    await expect(owner.workspaces.cancel({ workspaceId, timing: "now" })).rejects.toMatchObject({
      cause: { code: "workspace_read_only" },
    });
  });

  it("lets a suspended workspace (in dunning) be cancelled now only", async () => {
    const { plus } = await tierPair();
    const { workspaceId, owner } = await workspaceOn(plus.code);
    await runtime.db
      .update(workspaces)
      .set({ status: "suspended", suspendedAt: clock.now(), suspensionReason: "Unpaid" })
      .where(eq(workspaces.id, workspaceId));

    await expect(owner.workspaces.cancel({ workspaceId })).rejects.toMatchObject({
      cause: { code: "invalid_request", field: "timing" },
    });
    await owner.workspaces.cancel({ workspaceId, timing: "now" });
    expect((await workspaceRow(workspaceId)).status).toBe("cancelled");
  });
});

describe("deleting", () => {
  it("needs a cancelled workspace, its owner and the address typed exactly; purges but keeps records", async () => {
    const { plus } = await tierPair();
    const { workspaceId, slug, owner, ownerId } = await workspaceOn(plus.code);
    const admin = await member(workspaceId, "admin");
    await apiKeyFor(runtime, workspaceId, ownerId);
    clock.set(halfway);
    await consume(runtime, workspaceId, 3, randomUUID());
    // A quota crossing of this period, as the quota reaction records one.
    await runtime.db.insert(quotaExceedances).values({
      workspaceId,
      featureCode: "summarize",
      period: "day",
      periodStart: new Date("2027-03-16T00:00:00Z"),
      maxCalls: 0,
      used: 1,
      eventId: randomUUID(),
    });

    await expect(owner.workspaces.delete({ workspaceId, confirmSlug: slug })).rejects.toMatchObject(
      { code: "CONFLICT", message: expect.stringContaining("cancelled") },
    );
    await owner.workspaces.cancel({ workspaceId, timing: "now" });
    await drain(runtime);
    await expect(admin.workspaces.delete({ workspaceId, confirmSlug: slug })).rejects.toMatchObject(
      { code: "FORBIDDEN" },
    );
    await expect(
      owner.workspaces.delete({ workspaceId, confirmSlug: `${slug}x` }),
    ).rejects.toMatchObject({ cause: { code: "invalid_request", field: "confirmSlug" } });

    // Someone holding the address the old tombstones took cannot stand in the way.
    const squatter = await makeUser(runtime);
    await execute(
      runtime,
      createWorkspace,
      {
        name: "Squatter",
        slug: `deleted-${workspaceId}`,
        tierCode: "free",
        ownerUserId: squatter.id,
      },
      { actor: { type: "system", reason: "test" } },
    );

    expect(await owner.workspaces.delete({ workspaceId, confirmSlug: slug })).toEqual({
      workspaceId,
      status: "deleted",
    });
    expect(await workspaceRow(workspaceId)).toMatchObject({
      status: "deleted",
      deletedAt: clock.now(),
      slug: tombstoneSlug(workspaceId),
    });
    await expect(owner.workspaces.bySlug({ slug })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(owner.workspaces.plans({ workspaceId })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    await drain(runtime);

    const where = `workspace_id = '${workspaceId}'`;
    for (const table of [
      "workspace_members",
      "api_keys",
      "usage_records",
      "credit_grants",
      "credit_ledger_entries",
      "credit_balances",
      "credit_periods",
      "notifications",
      "quota_exceedances",
    ]) {
      expect([table, await countRows(runtime, table, where)]).toEqual([table, 0]);
    }
    // Legal records stay: the refund and the credit it left, the first period's invoice and the
    // final one, the audit trail (the purge's own entry included).
    expect(await countRows(runtime, "billing_adjustments", where)).toBe(2);
    expect(await countRows(runtime, "invoices", where)).toBe(2);
    const audit = await runtime.db
      .select({ command: auditLog.command })
      .from(auditLog)
      .where(eq(auditLog.workspaceId, workspaceId))
      .orderBy(asc(auditLog.id));
    expect(audit.map((entry) => entry.command)).toEqual(
      expect.arrayContaining(["workspaces.cancel", "workspaces.delete", "workspaces.purge"]),
    );
    // The address is free again.
    const again = await workspaceOn("free");
    expect(again.slug).not.toBe(slug);
    await execute(
      runtime,
      createWorkspace,
      { name: "Reused", slug, tierCode: "free", ownerUserId: again.ownerId },
      { actor: { type: "system", reason: "test" } },
    );
    // The purge, run again, finds nothing more to remove.
    const [deleted] = await eventsNamed(runtime, workspaceId, "workspace/deleted");
    await rerun([deleted!.id], ["workspaces-purge-data"]);
    expect(await countRows(runtime, "billing_adjustments", where)).toBe(2);
  });

  it("happens by itself 30 days after cancellation", async () => {
    const { workspaceId, owner } = await workspaceOn("free");
    clock.set(halfway);
    await owner.workspaces.cancel({ workspaceId, timing: "now" });
    await drain(runtime);

    clock.set("2027-04-15T12:00:00.000Z");
    await runCron(runtime, deleteExpiredCancelledWorkspaces);
    expect((await workspaceRow(workspaceId)).status).toBe("cancelled");
    clock.set("2027-04-15T12:00:01.000Z");
    await runCron(runtime, deleteExpiredCancelledWorkspaces);
    await drain(runtime);
    expect((await workspaceRow(workspaceId)).status).toBe("deleted");
    expect(await countRows(runtime, "workspace_members", `workspace_id = '${workspaceId}'`)).toBe(
      0,
    );
    const notices = await runtime.db
      .select()
      .from(notifications)
      .where(eq(notifications.workspaceId, workspaceId));
    expect(notices).toEqual([]);
  });
});
