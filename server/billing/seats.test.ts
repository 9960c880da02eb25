import { randomUUID } from "node:crypto";

import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { billingAdjustments, seatChanges, subscriptions, workspaceMembers } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { event, type EventEnvelope } from "@/server/events/catalogue";
import { writeEvents } from "@/server/events/outbox";
import type { Runtime } from "@/server/runtime";
import { callerFor, drain, makeUser, makeWorkspace, testRuntime } from "@/test/support/runtime";
import { eventsNamed, makeTier } from "@/test/support/tiers";
import { dropSubscription, setSubscription } from "@/test/support/billing";

import { extraSeats, prorateSeatChange, recordSeatCount } from "./seats";

// 14 Jan, 00:00 UTC: 18 of the period's 31 days are left.
const clock = new ManualClock("2027-01-14T00:00:00Z");
const PERIOD = {
  periodStart: new Date("2027-01-01T00:00:00Z"),
  periodEnd: new Date("2027-02-01T00:00:00Z"),
};
let runtime: Runtime;
/** Two seats included, 10.00 USD a month for each one more. */
let seatTier: string;
let noSeatPriceTier: string;

beforeAll(async () => {
  runtime = await testRuntime({ clock });
  seatTier = (await makeTier(runtime, { includedSeats: 2, seatPriceMinor: 1_000 })).code;
  noSeatPriceTier = (await makeTier(runtime, { includedSeats: 1, seatPriceMinor: 0 })).code;
});
afterAll(async () => {
  await runtime.stop();
});

describe("prorating a seat change", () => {
  const at = { ...PERIOD, at: clock.now() };

  it("bills only the seats beyond the included ones", () => {
    expect(extraSeats(1, 2)).toBe(0);
    expect(extraSeats(2, 2)).toBe(0);
    expect(extraSeats(5, 2)).toBe(3);
  });

  it("charges the added extra seats for the rest of the period, half to even", () => {
    // 2 × 1,000 × 18/31 = 1,161.29… → 1,161.
    expect(
      prorateSeatChange({ before: 2, after: 4, includedSeats: 2, seatPriceMinor: 1_000 }, at),
    ).toEqual({ extraDelta: 2, amountMinor: 1_161 });
  });

  it("credits removed extra seats, and counts only the part above the included seats", () => {
    // From 3 seats (1 extra) to 1 (none extra): −1,000 × 18/31 = −580.65 → −581.
    expect(
      prorateSeatChange({ before: 3, after: 1, includedSeats: 2, seatPriceMinor: 1_000 }, at),
    ).toEqual({ extraDelta: -1, amountMinor: -581 });
  });

  it("is nothing when extra seats stay, seats are free or the period is over", () => {
    const change = { before: 1, after: 2, includedSeats: 2, seatPriceMinor: 1_000 };
    expect(prorateSeatChange(change, at)).toEqual({ extraDelta: 0, amountMinor: 0 });
    expect(prorateSeatChange({ ...change, after: 3, seatPriceMinor: 0 }, at)).toEqual({
      extraDelta: 1,
      amountMinor: 0,
    });
    expect(prorateSeatChange({ ...change, after: 3 }, { ...PERIOD, at: PERIOD.periodEnd })).toEqual(
      { extraDelta: 1, amountMinor: 0 },
    );
    expect(
      prorateSeatChange({ ...change, before: 4 }, { ...PERIOD, at: PERIOD.periodEnd }).amountMinor,
    ).toBe(0);
  });

  it("charges the whole seat price for a change at the period's start", () => {
    expect(
      prorateSeatChange(
        { before: 2, after: 3, includedSeats: 2, seatPriceMinor: 1_000 },
        { ...PERIOD, at: PERIOD.periodStart },
      ).amountMinor,
    ).toBe(1_000);
  });
});

/** A workspace on `tierCode` with a subscription on the January period, billed for one seat. */
async function subscribed(tierCode: string) {
  const created = await makeWorkspace(runtime, { tierCode });
  await setSubscription(runtime, created.workspaceId, {
    currency: "USD",
    anchorAt: PERIOD.periodStart,
    currentPeriodStart: PERIOD.periodStart,
    currentPeriodEnd: PERIOD.periodEnd,
    seats: 1,
  });

  return created;
}

/** `count` new members join at once; one collaborator-added event announces the last. */
async function join(workspaceId: string, count: number) {
  const users: Awaited<ReturnType<typeof makeUser>>[] = [];
  for (let index = 0; index < count; index++) {
    const user = await makeUser(runtime);
    await runtime.db
      .insert(workspaceMembers)
      .values({ workspaceId, userId: user.id, role: "member" });
    users.push(user);
  }
  await runtime.db.transaction((tx) =>
    writeEvents(
      tx,
      [
        event("workspace/collaborator-added", {
          workspaceId,
          userId: users.at(-1)!.id,
          role: "member",
        }),
      ],
      clock,
    ),
  );
  await drain(runtime);

  return users;
}

async function subscriptionOf(workspaceId: string) {
  const [row] = await runtime.db
    .select()
    .from(subscriptions)
    .where(eq(subscriptions.workspaceId, workspaceId));

  return row!;
}

async function seatAdjustments(workspaceId: string) {
  return runtime.db
    .select()
    .from(billingAdjustments)
    .where(
      and(
        eq(billingAdjustments.workspaceId, workspaceId),
        eq(billingAdjustments.kind, "seat_proration"),
      ),
    )
    .orderBy(billingAdjustments.createdAt, billingAdjustments.amountMinor);
}

describe("seat changes on the subscription", () => {
  it("keeps the included seats free and prorates the extra ones both ways", async () => {
    const { workspaceId, userId } = await subscribed(seatTier);

    await join(workspaceId, 1);
    expect((await subscriptionOf(workspaceId)).seats).toBe(2);
    expect(await seatAdjustments(workspaceId)).toEqual([]);

    const [, second] = await join(workspaceId, 2);
    expect((await subscriptionOf(workspaceId)).seats).toBe(4);
    expect(await seatAdjustments(workspaceId)).toMatchObject([
      {
        amountMinor: 1_161,
        currency: "USD",
        description: "2 extra seats added, 14 Jan 2027 to 1 Feb 2027",
        periodStart: PERIOD.periodStart,
        periodEnd: PERIOD.periodEnd,
        invoicedAt: null,
      },
    ]);

    clock.advance(24 * 3_600_000);
    const owner = await callerFor(runtime, userId);
    await owner.workspaces.members.remove({ workspaceId, userId: second!.id });
    await drain(runtime);

    expect((await subscriptionOf(workspaceId)).seats).toBe(3);
    const adjustments = await seatAdjustments(workspaceId);
    // −1,000 × 17/31 = −548.39 → −548.
    expect(adjustments.map((row) => [row.amountMinor, row.description])).toEqual([
      [1_161, "2 extra seats added, 14 Jan 2027 to 1 Feb 2027"],
      [-548, "1 extra seat removed, 15 Jan 2027 to 1 Feb 2027"],
    ]);
    expect((await eventsNamed(runtime, workspaceId, "billing/subscription-updated")).length).toBe(
      3,
    );
    clock.set("2027-01-14T00:00:00Z");
  });

  it("records the count once and one adjustment when the same event comes twice", async () => {
    const { workspaceId } = await subscribed(seatTier);
    const user = await makeUser(runtime);
    const other = await makeUser(runtime);
    await runtime.db.insert(workspaceMembers).values([
      { workspaceId, userId: user.id, role: "member" },
      { workspaceId, userId: other.id, role: "member" },
    ]);
    const delivered: EventEnvelope<"workspace/collaborator-added"> = {
      id: randomUUID(),
      name: "workspace/collaborator-added",
      version: 1,
      workspaceId,
      streamSeq: 1,
      object: { type: "workspace_member", id: `${workspaceId}:${other.id}` },
      occurredAt: clock.now(),
      causationId: null,
      data: { workspaceId, userId: other.id, role: "member" },
    };
    for (let delivery = 0; delivery < 2; delivery++) {
      await runtime.db.transaction((tx) =>
        recordSeatCount({ tx, event: delivered, deps: runtime.executeDeps, log: runtime.logger }),
      );
    }

    expect(
      await runtime.db.select().from(seatChanges).where(eq(seatChanges.workspaceId, workspaceId)),
    ).toHaveLength(1);
    expect((await seatAdjustments(workspaceId)).map((row) => row.amountMinor)).toEqual([581]);
    expect((await subscriptionOf(workspaceId)).seats).toBe(3);
  });

  it("prorates a change recorded after the period turned from the new period's start", async () => {
    const { workspaceId } = await subscribed(seatTier);
    await runtime.db
      .update(subscriptions)
      .set({
        periodSequence: 2,
        currentPeriodStart: PERIOD.periodEnd,
        currentPeriodEnd: new Date("2027-03-01T00:00:00Z"),
      })
      .where(eq(subscriptions.workspaceId, workspaceId));

    // The event is from 14 Jan; February's fee already billed one seat, so all of February is due.
    await join(workspaceId, 2);

    expect(await seatAdjustments(workspaceId)).toMatchObject([
      { amountMinor: 1_000, description: "1 extra seat added, 1 Feb 2027 to 1 Mar 2027" },
    ]);
  });

  it("updates the seats but records no money when the tier charges nothing for seats", async () => {
    const { workspaceId } = await subscribed(noSeatPriceTier);
    await join(workspaceId, 3);

    expect((await subscriptionOf(workspaceId)).seats).toBe(4);
    expect(await seatAdjustments(workspaceId)).toEqual([]);
  });

  it("only records the count for a workspace without a subscription", async () => {
    const { workspaceId } = await makeWorkspace(runtime, { tierCode: seatTier });
    await dropSubscription(runtime, workspaceId);
    await join(workspaceId, 3);

    expect(
      (
        await runtime.db.select().from(seatChanges).where(eq(seatChanges.workspaceId, workspaceId))
      ).map((row) => row.seats),
    ).toEqual([4]);
    expect(await seatAdjustments(workspaceId)).toEqual([]);
  });
});
