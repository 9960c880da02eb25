import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { tiers, workspaceMembers, workspaces } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import type { Runtime } from "@/server/runtime";
import { makeTier } from "@/test/support/tiers";
import { callerFor, drain, makeUser, testRuntime, uniqueSuffix } from "@/test/support/runtime";

import { createWorkspace } from "./commands";

const clock = new ManualClock("2027-04-02T10:00:00.000Z");
let runtime: Runtime;
let adminCaller: Awaited<ReturnType<typeof callerFor>>;
let admin: Awaited<ReturnType<typeof makeUser>>;
beforeAll(async () => {
  runtime = await testRuntime({ clock });
  admin = await makeUser(runtime, { isPlatformAdmin: true });
  adminCaller = await callerFor(runtime, admin.id);
});
afterAll(async () => {
  await runtime.stop();
});

/** A workspace on `tierCode` owned by a new user, with `extraMembers` more members. */
async function workspaceOn(tierCode: string, name: string, extraMembers = 0) {
  const owner = await makeUser(runtime);
  const slug = `ws-${uniqueSuffix()}`;
  const { workspaceId } = await execute(
    runtime,
    createWorkspace,
    { name, slug, tierCode, ownerUserId: owner.id },
    { actor: { type: "system", reason: "test" } },
  );
  for (let i = 0; i < extraMembers; i++) {
    const member = await makeUser(runtime);
    await runtime.db
      .insert(workspaceMembers)
      .values({ workspaceId, userId: member.id, role: i === 0 ? "admin" : "member" });
  }
  await drain(runtime);

  return { workspaceId, slug, owner };
}

/**
 * Four workspaces whose names share a token: two on a dollar tier with seats
 * beyond the included two, one suspended on a euro tier, one cancelled.
 */
async function fleet() {
  const token = `fleet${uniqueSuffix()}`;
  const dollars = await makeTier(runtime, {
    currency: "USD",
    monthlyPriceMinor: 2_900,
    includedSeats: 2,
    seatPriceMinor: 1_000,
  });
  const euros = await makeTier(runtime, {
    currency: "EUR",
    monthlyPriceMinor: 5_000,
    includedSeats: 1,
    seatPriceMinor: 700,
  });
  const big = await workspaceOn(dollars.code, `${token} Big`, 3);
  const small = await workspaceOn(dollars.code, `${token} Small`);
  const euro = await workspaceOn(euros.code, `${token} Euro`);
  const gone = await workspaceOn(dollars.code, `${token} Gone`, 4);
  await adminCaller.workspaces.admin.suspend({
    workspaceId: euro.workspaceId,
    reason: "Invoice unpaid for 30 days",
  });
  await runtime.db
    .update(workspaces)
    .set({ status: "cancelled", cancelledAt: clock.now() })
    .where(eq(workspaces.id, gone.workspaceId));

  return { token, dollars, euros, big, small, euro, gone };
}

describe("the admin workspace list", () => {
  it("computes MRR from the tier's price and the seats beyond the included ones, per currency", async () => {
    const { token, big, small, euro, gone } = await fleet();

    const list = await adminCaller.workspaces.admin.find({ query: token, sort: "mrr" });

    expect(list.total).toBe(4);
    const mrr = Object.fromEntries(list.rows.map((row) => [row.id, [row.mrrMinor, row.currency]]));
    // 2,900 + (4 seats − 2 included) × 1,000
    expect(mrr[big.workspaceId]).toEqual([4_900, "USD"]);
    expect(mrr[small.workspaceId]).toEqual([2_900, "USD"]);
    // Suspended still owes its price; its one seat is included.
    expect(mrr[euro.workspaceId]).toEqual([5_000, "EUR"]);
    // Cancelled counts nothing, whatever its seats.
    expect(mrr[gone.workspaceId]).toEqual([0, "USD"]);
    expect(list.mrrByCurrency).toEqual([
      { currency: "EUR", mrrMinor: 5_000 },
      { currency: "USD", mrrMinor: 7_800 },
    ]);
    // Sorted by MRR ascending: the cancelled one first.
    expect(list.rows.map((row) => [row.id, row.seats])).toEqual([
      [gone.workspaceId, 5],
      [small.workspaceId, 1],
      [big.workspaceId, 4],
      [euro.workspaceId, 1],
    ]);
  });

  it("searches by name, address, owner email and id, and filters by status and tier", async () => {
    const { token, euros, big, small, euro } = await fleet();
    const ids = async (input: Parameters<typeof adminCaller.workspaces.admin.find>[0]) =>
      (await adminCaller.workspaces.admin.find(input)).rows.map((row) => row.id);

    expect(await ids({ query: small.owner.email! })).toEqual([small.workspaceId]);
    expect(await ids({ query: big.workspaceId })).toEqual([big.workspaceId]);
    expect(await ids({ query: big.slug.toUpperCase() })).toEqual([big.workspaceId]);
    expect(await ids({ query: token, statuses: ["suspended"] })).toEqual([euro.workspaceId]);
    expect(await ids({ query: token, tierCode: euros.code })).toEqual([euro.workspaceId]);
    expect(await ids({ query: token, statuses: ["active"], sort: "name" })).toEqual([
      big.workspaceId,
      small.workspaceId,
    ]);
    // LIKE's wildcards are searched for literally.
    expect(await ids({ query: `${token.slice(0, 5)}%` })).toEqual([]);
  });

  it("marks a pending cancellation and a scheduled tier change", async () => {
    const { token, dollars, euros, big, small } = await fleet();
    const at = new Date("2027-05-01T00:00:00.000Z");
    await runtime.db
      .update(workspaces)
      .set({ cancelAt: at })
      .where(eq(workspaces.id, big.workspaceId));
    await runtime.db
      .update(workspaces)
      .set({ scheduledTierId: euros.id, scheduledTierAt: at })
      .where(eq(workspaces.id, small.workspaceId));

    const { rows } = await adminCaller.workspaces.admin.find({
      query: token,
      tierCode: dollars.code,
    });
    const byId = new Map(rows.map((row) => [row.id, row]));

    expect(byId.get(big.workspaceId)).toMatchObject({ cancelAt: at, scheduledTierName: null });
    expect(byId.get(small.workspaceId)).toMatchObject({
      cancelAt: null,
      scheduledTierAt: at,
      scheduledTierName: `Test ${euros.code}`,
    });
  });

  it("pages through matches in a stable order with the total count", async () => {
    const token = `page${uniqueSuffix()}`;
    const [tier] = await runtime.db
      .select({ id: tiers.id })
      .from(tiers)
      .where(eq(tiers.code, "free"));
    await runtime.db.insert(workspaces).values(
      Array.from({ length: 23 }, (_, i) => ({
        name: `${token} ${String(i).padStart(2, "0")}`,
        slug: `${token}-${i}`,
        tierId: tier!.id,
      })),
    );

    const pages = await Promise.all(
      [1, 2, 3].map((page) =>
        adminCaller.workspaces.admin.find({ query: token, pageSize: 10, page }),
      ),
    );

    expect(pages.map((page) => page.rows.length)).toEqual([10, 10, 3]);
    expect(pages.map((page) => [page.total, page.pages])).toEqual([
      [23, 3],
      [23, 3],
      [23, 3],
    ]);
    const names = pages.flatMap((page) => page.rows.map((row) => row.name));
    expect(names).toEqual(
      Array.from({ length: 23 }, (_, i) => `${token} ${String(i).padStart(2, "0")}`),
    );

    const descending = await adminCaller.workspaces.admin.find({
      query: token,
      pageSize: 10,
      direction: "desc",
    });
    expect(descending.rows[0]?.name).toBe(`${token} 22`);

    const past = await adminCaller.workspaces.admin.find({ query: token, pageSize: 10, page: 9 });
    expect(past).toMatchObject({ rows: [], total: 23, pages: 3 });
  });

  it("refuses a page size it does not offer, naming the field", async () => {
    await expect(adminCaller.workspaces.admin.find({ pageSize: 7 })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      cause: { issues: [{ path: ["pageSize"], message: "Choose a page size of 10, 25, 50, 100" }] },
    });
  });
});

describe("the admin workspace detail", () => {
  it("shows tier, members, balance, recent events and the audit trail of one workspace", async () => {
    const { big, dollars } = await fleet();
    await adminCaller.workspaces.admin.suspend({
      workspaceId: big.workspaceId,
      reason: "Abuse report 17",
    });
    await adminCaller.workspaces.admin.reactivate({ workspaceId: big.workspaceId });
    await drain(runtime);

    const detail = await adminCaller.workspaces.admin.detail({ workspaceId: big.workspaceId });

    expect(detail).toMatchObject({
      id: big.workspaceId,
      slug: big.slug,
      status: "active",
      seats: 4,
      mrrMinor: 4_900,
      scheduledTier: null,
      // Period 1's fee, invoiced at creation (one seat then, within the two included).
      invoices: [{ kind: "subscription", status: "open", currency: "USD", totalMinor: 2_900 }],
      tier: {
        code: dollars.code,
        version: 1,
        currency: "USD",
        includedSeats: 2,
        seatPriceMinor: 1_000,
      },
      owner: { email: big.owner.email, role: "owner" },
    });
    expect(detail.members.map((member) => member.role)).toEqual([
      "owner",
      "admin",
      "member",
      "member",
    ]);
    // makeTier's allowance: 1,000 credits a month, granted by the reaction to workspace/created.
    expect(detail.balance.balance).toBe(1_000);
    expect(detail.balance.grantsBySource).toEqual([
      { source: "tier_allocation", grants: 1, remaining: 1_000 },
    ]);
    // Newest first; the notices' own events (notifications/…) sit in between.
    const lifecycle = detail.recentEvents
      .map((event) => event.name)
      .filter((name) => name.startsWith("workspace/"));
    // The 25 newest: the first invoice's events and notices may push the creation out of them.
    expect(lifecycle.slice(0, 2)).toEqual(["workspace/reactivated", "workspace/suspended"]);
    expect(detail.recentEvents).toHaveLength(25);
    expect(detail.recentEvents.every((event) => event.publishedAt !== null)).toBe(true);

    const trail = await adminCaller.workspaces.admin.audit({ workspaceId: big.workspaceId });
    expect(trail.entries.map((entry) => entry.command)).toEqual([
      "workspaces.reactivate",
      "workspaces.suspend",
      "workspaces.create",
    ]);
    expect(trail.entries[1]).toMatchObject({
      actorType: "user",
      actorEmail: admin.email,
      summary: { from: "active", to: "suspended", reason: "Abuse report 17" },
    });
    expect(trail.commands).toEqual([
      "workspaces.create",
      "workspaces.reactivate",
      "workspaces.suspend",
    ]);
  });

  it("filters the audit trail by command and pages it by id", async () => {
    const { big } = await fleet();
    for (let i = 0; i < 3; i++) {
      await adminCaller.workspaces.admin.suspend({
        workspaceId: big.workspaceId,
        reason: `Round ${i}`,
      });
      await adminCaller.workspaces.admin.reactivate({ workspaceId: big.workspaceId });
    }

    const first = await adminCaller.workspaces.admin.audit({
      workspaceId: big.workspaceId,
      commands: ["workspaces.suspend"],
      limit: 2,
    });
    const second = await adminCaller.workspaces.admin.audit({
      workspaceId: big.workspaceId,
      commands: ["workspaces.suspend"],
      limit: 2,
      before: first.nextBefore!,
    });

    expect(first.entries.map((entry) => entry.summary.reason)).toEqual(["Round 2", "Round 1"]);
    expect(second.entries.map((entry) => entry.summary.reason)).toEqual(["Round 0"]);
    expect(second.nextBefore).toBeNull();
  });

  it("is not_found for an unknown workspace", async () => {
    await expect(
      adminCaller.workspaces.admin.detail({ workspaceId: "00000000-0000-4000-8000-000000000000" }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("a member's workspace queries", () => {
  it("details: tier summary, status, notices, role and seats in use", async () => {
    const { euro, euros } = await fleet();
    const caller = await callerFor(runtime, euro.owner.id);

    const details = await caller.workspaces.details({ workspaceId: euro.workspaceId });

    expect(details).toMatchObject({
      slug: euro.slug,
      status: "suspended",
      role: "owner",
      seatsInUse: 1,
      tier: { code: euros.code, currency: "EUR", monthlyPriceMinor: 5_000 },
      notices: { cancelAt: null, scheduledTier: null },
    });
    expect(details.notices.readOnly?.message).toContain("Invoice unpaid for 30 days");
  });

  it("list: the user's workspaces with role, tier and status, deleted ones left out", async () => {
    const user = await makeUser(runtime);
    const { workspaceId: kept } = await workspaceOn("free", "Kept");
    const { workspaceId: deleted } = await workspaceOn("free", "Deleted");
    await runtime.db.insert(workspaceMembers).values([
      { workspaceId: kept, userId: user.id, role: "billing" },
      { workspaceId: deleted, userId: user.id, role: "member" },
    ]);
    await runtime.db
      .update(workspaces)
      .set({ status: "deleted", deletedAt: clock.now() })
      .where(eq(workspaces.id, deleted));

    const list = await (await callerFor(runtime, user.id)).workspaces.list();

    expect(list).toEqual([
      expect.objectContaining({
        workspaceId: kept,
        role: "billing",
        status: "active",
        tierCode: "free",
      }),
    ]);
  });
});
