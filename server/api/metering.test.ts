import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { usageRecords, workspaces } from "@/drizzle/schema";
import { execute } from "@/server/commands";
import { balanceSummary } from "@/server/credits/queries";
import type { Runtime } from "@/server/runtime";
import { revokeApiKey } from "@/server/workspaces/api-keys";
import { apiKeyFor, bytesCosting, consume } from "@/test/support/credits";
import { drain, expectLedgerInvariant, makeWorkspace, testRuntime } from "@/test/support/runtime";

import { handleMeteringRequest } from "./metering";
import { freeWithEveryFeature } from "@/test/support/tiers";

let runtime: Runtime;
/** A tier on Free's terms with every feature; see test/support/tiers.ts. */
let everyFeature: string;
beforeAll(async () => {
  runtime = await testRuntime({ pool: 12 });
  everyFeature = (await freeWithEveryFeature(runtime)).code;
});
afterAll(async () => {
  await runtime.stop();
});

interface Call {
  key?: string | null;
  idempotencyKey?: string | null;
  body?: unknown;
  method?: string;
  path?: string;
}

async function call({ key, idempotencyKey, body, method = "POST", path = "/api/v1/usage" }: Call) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (key) headers.authorization = `Bearer ${key}`;
  if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
  const response = await handleMeteringRequest(
    runtime,
    new Request(`http://localhost${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    }),
  );

  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, any>,
  };
}

async function workspaceWithKey() {
  // Free's own rate limit (a burst of 20) would refuse the bursts of calls these tests make.
  const workspace = await makeWorkspace(runtime, { tierCode: everyFeature });
  const key = await apiKeyFor(runtime, workspace.workspaceId, workspace.userId);

  return { ...workspace, key };
}

describe("POST /api/v1/usage", () => {
  it("consumes credits and answers with the charge and the balance", async () => {
    const { key, workspaceId } = await workspaceWithKey();
    const response = await call({
      key,
      idempotencyKey: "a1",
      body: { feature: "summarize", inputBytes: 2048 },
    });

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      allowed: true,
      feature: "summarize",
      units: 2,
      credits: 3,
      balance: 1_247,
    });
    expect(response.headers.get("x-request-id")).toBeTruthy();
    const [usage] = await runtime.db
      .select()
      .from(usageRecords)
      .where(eq(usageRecords.id, response.body.usageId));
    expect(usage?.apiKeyId).toBeTruthy();
    await expectLedgerInvariant(runtime, workspaceId);
  });

  it("replays a repeated Idempotency-Key and refuses it with another body", async () => {
    const { key, workspaceId } = await workspaceWithKey();
    const body = { feature: "translate", inputBytes: 1000 };
    const first = await call({ key, idempotencyKey: "same", body });
    const second = await call({ key, idempotencyKey: "same", body });

    expect(second.status).toBe(200);
    expect(second.body).toEqual({ ...first.body, replayed: true });
    expect(second.headers.get("idempotent-replayed")).toBe("true");

    const conflict = await call({
      key,
      idempotencyKey: "same",
      body: { ...body, inputBytes: 1001 },
    });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toMatchObject({
      code: "idempotency_conflict",
      field: "Idempotency-Key",
    });
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(
      1_250 - first.body.credits,
    );
    await expectLedgerInvariant(runtime, workspaceId);
  });

  it("charges once when the same key arrives many times at once", async () => {
    const { key, workspaceId } = await workspaceWithKey();
    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        call({ key, idempotencyKey: "burst", body: { feature: "summarize", inputBytes: 0 } }),
      ),
    );

    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(responses.map((r) => r.body.usageId)).size).toBe(1);
    expect(responses.filter((r) => !r.body.replayed)).toHaveLength(1);
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(1_249);
    await expectLedgerInvariant(runtime, workspaceId);
  });

  it("lets exactly 20 of 50 parallel 1-credit calls through a balance of 20", async () => {
    const { key, workspaceId } = await workspaceWithKey();
    await consume(runtime, workspaceId, 1_230);
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(20);

    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        call({
          key,
          idempotencyKey: `parallel-${i}`,
          body: { feature: "summarize", inputBytes: 0 },
        }),
      ),
    );
    const ok = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status === 402);

    expect(ok).toHaveLength(20);
    expect(refused).toHaveLength(30);
    for (const response of refused) {
      expect(response.body).toMatchObject({
        allowed: false,
        required: 1,
        error: { code: "insufficient_credits" },
      });
    }
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(0);
    expect(new Set(ok.map((r) => r.body.balance)).size).toBe(20);
    await expectLedgerInvariant(runtime, workspaceId);

    await drain(runtime);
    await expectLedgerInvariant(runtime, workspaceId);
  });

  it("answers 402 with allowed false and the balance when credits run out", async () => {
    const { key } = await workspaceWithKey();
    const response = await call({
      key,
      idempotencyKey: "big",
      body: { feature: "summarize", inputBytes: bytesCosting(5_000) },
    });

    expect(response.status).toBe(402);
    expect(response.body).toMatchObject({
      allowed: false,
      balance: 1_250,
      required: 5_000,
      error: { code: "insufficient_credits", message: expect.stringContaining("5,000") },
    });
  });

  it.each([
    [{ key: null, idempotencyKey: "k", body: {} }, 401, "unauthenticated"],
    [{ key: "tally_sk_nope", idempotencyKey: "k", body: {} }, 401, "unauthenticated"],
  ])("refuses missing or unknown keys (%#)", async (request, status, code) => {
    const response = await call(request);
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
  });

  it("refuses a revoked key", async () => {
    const { key, workspaceId, userId } = await workspaceWithKey();
    const { listApiKeys } = await import("@/server/workspaces/api-keys");
    const [row] = await listApiKeys(runtime.db, workspaceId);
    await execute(
      runtime,
      revokeApiKey,
      { workspaceId, apiKeyId: row!.id },
      { actor: { type: "user", userId } },
    );
    const response = await call({
      key,
      idempotencyKey: "k",
      body: { feature: "summarize", inputBytes: 1 },
    });
    expect(response.status).toBe(401);
  });

  it.each([
    [
      "no Idempotency-Key",
      { idempotencyKey: null, body: { feature: "summarize", inputBytes: 1 } },
      "Idempotency-Key",
    ],
    ["a non-JSON body", { idempotencyKey: "k", body: "feature=summarize" }, undefined],
    ["an array body", { idempotencyKey: "k", body: [] }, undefined],
    ["no feature", { idempotencyKey: "k", body: { inputBytes: 1 } }, "feature"],
    [
      "a string size",
      { idempotencyKey: "k", body: { feature: "summarize", inputBytes: "12" } },
      "inputBytes",
    ],
    [
      "a fractional size",
      { idempotencyKey: "k", body: { feature: "summarize", inputBytes: 1.5 } },
      "inputBytes",
    ],
    [
      "a negative size",
      { idempotencyKey: "k", body: { feature: "summarize", inputBytes: -1 } },
      "inputBytes",
    ],
    [
      "an unknown feature",
      { idempotencyKey: "k", body: { feature: "teleport", inputBytes: 1 } },
      "feature",
    ],
    [
      "a NUL in the feature",
      { idempotencyKey: "k", body: { feature: "sum\u0000", inputBytes: 1 } },
      "feature",
    ],
    ["an empty feature", { idempotencyKey: "k", body: { feature: "", inputBytes: 1 } }, "feature"],
    [
      "a key over 255 characters",
      { idempotencyKey: "k".repeat(256), body: { feature: "summarize", inputBytes: 1 } },
      "Idempotency-Key",
    ],
    [
      "an infinite size",
      { idempotencyKey: "k", body: '{"feature":"summarize","inputBytes":1e400}' },
      "inputBytes",
    ],
  ])("answers 400 invalid_request for %s", async (_, request, field) => {
    const { key, workspaceId } = await workspaceWithKey();
    const response = await call({ key, ...request });

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("invalid_request");
    expect(response.body.error.message).toEqual(expect.any(String));
    if (field) expect(response.body.error.field).toBe(field);
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(1_250);
  });

  it("refuses bodies over 64 KiB with 413", async () => {
    const { key } = await workspaceWithKey();
    const response = await call({
      key,
      idempotencyKey: "k",
      body: { feature: "summarize", inputBytes: 1, pad: "x".repeat(70_000) },
    });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe("payload_too_large");
  });
});

describe("a workspace that is not active", () => {
  it("gets 403 for every call, replays included, and nothing changes", async () => {
    const { key, workspaceId } = await workspaceWithKey();
    const body = { feature: "summarize", inputBytes: 10 };
    const first = await call({ key, idempotencyKey: "before", body });
    expect(first.status).toBe(200);
    await runtime.db
      .update(workspaces)
      .set({ status: "suspended" })
      .where(eq(workspaces.id, workspaceId));

    for (const request of [
      { key, idempotencyKey: "before", body },
      { key, idempotencyKey: "after", body },
      { key, method: "GET", path: "/api/v1/balance" },
    ]) {
      const response = await call(request);
      expect(response.status).toBe(403);
      expect(response.body.error).toMatchObject({
        code: "workspace_suspended",
        message: expect.stringContaining("suspended"),
      });
    }
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(first.body.balance);
  });
});

describe("the rest of /api/v1", () => {
  it("returns the balance for the key's workspace", async () => {
    const { key } = await workspaceWithKey();
    const response = await call({ key, method: "GET", path: "/api/v1/balance" });
    expect(response).toMatchObject({
      status: 200,
      body: { balance: 1_250, lowBalanceThreshold: 100, belowThreshold: false },
    });
  });

  it("answers 404 and 405 with codes", async () => {
    const { key } = await workspaceWithKey();
    expect((await call({ key, method: "GET", path: "/api/v1/nothing" })).body.error.code).toBe(
      "not_found",
    );
    const wrongMethod = await call({ key, method: "GET", path: "/api/v1/usage" });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.body.error.code).toBe("method_not_allowed");
  });
});
