import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

import { eq, inArray } from "drizzle-orm";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { stripeEvents } from "@/drizzle/schema";
import type { Runtime } from "@/server/runtime";
import { countRows, drain, testRuntime, TEST_WEBHOOK_SECRET } from "@/test/support/runtime";

import { SIGNATURE_TOLERANCE_SECONDS } from "./webhook";
import { handleStripeWebhook } from "./webhook-route";

const fixtureDir = path.resolve("test/fixtures/stripe");
const fixtures = [
  ...readdirSync(fixtureDir).filter((f) => f.endsWith(".json")),
  ...readdirSync(path.join(fixtureDir, "current-api"))
    .filter((f) => f.endsWith(".json"))
    .map((f) => path.join("current-api", f)),
].map((file) => ({ file, body: readFileSync(path.join(fixtureDir, file), "utf8") }));

let runtime: Runtime;
beforeAll(async () => {
  runtime = await testRuntime();
});
afterAll(async () => {
  await runtime.stop();
});

function sign(body: string, secret = TEST_WEBHOOK_SECRET, timestamp?: number): string {
  return Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp });
}

async function post(body: string, signature: string | null) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (signature !== null) headers["stripe-signature"] = signature;
  const response = await handleStripeWebhook(
    runtime,
    new Request("http://localhost/api/stripe/webhook", { method: "POST", headers, body }),
  );

  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

describe("POST /api/stripe/webhook", () => {
  it("has every fixture to replay", () => {
    expect(fixtures).toHaveLength(24);
  });

  it.each(fixtures)("stores $file once when it is delivered twice", async ({ body }) => {
    const id = (JSON.parse(body) as { id: string }).id;
    const first = await post(body, sign(body));
    const second = await post(body, sign(body));

    expect(first).toEqual({ status: 200, body: { received: true, duplicate: false, id } });
    expect(second).toEqual({ status: 200, body: { received: true, duplicate: true, id } });
    expect(await countRows(runtime, "stripe_events", `id = '${id}'`)).toBe(1);
    expect(await countRows(runtime, "outbox", `data->>'stripeEventId' = '${id}'`)).toBe(1);
  });

  it("processes every stored event through the backbone, unknown types included", async () => {
    await drain(runtime);
    const ids = fixtures.map(({ body }) => (JSON.parse(body) as { id: string }).id);
    const rows = await runtime.db.select().from(stripeEvents).where(inArray(stripeEvents.id, ids));

    expect(rows).toHaveLength(24);
    expect(rows.every((row) => row.processedAt !== null)).toBe(true);
  });

  it("stores the raw event exactly as Stripe sent it", async () => {
    const { body } = fixtures.find((f) => f.file === "checkout.session.completed.json")!;
    const [row] = await runtime.db
      .select()
      .from(stripeEvents)
      .where(eq(stripeEvents.id, JSON.parse(body).id));
    expect(row?.payload).toEqual(JSON.parse(body));
    expect(row).toMatchObject({
      type: "checkout.session.completed",
      apiVersion: "2020-08-27",
      livemode: false,
    });
  });

  it.each([
    ["no signature header", null, /Missing Stripe-Signature/],
    ["a signature from another secret", "other", /signature verification failed/i],
    ["a signature over another body", "tampered", /signature verification failed/i],
    ["a stale signature", "stale", /signature verification failed/i],
    ["a signature from the future", "future", /seconds in the future; at most 300 are allowed/],
  ])("answers 400 with a clear message for %s", async (_, kind, message) => {
    const body = JSON.stringify({
      id: `evt_bad_${kind}`,
      object: "event",
      type: "charge.refunded",
      livemode: false,
    });
    const signature =
      kind === null
        ? null
        : kind === "other"
          ? sign(body, "whsec_not_ours")
          : kind === "tampered"
            ? sign(body.replace("charge", "payout"))
            : kind === "future"
              ? sign(body, TEST_WEBHOOK_SECRET, Math.floor(Date.now() / 1000) + 600)
              : sign(body, TEST_WEBHOOK_SECRET, Math.floor(Date.now() / 1000) - 3600);
    const response = await post(body, signature);

    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({
      code: "invalid_request",
      message: expect.stringMatching(message),
    });
    expect(await countRows(runtime, "stripe_events", `id = 'evt_bad_${kind}'`)).toBe(0);
  });

  it("takes a signature a little ahead of our clock, within the allowed skew", async () => {
    const body = JSON.stringify({
      id: "evt_slightly_ahead",
      object: "event",
      type: "charge.refunded",
      livemode: false,
    });
    const ahead = Math.floor(Date.now() / 1000) + SIGNATURE_TOLERANCE_SECONDS - 60;
    const response = await post(body, sign(body, TEST_WEBHOOK_SECRET, ahead));

    expect(response.status).toBe(200);
  });

  it("refuses a body over 1 MiB with 413 before reading it all", async () => {
    const body = JSON.stringify({ id: "evt_huge", pad: "x".repeat(1_100_000) });
    const response = await post(body, sign(body));
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe("payload_too_large");
  });

  it("answers 400 for a signed body that is not an event", async () => {
    const body = JSON.stringify({ hello: "world" });
    const response = await post(body, sign(body));
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("invalid_request");
  });
});

describe("hostile but correctly signed bodies", () => {
  it.each([
    ["not JSON", "this is not json", /not valid JSON/],
    [
      "a NUL character",
      JSON.stringify({ id: "evt_nul", type: "x", livemode: false, note: "a\u0000b" }),
      /NUL/,
    ],
    [
      "an unpaired surrogate",
      '{"id":"evt_sur","type":"x","livemode":false,"note":"\\ud800"}',
      /unpaired/,
    ],
    [
      "deep nesting",
      `{"id":"evt_deep","type":"x","livemode":false,"d":${"[".repeat(5000)}${"]".repeat(5000)}}`,
      /nested/,
    ],
  ])("answers 400, not 500, for %s", async (_, body, message) => {
    const response = await post(body, sign(body));
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({
      code: "invalid_request",
      message: expect.stringMatching(message),
    });
  });
});
