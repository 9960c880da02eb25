import { randomUUID } from "node:crypto";

import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  auditLog,
  emailMessages,
  notificationDeliveries,
  notifications,
  workspaceMembers,
  workspaces,
} from "@/drizzle/schema";
import { endpoints } from "@/server/api/openapi";
import { MeteringApi, type ApiRequest } from "@/server/api/metering";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import { balanceSummary } from "@/server/credits/queries";
import { seedPacks } from "@/server/db/seed";
import type { Runtime } from "@/server/runtime";
import { apiKeyFor } from "@/test/support/credits";
import { buyPaidPack } from "@/test/support/purchases";
import { eventsNamed, freeWithEveryFeature } from "@/test/support/tiers";
import { callerFor, drain, makeUser, makeWorkspace, testRuntime } from "@/test/support/runtime";

import { WORKSPACE_STATUS_CHANNEL } from "./api-keys";
import { reactivateWorkspace, suspendWorkspace } from "./commands";
import { cancelWorkspace } from "./lifecycle";

const clock = new ManualClock("2027-03-10T09:30:00.000Z");
let runtime: Runtime;
beforeAll(async () => {
  runtime = await testRuntime({ clock });
});
afterAll(async () => {
  await runtime.stop();
});

const dunning = { actor: { type: "system", reason: "dunning" } } as const;

/** A workspace with one member of each role below owner, and a platform admin's caller. */
async function team() {
  const workspace = await makeWorkspace(runtime);
  const members: Record<string, { id: string; email: string | null }> = {};
  for (const role of ["admin", "billing", "member", "viewer"] as const) {
    const user = await makeUser(runtime);
    await runtime.db
      .insert(workspaceMembers)
      .values({ workspaceId: workspace.workspaceId, userId: user.id, role });
    members[role] = user;
  }
  const admin = await makeUser(runtime, { isPlatformAdmin: true });

  return { ...workspace, members, admin, adminCaller: await callerFor(runtime, admin.id) };
}

async function auditOf(workspaceId: string, command: string) {
  return runtime.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.workspaceId, workspaceId), eq(auditLog.command, command)));
}

/** Who got a notification of this type, per channel. */
async function recipientsOf(workspaceId: string, type: string) {
  const rows = await runtime.db
    .select({ channel: notificationDeliveries.channel, userId: notificationDeliveries.userId })
    .from(notificationDeliveries)
    .innerJoin(notifications, eq(notifications.id, notificationDeliveries.notificationId))
    .where(and(eq(notifications.workspaceId, workspaceId), eq(notifications.type, type)));

  return {
    inApp: rows.filter((row) => row.channel === "in_app").map((row) => row.userId),
    email: rows.filter((row) => row.channel === "email").map((row) => row.userId),
  };
}

describe("suspending a workspace", () => {
  it("stores the reason, writes its event and audit entry, and notifies billing members and up", async () => {
    const { workspaceId, userId, members, admin, adminCaller } = await team();

    const result = await adminCaller.workspaces.admin.suspend({
      workspaceId,
      reason: "  Invoice INV-0042 unpaid for 30 days ",
    });
    expect(result).toEqual({ workspaceId, status: "suspended", suspendedAt: clock.now() });

    const [row] = await runtime.db.select().from(workspaces).where(eq(workspaces.id, workspaceId));
    expect(row).toMatchObject({
      status: "suspended",
      suspendedAt: clock.now(),
      suspensionReason: "Invoice INV-0042 unpaid for 30 days",
    });
    const events = await eventsNamed(runtime, workspaceId, "workspace/suspended");
    expect(events.map((event) => event.data)).toEqual([
      { workspaceId, reason: "Invoice INV-0042 unpaid for 30 days" },
    ]);
    expect(await auditOf(workspaceId, "workspaces.suspend")).toEqual([
      expect.objectContaining({
        actorType: "user",
        actorId: admin.id,
        summary: { from: "active", to: "suspended", reason: "Invoice INV-0042 unpaid for 30 days" },
      }),
    ]);

    await drain(runtime);
    const billingAndUp = [userId, members.admin!.id, members.billing!.id].sort();
    const told = await recipientsOf(workspaceId, "workspace.suspended");
    expect(told.inApp.sort()).toEqual(billingAndUp);
    expect(told.email.sort()).toEqual(billingAndUp);
    const [email] = await runtime.db
      .select()
      .from(emailMessages)
      .where(
        and(
          eq(emailMessages.workspaceId, workspaceId),
          eq(emailMessages.type, "workspace.suspended"),
        ),
      )
      .limit(1);
    expect(email?.subject).toMatch(/is suspended$/);
    expect(email?.text).toContain("Invoice INV-0042 unpaid for 30 days");
    expect(email?.text).toContain("pay the open invoice or contact support");
  });

  it("shows its members the reason and what to do, and refuses changes but not purchases", async () => {
    const { workspaceId, slug, userId } = await makeWorkspace(runtime);
    await execute(
      runtime,
      suspendWorkspace,
      { workspaceId, reason: "Chargeback on card" },
      dunning,
    );
    await drain(runtime);
    const owner = await callerFor(runtime, userId);

    const seen = await owner.workspaces.bySlug({ slug });
    expect(seen).toMatchObject({
      status: "suspended",
      suspendedAt: clock.now(),
      readOnly: { status: "suspended", reason: "Chargeback on card" },
    });
    expect(seen.readOnly?.message).toContain("(Chargeback on card)");
    await expect(
      owner.credits.consume({
        workspaceId,
        featureCode: "summarize",
        inputBytes: 10,
        idempotencyKey: randomUUID(),
      }),
    ).rejects.toMatchObject({ cause: { code: "workspace_read_only" } });

    // Buying a pack still goes all the way: checkout, payment, grant.
    const before = (await balanceSummary(runtime.db, workspaceId)).balance;
    await buyPaidPack(runtime, { workspaceId, userId }, seedPacks[0].id);
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(
      before + seedPacks[0].credits,
    );
  });

  it("refuses what does not apply, with the reason's problem beside its field", async () => {
    const { workspaceId, adminCaller } = await team();

    const tooShort = await adminCaller.workspaces.admin
      .suspend({ workspaceId, reason: " x " })
      .catch((error: unknown) => error);
    // The formatter turns the zod issue's path into the field the admin form shows it beside.
    expect(tooShort).toMatchObject({
      code: "BAD_REQUEST",
      cause: { issues: [expect.objectContaining({ path: ["reason"] })] },
    });
    await expect(adminCaller.workspaces.admin.reactivate({ workspaceId })).rejects.toMatchObject({
      code: "CONFLICT",
      message: expect.stringContaining("only a suspended workspace can be reactivated"),
    });
    await adminCaller.workspaces.admin.suspend({ workspaceId, reason: "Abuse report" });
    await expect(
      adminCaller.workspaces.admin.suspend({ workspaceId, reason: "Again" }),
    ).rejects.toMatchObject({
      code: "CONFLICT",
      message: expect.stringContaining("already suspended (Abuse report)"),
    });
    await expect(
      adminCaller.workspaces.admin.suspend({ workspaceId: randomUUID(), reason: "Nobody" }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
    // Nothing but the one suspension was written.
    expect(await eventsNamed(runtime, workspaceId, "workspace/suspended")).toHaveLength(1);
    expect(await auditOf(workspaceId, "workspaces.suspend")).toHaveLength(1);
  });
});

describe("reactivating a workspace", () => {
  it("clears the suspension, writes its event and audit entry, and notifies", async () => {
    const { workspaceId, userId, members, admin, adminCaller } = await team();
    await adminCaller.workspaces.admin.suspend({ workspaceId, reason: "Unpaid invoice" });
    await drain(runtime);
    const owner = await callerFor(runtime, userId);
    await expect(owner.workspaces.createApiKey({ workspaceId, name: "ci" })).rejects.toMatchObject({
      cause: { code: "workspace_read_only" },
    });

    clock.advance(60_000);
    expect(await adminCaller.workspaces.admin.reactivate({ workspaceId })).toEqual({
      workspaceId,
      status: "active",
    });

    const [row] = await runtime.db.select().from(workspaces).where(eq(workspaces.id, workspaceId));
    expect(row).toMatchObject({ status: "active", suspendedAt: null, suspensionReason: null });
    expect(
      (await eventsNamed(runtime, workspaceId, "workspace/reactivated")).map((e) => e.data),
    ).toEqual([{ workspaceId }]);
    expect(await auditOf(workspaceId, "workspaces.reactivate")).toEqual([
      expect.objectContaining({
        actorType: "user",
        actorId: admin.id,
        summary: {
          from: "suspended",
          to: "active",
          suspendedAt: new Date(clock.now().getTime() - 60_000).toISOString(),
          suspensionReason: "Unpaid invoice",
        },
      }),
    ]);

    await drain(runtime);
    const told = await recipientsOf(workspaceId, "workspace.reactivated");
    expect(told.inApp.sort()).toEqual([userId, members.admin!.id, members.billing!.id].sort());
    expect(await owner.workspaces.createApiKey({ workspaceId, name: "ci" })).toMatchObject({
      key: expect.stringMatching(/^tally_sk_/),
    });
  });
});

describe("the metering API", () => {
  /** A request to the API as the lean server would hand it over. */
  function request(method: string, path: string, key: string, body?: unknown): ApiRequest {
    const headers: Record<string, string> = {
      authorization: `Bearer ${key}`,
      "idempotency-key": randomUUID(),
      "content-type": "application/json",
    };

    return {
      method,
      path,
      header: (name) => headers[name],
      text: async () => (body === undefined ? "" : JSON.stringify(body)),
    };
  }

  /** Every endpoint of the API (from its OpenAPI table), called with this key. */
  async function everyEndpoint(api: MeteringApi, key: string) {
    const answers: Record<string, { status: number; code?: string }> = {};
    for (const endpoint of endpoints) {
      const path = `/api/v1${endpoint.path.replace("{holdId}", randomUUID())}`;
      const response = await api.handle(
        request(endpoint.method, path, key, endpoint.request?.example),
      );
      const body = response.body as { error?: { code: string } };
      answers[`${endpoint.method} ${endpoint.path}`] = {
        status: response.status,
        code: body.error?.code,
      };
    }

    return answers;
  }

  const refusedEverywhere = (code = "workspace_suspended") =>
    Object.fromEntries(
      endpoints.map((endpoint) => [`${endpoint.method} ${endpoint.path}`, { status: 403, code }]),
    );

  it("refuses every endpoint from the moment of suspension, and serves again on reactivation", async () => {
    const { workspaceId, userId } = await makeWorkspace(runtime);
    const key = await apiKeyFor(runtime, workspaceId, userId);
    const api = new MeteringApi(runtime, { rateLimiter: null });
    await api.start();
    try {
      // The key is now cached as belonging to an active workspace.
      expect((await api.handle(request("GET", "/api/v1/balance", key))).status).toBe(200);

      await execute(runtime, suspendWorkspace, { workspaceId, reason: "Unpaid" }, dunning);
      expect(await everyEndpoint(api, key)).toEqual(refusedEverywhere());

      await execute(runtime, reactivateWorkspace, { workspaceId }, dunning);
      const usage = await api.handle(
        request("POST", "/api/v1/usage", key, { feature: "summarize", inputBytes: 10 }),
      );
      expect(usage.status).toBe(200);
    } finally {
      await api.stop();
    }
  });

  it("refuses every endpoint of a cancelled workspace with workspace_cancelled", async () => {
    const { workspaceId, userId } = await makeWorkspace(runtime);
    const key = await apiKeyFor(runtime, workspaceId, userId);
    const api = new MeteringApi(runtime, { rateLimiter: null });
    await api.start();
    try {
      // Cached as active first: the cancellation's NOTIFY must make the cache forget it.
      expect((await api.handle(request("GET", "/api/v1/balance", key))).status).toBe(200);
      await execute(
        runtime,
        cancelWorkspace,
        { workspaceId, timing: "now" },
        { actor: { type: "user", userId } },
      );
      await expect
        .poll(async () => (await everyEndpoint(api, key))["POST /holds/{holdId}/release"])
        .toEqual({ status: 403, code: "workspace_cancelled" });
      expect(await everyEndpoint(api, key)).toEqual(refusedEverywhere("workspace_cancelled"));
    } finally {
      await api.stop();
    }
  });

  it("hears of a status change made by another process through NOTIFY", async () => {
    // Holds are a tier feature that Free lacks; releasing one is what this test calls.
    const { workspaceId, userId } = await makeWorkspace(runtime, {
      tierCode: (await freeWithEveryFeature(runtime)).code,
    });
    const key = await apiKeyFor(runtime, workspaceId, userId);
    const api = new MeteringApi(runtime, { rateLimiter: null });
    await api.start();
    const release = async () =>
      (await api.handle(request("POST", `/api/v1/holds/${randomUUID()}/release`, key))).status;
    try {
      expect((await api.handle(request("GET", "/api/v1/balance", key))).status).toBe(200);
      // As another process's suspension looks from here: the row changes, then its notice comes.
      await runtime.db
        .update(workspaces)
        .set({ status: "suspended" })
        .where(eq(workspaces.id, workspaceId));
      // Until the notice, the cached key still says active: releasing (which checks no status
      // itself) gets as far as looking for the hold.
      expect(await release()).toBe(404);

      await runtime.db.execute(sql`SELECT pg_notify(${WORKSPACE_STATUS_CHANNEL}, ${workspaceId})`);
      await expect.poll(release, { timeout: 2_000 }).toBe(403);
    } finally {
      await api.stop();
    }
  });
});
