import net from "node:net";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { balanceSummary } from "@/server/credits/queries";
import type { Runtime } from "@/server/runtime";
import { apiKeyFor } from "@/test/support/credits";
import { expectLedgerInvariant, makeWorkspace, testRuntime } from "@/test/support/runtime";

import { meteringApiFor } from "./metering";
import { usageResult } from "./schemas";
import { isApiPath, listen, type RunningServer } from "./server";
import { freeWithEveryFeature } from "@/test/support/tiers";

/** The lean node:http server, over real sockets on 127.0.0.1. */
let runtime: Runtime;
let server: RunningServer;
let key: string;
let workspaceId: string;
const fallbackHits: string[] = [];

beforeAll(async () => {
  runtime = await testRuntime({ pool: 12 });
  server = await listen(await meteringApiFor(runtime), {
    port: 0,
    hostname: "127.0.0.1",
    fallback: (req, res) => {
      fallbackHits.push(req.url ?? "");
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("the portal");
    },
  });
  // Holds are a tier feature that Free lacks.
  const workspace = await makeWorkspace(runtime, {
    tierCode: (await freeWithEveryFeature(runtime)).code,
  });
  workspaceId = workspace.workspaceId;
  key = await apiKeyFor(runtime, workspace.workspaceId, workspace.userId);
});
afterAll(async () => {
  await server.close();
  await runtime.stop();
});

function post(path: string, body: string, headers: Record<string, string> = {}) {
  return fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
    body,
  });
}

/** Sends raw bytes and reads the raw answer, for what fetch will not send. */
function raw(request: string): Promise<string> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port: Number(port) });
    let answer = "";
    socket.on("data", (chunk) => (answer += chunk.toString("utf8")));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
    socket.write(request);
  });
}

describe("the lean HTTP server", () => {
  it("consumes credits over HTTP with keep-alive, and sends a complete JSON answer", async () => {
    const response = await post(
      "/api/v1/usage?trace=1",
      '{"feature":"summarize","inputBytes":2048}',
      {
        "idempotency-key": "http-1",
        "x-request-id": "my-request-1",
      },
    );

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(response.headers.get("x-request-id")).toBe("my-request-1");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(usageResult.parse(await response.json())).toMatchObject({ credits: 3, balance: 1_247 });

    const again = await post("/api/v1/usage", '{"feature":"summarize","inputBytes":2048}', {
      "idempotency-key": "http-1",
    });
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(1_247);
    await expectLedgerInvariant(runtime, workspaceId);
  });

  it.each([
    ["malformed JSON", '{"feature":', 400, "invalid_request"],
    ["a string size", '{"feature":"summarize","inputBytes":"9"}', 400, "invalid_request"],
    ["an empty body", "", 400, "invalid_request"],
  ])("answers %s with a JSON error", async (_, body, status, code) => {
    const response = await post("/api/v1/usage", body, { "idempotency-key": "bad" });
    expect(response.status).toBe(status);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
  });

  it("refuses an oversized body from its Content-Length, before reading it, and closes", async () => {
    const answer = await raw(
      [
        "POST /api/v1/usage HTTP/1.1",
        "Host: 127.0.0.1",
        `Authorization: Bearer ${key}`,
        "Idempotency-Key: huge",
        "Content-Type: application/json",
        "Content-Length: 10000000",
        "",
        '{"feature":"summarize"',
      ].join("\r\n"),
    );
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(answer).toContain('"code":"payload_too_large"');
  });

  it("refuses an oversized chunked body while reading it", async () => {
    const response = await fetch(`${server.url}/api/v1/usage`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "idempotency-key": "chunked" },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 80; i++)
            controller.enqueue(new TextEncoder().encode("x".repeat(1024)));
          controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      "payload_too_large",
    );
  });

  it("answers unknown API paths with 404 and wrong methods with 405, in JSON", async () => {
    const missing = await fetch(`${server.url}/api/v1/nothing/here`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: "not_found" } });
    const wrong = await fetch(`${server.url}/api/v1/usage`, { method: "PUT", body: "{}" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
  });

  it("hands everything outside /api/v1 to the fallback (Next, in serve.ts)", async () => {
    const page = await fetch(`${server.url}/w/demo`);
    expect(await page.text()).toBe("the portal");
    const lookalike = await fetch(`${server.url}/api/v10/usage`);
    expect(await lookalike.text()).toBe("the portal");
    expect(fallbackHits).toEqual(["/w/demo", "/api/v10/usage"]);
  });

  it("answers what Node's parser refuses in the API's error format", async () => {
    const malformed = await raw(
      "POST /api/v1/usage HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n" +
        "transfer-encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    expect(malformed).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(malformed.split("\r\n\r\n")[1]!)).toMatchObject({
      error: { code: "invalid_request" },
    });

    const huge = await raw(
      `GET /api/v1/balance HTTP/1.1\r\nhost: x\r\nx-filler: ${"a".repeat(20_000)}\r\n\r\n`,
    );
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
    expect(huge).toContain('"code":"headers_too_large"');
  });

  it("answers HEAD wherever GET works, without a body", async () => {
    const response = await fetch(`${server.url}/api/v1/balance`, {
      method: "HEAD",
      headers: { authorization: `Bearer ${key}` },
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("");
  });

  it("refuses an Idempotency-Key that is not printable ASCII", async () => {
    const response = await post("/api/v1/usage", '{"feature":"summarize","inputBytes":1}', {
      "idempotency-key": "cl\u00e9",
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: "invalid_request" } });
  });

  it("refuses a hold for a feature the tier does not price", async () => {
    const response = await post("/api/v1/holds", '{"credits":1,"feature":"nope"}', {
      "idempotency-key": "hold-unknown-feature",
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: "invalid_request" } });
  });

  it("recognises the API's paths only", () => {
    expect(["/api/v1", "/api/v1/usage", "/api/v1?x=1"].map(isApiPath)).toEqual([true, true, true]);
    expect(["/api/v10", "/api/v", "/", "/api/trpc/x", undefined].map(isApiPath)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});
