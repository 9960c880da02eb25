import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";

import { creditHolds, usageRecords, workspaces } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import { balanceSummary } from "@/server/credits/queries";
import type { Runtime } from "@/server/runtime";
import { createApiKey, listApiKeys, revokeApiKey } from "@/server/workspaces/api-keys";
import { bytesCosting, consume } from "@/test/support/credits";
import {
  callerFor,
  drain,
  expectLedgerInvariant,
  makeWorkspace,
  testRuntime,
} from "@/test/support/runtime";

import { handleMeteringRequest, MeteringApi } from "./metering";
import { RateLimiter } from "./rate-limit";
import {
  apiErrorBody,
  balanceResult,
  batchResult,
  creditsRefusal,
  holdResult,
  usageRefusal,
  usageResult,
} from "./schemas";
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
  path: string;
}

async function send(
  { key, idempotencyKey, body, method = "POST", path }: Call,
  handle: (request: Request) => Promise<Response> = (request) =>
    handleMeteringRequest(runtime, request),
) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (key) headers.authorization = `Bearer ${key}`;
  if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
  const response = await handle(
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

/** Fails unless the body is exactly what the OpenAPI document says this answer is. */
function conforms<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  return schema.parse(body);
}

async function keyed(scopes?: ("usage:write" | "balance:read")[]) {
  // Holds are a tier feature that Free lacks.
  const workspace = await makeWorkspace(runtime, { tierCode: everyFeature });
  const { key } = await execute(
    runtime,
    createApiKey,
    { workspaceId: workspace.workspaceId, name: "test", ...(scopes ? { scopes } : {}) },
    { actor: { type: "user", userId: workspace.userId } },
  );

  return { ...workspace, key };
}

const item = (idempotencyKey: string, credits = 1, feature = "summarize") => ({
  idempotencyKey,
  feature,
  inputBytes: bytesCosting(credits),
});

describe("POST /api/v1/usage/batch", () => {
  it("answers every item in order, reports duplicates, and charges each key once", async () => {
    const { key, workspaceId } = await keyed();
    const earlier = await send({
      key,
      idempotencyKey: "single",
      path: "/api/v1/usage",
      body: { feature: "summarize", inputBytes: 0 },
    });
    const response = await send({
      key,
      path: "/api/v1/usage/batch",
      body: {
        items: [
          item("b-1", 5),
          { idempotencyKey: "single", feature: "summarize", inputBytes: 0 },
          item("b-2", 7),
          item("b-1", 5),
          item("b-3", 2, "teleport"),
          item("b-2", 8),
          item("b-4", 5_000),
        ],
      },
    });

    expect(response.status).toBe(200);
    const body = conforms(batchResult, response.body);
    expect(body.results.map((r) => [r.index, r.idempotencyKey, r.status])).toEqual([
      [0, "b-1", "consumed"],
      [1, "single", "duplicate"],
      [2, "b-2", "consumed"],
      [3, "b-1", "duplicate"],
      [4, "b-3", "error"],
      [5, "b-2", "error"],
      [6, "b-4", "refused"],
    ]);
    expect(body.summary).toEqual({ consumed: 2, refused: 1, duplicate: 2, error: 2 });
    expect(body.results[1]).toMatchObject({ usageId: earlier.body.usageId, replayed: true });
    expect(body.results[3]).toMatchObject({ usageId: (body.results[0] as any).usageId });
    expect(body.results[4]).toMatchObject({
      error: {
        code: "invalid_request",
        field: "feature",
        message: expect.stringContaining("teleport"),
      },
    });
    expect(body.results[5]).toMatchObject({
      error: { code: "idempotency_conflict", field: "idempotencyKey" },
    });
    expect(body.results[6]).toMatchObject({ allowed: false, credits: 5_000, balance: 1_237 });
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(1_250 - 1 - 5 - 7);

    // A retried batch charges nothing more: every item is the earlier answer.
    const retry = await send({
      key,
      path: "/api/v1/usage/batch",
      body: { items: [item("b-1", 5), item("b-2", 7), item("b-4", 5_000)] },
    });
    expect(conforms(batchResult, retry.body).summary).toEqual({
      consumed: 0,
      refused: 0,
      duplicate: 3,
      error: 0,
    });
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(1_237);
    await expectLedgerInvariant(runtime, workspaceId);
  });

  it("refuses a malformed batch whole, listing the problems by item index", async () => {
    const { key, workspaceId } = await keyed();
    const response = await send({
      key,
      path: "/api/v1/usage/batch",
      body: {
        items: [
          item("ok-1"),
          { idempotencyKey: "no-feature", inputBytes: 1 },
          item("ok-2"),
          { idempotencyKey: "", feature: "summarize", inputBytes: "12" },
        ],
      },
    });

    expect(response.status).toBe(400);
    const { error } = conforms(apiErrorBody, response.body);
    expect(error.code).toBe("invalid_request");
    expect(error.message).toContain("2 of the batch's items are invalid");
    expect(error.details.items).toEqual([
      { index: 1, field: "feature", message: expect.stringContaining("feature is required") },
      { index: 3, field: "idempotencyKey", message: expect.any(String) },
      { index: 3, field: "inputBytes", message: "inputBytes must be a number, not a string" },
    ]);
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(1_250);
  });

  it.each([
    ["no items", { items: [] }, "Send at least one item"],
    ["no items field", {}, "expected array"],
    [
      "more than 1,000 items",
      { items: Array.from({ length: 1_001 }, (_, i) => item(`k${i}`)) },
      "at most 1000",
    ],
  ])("answers 400 for %s", async (_, body, message) => {
    const { key } = await keyed();
    const response = await send({ key, path: "/api/v1/usage/batch", body });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: "invalid_request", field: "items" });
    expect(response.body.error.message).toContain(message);
  });

  it("takes a thousand items, and refuses a body over 1 MiB with 413", async () => {
    const { key, workspaceId } = await keyed();
    const items = Array.from({ length: 1_000 }, (_, i) => item(`thousand-${i}`));
    const response = await send({ key, path: "/api/v1/usage/batch", body: { items } });
    expect(conforms(batchResult, response.body).summary.consumed).toBe(1_000);
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(250);
    await expectLedgerInvariant(runtime, workspaceId);
    // Two thousand events wait for their reactions; later tests drain a little at a time.
    await drain(runtime, 1_000);

    const huge = await send({
      key,
      path: "/api/v1/usage/batch",
      body: { items: [{ ...item("big"), pad: "x".repeat(1_100_000) }] },
    });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe("payload_too_large");
  });
});

describe("holds over HTTP", () => {
  it("places, replays, finalizes and then refuses to release a hold", async () => {
    const { key, workspaceId } = await keyed();
    const place = () =>
      send({
        key,
        idempotencyKey: "hold-1",
        path: "/api/v1/holds",
        body: { credits: 50, feature: "summarize", expiresInSeconds: 600 },
      });
    const placed = await place();
    expect(placed.status).toBe(200);
    const hold = conforms(holdResult, placed.body);
    expect(hold).toMatchObject({ status: "active", credits: 50, balance: 1_200, replayed: false });

    const again = await place();
    expect(conforms(holdResult, again.body)).toMatchObject({ holdId: hold.holdId, replayed: true });
    expect(again.headers.get("idempotent-replayed")).toBe("true");

    const balance = await send({ key, method: "GET", path: "/api/v1/balance" });
    expect(conforms(balanceResult, balance.body)).toMatchObject({ balance: 1_200, held: 50 });

    const finalized = await send({
      key,
      path: `/api/v1/holds/${hold.holdId}/finalize`,
      body: { credits: 42 },
    });
    expect(conforms(holdResult, finalized.body)).toMatchObject({
      status: "finalized",
      finalCredits: 42,
      balance: 1_208,
    });
    const refinalized = await send({
      key,
      path: `/api/v1/holds/${hold.holdId}/finalize`,
      body: { credits: 42 },
    });
    expect(refinalized.body).toMatchObject({ replayed: true, balance: 1_208 });

    const release = await send({ key, path: `/api/v1/holds/${hold.holdId}/release` });
    expect(release.status).toBe(409);
    expect(conforms(apiErrorBody, release.body).error).toMatchObject({
      code: "conflict",
      details: { status: "finalized" },
    });
    const [usage] = await runtime.db
      .select()
      .from(usageRecords)
      .where(eq(usageRecords.idempotencyKey, "hold-1"));
    expect(usage).toMatchObject({ credits: 42, featureCode: "summarize", outcome: "consumed" });
    await expectLedgerInvariant(runtime, workspaceId);
  });

  it("releases a hold, and answers 402, 404 and 400 with codes", async () => {
    const { key, workspaceId } = await keyed();
    const placed = await send({
      key,
      idempotencyKey: "to-release",
      path: "/api/v1/holds",
      body: { credits: 1_000 },
    });
    const { holdId } = conforms(holdResult, placed.body);
    const released = await send({ key, path: `/api/v1/holds/${holdId}/release` });
    expect(conforms(holdResult, released.body)).toMatchObject({
      status: "released",
      balance: 1_250,
    });
    expect((await send({ key, path: `/api/v1/holds/${holdId}/release` })).body).toMatchObject({
      status: "released",
      replayed: true,
    });

    const tooMuch = await send({
      key,
      idempotencyKey: "too-much",
      path: "/api/v1/holds",
      body: { credits: 5_000 },
    });
    expect(tooMuch.status).toBe(402);
    expect(conforms(creditsRefusal, tooMuch.body)).toMatchObject({
      allowed: false,
      balance: 1_250,
      required: 5_000,
      error: { code: "insufficient_credits", field: "credits" },
    });

    for (const path of [
      "/api/v1/holds/00000000-0000-4000-8000-000000000000/release",
      "/api/v1/holds/not-a-hold/finalize",
    ]) {
      const missing = await send({ key, path, body: { credits: 1 } });
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe("not_found");
    }
    const noKey = await send({ key, path: "/api/v1/holds", body: { credits: 5 } });
    expect(noKey.body.error).toMatchObject({ code: "invalid_request", field: "Idempotency-Key" });
    const badCredits = await send({
      key,
      idempotencyKey: "bad",
      path: "/api/v1/holds",
      body: { credits: 1.5 },
    });
    expect(badCredits.body.error).toMatchObject({ code: "invalid_request", field: "credits" });
    const holds = await runtime.db
      .select({ status: creditHolds.status })
      .from(creditHolds)
      .where(eq(creditHolds.workspaceId, workspaceId));
    // The refused and the malformed requests left no hold behind.
    expect(holds).toEqual([{ status: "released" }]);
    await expectLedgerInvariant(runtime, workspaceId);
  });

  it("keeps another workspace's holds out of reach", async () => {
    const owner = await keyed();
    const stranger = await keyed();
    const placed = await send({
      key: owner.key,
      idempotencyKey: "mine",
      path: "/api/v1/holds",
      body: { credits: 10 },
    });
    const { holdId } = conforms(holdResult, placed.body);
    const response = await send({ key: stranger.key, path: `/api/v1/holds/${holdId}/release` });
    expect(response.status).toBe(404);
    expect((await balanceSummary(runtime.db, owner.workspaceId)).balance).toBe(1_240);
  });
});

describe("scopes", () => {
  it("lets a key call only what its scopes allow", async () => {
    const readOnly = await keyed(["balance:read"]);
    const writeOnly = await keyed(["usage:write"]);

    const usage = await send({
      key: readOnly.key,
      idempotencyKey: "k",
      path: "/api/v1/usage",
      body: { feature: "summarize", inputBytes: 1 },
    });
    expect(usage.status).toBe(403);
    expect(conforms(apiErrorBody, usage.body).error).toMatchObject({
      code: "insufficient_scope",
      details: { required: "usage:write", granted: ["balance:read"] },
    });
    for (const path of ["/api/v1/usage/batch", "/api/v1/holds"]) {
      const refused = await send({ key: readOnly.key, idempotencyKey: "k", path, body: {} });
      expect(refused.body.error.code).toBe("insufficient_scope");
    }
    expect((await send({ key: readOnly.key, method: "GET", path: "/api/v1/balance" })).status).toBe(
      200,
    );

    const balance = await send({ key: writeOnly.key, method: "GET", path: "/api/v1/balance" });
    expect(balance.status).toBe(403);
    expect(balance.body.error).toMatchObject({
      code: "insufficient_scope",
      details: { required: "balance:read" },
    });
    const consumed = await send({
      key: writeOnly.key,
      idempotencyKey: "k",
      path: "/api/v1/usage",
      body: { feature: "summarize", inputBytes: 1 },
    });
    expect(consumed.status).toBe(200);
  });

  it("is chosen when the key is created in the portal, and shown in its list", async () => {
    const { workspaceId, userId } = await makeWorkspace(runtime);
    const caller = await callerFor(runtime, userId);
    const created = await caller.workspaces.createApiKey({
      workspaceId,
      name: "reporting",
      scopes: ["balance:read"],
    });
    expect(created.scopes).toEqual(["balance:read"]);
    const defaults = await caller.workspaces.createApiKey({ workspaceId, name: "backend" });
    expect(defaults.scopes).toEqual(["usage:write", "balance:read"]);
    await expect(
      caller.workspaces.createApiKey({ workspaceId, name: "nothing", scopes: [] }),
    ).rejects.toMatchObject({ message: "Choose at least one scope" });

    const keys = await caller.workspaces.apiKeys({ workspaceId });
    expect(Object.fromEntries(keys.map((k) => [k.name, k.scopes]))).toEqual({
      reporting: ["balance:read"],
      backend: ["usage:write", "balance:read"],
    });
    const usage = await send({
      key: created.key,
      idempotencyKey: "k",
      path: "/api/v1/usage",
      body: { feature: "summarize", inputBytes: 1 },
    });
    expect(usage.body.error.code).toBe("insufficient_scope");
  });
});

describe("access", () => {
  it("stops a key the moment it is revoked, though it was just used", async () => {
    const { key, workspaceId, userId } = await keyed();
    const call = () =>
      send({
        key,
        idempotencyKey: crypto.randomUUID(),
        path: "/api/v1/usage",
        body: { feature: "summarize", inputBytes: 1 },
      });
    expect((await call()).status).toBe(200);
    const [row] = await listApiKeys(runtime.db, workspaceId);
    await execute(
      runtime,
      revokeApiKey,
      { workspaceId, apiKeyId: row!.id },
      { actor: { type: "user", userId } },
    );

    const after = await call();
    expect(after.status).toBe(401);
    expect(after.body.error).toEqual({
      code: "unauthenticated",
      message: "This API key is not valid",
      details: {},
    });
  });

  it("refuses the balance at once when the workspace is suspended", async () => {
    const { key, workspaceId } = await keyed();
    expect((await send({ key, method: "GET", path: "/api/v1/balance" })).status).toBe(200);
    await runtime.db
      .update(workspaces)
      .set({ status: "suspended" })
      .where(eq(workspaces.id, workspaceId));
    const response = await send({ key, method: "GET", path: "/api/v1/balance" });
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe("workspace_suspended");
  });

  it("answers unknown paths with 404 and wrong methods with 405 and Allow, in JSON", async () => {
    const unknown = await send({ method: "GET", path: "/api/v1/usage/nothing" });
    expect(unknown.status).toBe(404);
    expect(conforms(apiErrorBody, unknown.body).error.code).toBe("not_found");
    const wrong = await send({ method: "DELETE", path: "/api/v1/balance" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, HEAD");
    expect(conforms(apiErrorBody, wrong.body).error.code).toBe("method_not_allowed");
  });

  it("serves the OpenAPI document without a key", async () => {
    const response = await send({ method: "GET", path: "/api/v1/openapi.json" });
    expect(response.status).toBe(200);
    expect(response.body.openapi).toBe("3.1.0");
  });
});

describe("rate limits", () => {
  it("answers 429 with Retry-After past a key's burst, per key, until tokens come back", async () => {
    const clock = new ManualClock();
    const api = new MeteringApi(runtime, {
      rateLimiter: new RateLimiter({ perSecond: 2, burst: 3 }, clock),
    });
    const handle = async (request: Request) => {
      const url = new URL(request.url);
      const text = await request.text();
      const response = await api.handle({
        method: request.method,
        path: url.pathname,
        header: (name) => request.headers.get(name) ?? undefined,
        text: async () => text,
      });

      return new Response(JSON.stringify(response.body), {
        status: response.status,
        headers: response.headers,
      });
    };
    const first = await keyed();
    const second = await keyed();
    const balance = (key: string) => send({ key, method: "GET", path: "/api/v1/balance" }, handle);
    const batch = (key: string) =>
      send({ key, path: "/api/v1/usage/batch", body: { items: [item("a"), item("b")] } }, handle);

    expect((await balance(first.key)).status).toBe(200);
    // A batch of two is one request.
    expect((await batch(first.key)).status).toBe(200);
    expect((await balance(first.key)).status).toBe(200);
    const limited = await balance(first.key);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("1");
    expect(conforms(apiErrorBody, limited.body).error).toMatchObject({
      code: "rate_limited",
      details: { retryAfterSeconds: 1 },
    });
    // Refused requests do nothing: the batch is not charged again when retried too early.
    expect((await batch(first.key)).status).toBe(429);
    expect((await balance(second.key)).status).toBe(200);

    clock.advance(500);
    expect((await balance(first.key)).status).toBe(200);
    expect((await balance(first.key)).status).toBe(429);
    clock.advance(10_000);
    for (let i = 0; i < 3; i++) expect((await balance(first.key)).status).toBe(200);
    expect((await balance(first.key)).status).toBe(429);
    expect((await balanceSummary(runtime.db, first.workspaceId)).balance).toBe(1_248);
    await api.stop();
  });
});

describe("what the API answers", () => {
  it("matches the documented schemas for success, refusal and errors", async () => {
    const { key, workspaceId } = await keyed();
    const ok = await send({
      key,
      idempotencyKey: "one",
      path: "/api/v1/usage",
      body: { feature: "translate", inputBytes: 1000 },
    });
    expect(conforms(usageResult, ok.body)).toMatchObject({ feature: "translate", units: 2 });
    await consume(runtime, workspaceId, 1_200);
    const refused = await send({
      key,
      idempotencyKey: "two",
      path: "/api/v1/usage",
      body: { feature: "summarize", inputBytes: bytesCosting(100) },
    });
    expect(refused.status).toBe(402);
    expect(conforms(usageRefusal, refused.body)).toMatchObject({ allowed: false, required: 100 });
    const bad = await send({ key, idempotencyKey: "three", path: "/api/v1/usage", body: "{" });
    expect(conforms(apiErrorBody, bad.body).error.code).toBe("invalid_request");
    await drain(runtime);
    await expectLedgerInvariant(runtime, workspaceId);
  });
});
