import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import {
  notificationDeliveries,
  notifications,
  webhookAttempts,
  webhookEndpoints,
} from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import type { Runtime } from "@/server/runtime";
import { consume, grant } from "@/test/support/credits";
import {
  callerFor,
  drain,
  sweepRetries,
  makeUser,
  makeWorkspace,
  testRuntime,
} from "@/test/support/runtime";
import { startWebhookReceiver, type WebhookReceiver } from "@/test/support/webhook-receiver";

import { sendNotification } from "./commands";
import { DISABLE_ENDPOINT_AFTER, retrySchedule } from "./retry";
import { isInternalAddress, postWebhook } from "./webhooks/sender";
import { freeWithEveryFeature } from "@/test/support/tiers";

const clock = new ManualClock("2027-06-07T08:00:00Z");
let runtime: Runtime;
/** A tier on Free's terms with every feature; see test/support/tiers.ts. */
let everyFeature: string;
let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
  runtime = await testRuntime({ clock });
  everyFeature = (await freeWithEveryFeature(runtime)).code;
});
afterAll(async () => {
  await runtime.stop();
  await receiver.close();
});
beforeEach(() => {
  receiver.status = 200;
  receiver.received.length = 0;
});

/** A workspace with an endpoint on the receiver; the receiver learns its secret. */
async function workspaceWithEndpoint(eventTypes: string[] = ["*"]) {
  // Webhooks are a tier feature that Free lacks.
  const workspace = await makeWorkspace(runtime, { tierCode: everyFeature });
  const caller = await callerFor(runtime, workspace.userId);
  const { endpointId } = await caller.webhooks.create({
    workspaceId: workspace.workspaceId,
    url: receiver.url,
    description: "test receiver",
    eventTypes,
  });
  receiver.secret = (
    await caller.webhooks.secret({ workspaceId: workspace.workspaceId, endpointId })
  ).secret;

  return { ...workspace, caller, endpointId };
}

async function sendExpiring(workspaceId: string, redemptionId: string, key: string) {
  clock.advance(1_000);
  await execute(
    runtime,
    sendNotification,
    {
      type: "promotions.expiring",
      workspaceId,
      data: {
        workspaceName: "W",
        workspaceSlug: "w",
        code: "SPRING",
        expiresAt: "2027-07-01T00:00:00.000Z",
        redemptionId,
      },
      dedupeKey: key,
    },
    { actor: { type: "system", reason: "test" } },
  );
  await drain(runtime);
}

describe("outgoing webhooks", () => {
  it("deliver signed events that a receiver can order per object", async () => {
    const { workspaceId } = await workspaceWithEndpoint(["credits.low_balance"]);
    await consume(runtime, workspaceId, 1_200); // 50 left: below the 100 threshold
    await drain(runtime);
    await grant(runtime, workspaceId, 500, "top-up");
    await consume(runtime, workspaceId, 500); // crosses again
    await drain(runtime);

    expect(receiver.received.map((r) => [r.payload.type, r.signatureValid, r.outcome])).toEqual([
      ["credits.low_balance", true, "processed"],
      ["credits.low_balance", true, "processed"],
    ]);
    const [first, second] = receiver.received.map((r) => r.payload);
    expect(first).toMatchObject({
      object: { type: "credit_balance", id: workspaceId },
      previous_sequence: null,
      data: { balance: 50, threshold: 100 },
    });
    expect(second!.sequence).toBeGreaterThan(first!.sequence!);
    expect(second!.previous_sequence).toBe(first!.sequence);
    expect(receiver.received[0]!.headers).toMatchObject({
      "content-type": "application/json",
      "tally-webhook-id": first!.id,
      "tally-delivery-attempt": "1",
      "tally-signature": expect.stringMatching(/^t=\d+,v1=[0-9a-f]{64}$/),
    });
  });

  it("lets a receiver drop a stale retry that arrives after a newer event", async () => {
    const { workspaceId, caller, endpointId } = await workspaceWithEndpoint();
    receiver.status = 500;
    await sendExpiring(workspaceId, "redemption-1", "exp-a");
    receiver.status = 200;
    await sendExpiring(workspaceId, "redemption-1", "exp-b");

    const log = await caller.webhooks.deliveries({ workspaceId, endpointId });
    const failed = log.find(
      (delivery) => delivery.status === "pending" && delivery.lastError === "HTTP 500",
    );
    expect(failed?.attempts[0]).toMatchObject({ responseStatus: 500, responseBody: "status 500" });
    expect(
      await caller.notifications.retryDelivery({ workspaceId, deliveryId: failed!.id }),
    ).toEqual({
      outcome: "delivered",
    });

    const [, newer, retried] = receiver.received;
    expect(newer!.payload.previous_sequence).toBe(receiver.received[0]!.payload.sequence);
    expect(retried).toMatchObject({
      outcome: "stale",
      payload: { sequence: receiver.received[0]!.payload.sequence },
    });
    expect(retried!.headers["tally-delivery-attempt"]).toBe("2");
  });

  it("send test events to one endpoint, whatever it subscribes to", async () => {
    const { workspaceId, caller, endpointId } = await workspaceWithEndpoint([
      "billing.invoice_issued",
    ]);
    await caller.webhooks.sendTest({ workspaceId, endpointId });
    await drain(runtime);

    expect(receiver.received.map((r) => r.payload)).toMatchObject([
      {
        type: "webhooks.test",
        object: { type: "webhook_endpoint", id: endpointId },
        data: { endpointId },
      },
    ]);
    const [delivery] = await caller.webhooks.deliveries({ workspaceId, endpointId });
    expect(delivery).toMatchObject({ status: "delivered", attempts: [{ responseStatus: 200 }] });
  });

  it("retry a failing endpoint on the webhook schedule", async () => {
    const { workspaceId, endpointId } = await workspaceWithEndpoint();
    receiver.status = 503;
    await sendExpiring(workspaceId, "redemption-2", "exp-retry");
    const [delivery] = await runtime.db
      .select()
      .from(notificationDeliveries)
      .where(eq(notificationDeliveries.endpointId, endpointId));
    for (const delay of retrySchedule.webhook.slice(0, 3)) {
      clock.advance(delay);
      await sweepRetries(runtime);
      await drain(runtime);
    }

    const attempts = await runtime.db
      .select()
      .from(webhookAttempts)
      .where(eq(webhookAttempts.deliveryId, delivery!.id));
    expect(attempts.map((attempt) => [attempt.attempt, attempt.responseStatus])).toEqual([
      [1, 503],
      [2, 503],
      [3, 503],
      [4, 503],
    ]);
  });

  it("disable an endpoint after too many failures in a row and tell its admins", async () => {
    const { workspaceId, userId, caller, endpointId } = await workspaceWithEndpoint();
    receiver.status = 500;
    for (let i = 0; i < DISABLE_ENDPOINT_AFTER; i++)
      await sendExpiring(workspaceId, `r-${i}`, `exp-disable-${i}`);

    const [endpoint] = await runtime.db
      .select()
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.id, endpointId));
    expect(endpoint).toMatchObject({
      status: "disabled",
      consecutiveFailures: DISABLE_ENDPOINT_AFTER,
    });
    expect(endpoint!.disabledReason).toContain("HTTP 500");
    const pending = await runtime.db
      .select()
      .from(notificationDeliveries)
      .where(
        and(
          eq(notificationDeliveries.endpointId, endpointId),
          eq(notificationDeliveries.status, "pending"),
        ),
      );
    expect(pending).toEqual([]);

    const { items } = await caller.notifications.list();
    expect(items.find((item) => item.type === "webhooks.endpoint_disabled")?.body).toContain(
      receiver.url,
    );
    const [notice] = await runtime.db
      .select()
      .from(notifications)
      .where(
        and(
          eq(notifications.type, "webhooks.endpoint_disabled"),
          eq(notifications.workspaceId, workspaceId),
        ),
      );
    const emails = await runtime.db
      .select()
      .from(notificationDeliveries)
      .where(
        and(
          eq(notificationDeliveries.notificationId, notice!.id),
          eq(notificationDeliveries.channel, "email"),
        ),
      );
    expect(emails.map((email) => [email.userId, email.status])).toEqual([[userId, "delivered"]]);

    // Nothing more is sent until an admin turns it back on.
    receiver.received.length = 0;
    await sendExpiring(workspaceId, "r-after", "exp-after-disable");
    expect(receiver.received).toEqual([]);
    await caller.webhooks.setEnabled({ workspaceId, endpointId, enabled: true });
    receiver.status = 200;
    await sendExpiring(workspaceId, "r-again", "exp-after-enable");
    expect(receiver.received).toHaveLength(1);
  });
});

describe("receivers that misbehave", () => {
  async function server(handler: Parameters<typeof createServer>[1]) {
    const instance = createServer(handler);
    await new Promise<void>((resolve) => instance.listen(0, "127.0.0.1", resolve));

    return {
      url: `http://127.0.0.1:${(instance.address() as AddressInfo).port}/`,
      close: () => new Promise<void>((resolve) => instance.close(() => resolve())),
    };
  }

  const post = (url: string, timeoutMs = 1_000) =>
    postWebhook({ url, headers: {}, body: "{}", timeoutMs, allowPrivateAddresses: true });

  it("cannot poison a delivery with a NUL in the reply", async () => {
    const nul = await server((_, response) => response.end("ok\u0000done"));
    try {
      const { workspaceId, caller } = await workspaceWithEndpoint();
      const { endpointId } = await caller.webhooks.create({
        workspaceId,
        url: nul.url,
        eventTypes: ["*"],
      });
      await caller.webhooks.sendTest({ workspaceId, endpointId });
      await drain(runtime);

      const [delivery] = await caller.webhooks.deliveries({ workspaceId, endpointId });
      expect(delivery).toMatchObject({
        status: "delivered",
        attempts: [{ responseBody: "ok\uFFFDdone" }],
      });
    } finally {
      await nul.close();
    }
  });

  it("stop a receiver that drips its reply at the total timeout", async () => {
    const drip = await server((_, response) => {
      response.writeHead(200);
      const timer = setInterval(() => response.write("."), 100);
      response.on("close", () => clearInterval(timer));
    });
    try {
      const result = await post(drip.url, 600);
      expect(result.error).toMatch(/No complete response within 600 ms/);
      expect(result.durationMs).toBeLessThan(2_000);
    } finally {
      await drip.close();
    }
  });

  it("read at most 4 KiB of a reply and no more", async () => {
    let written = 0;
    const firehose = await server((_, response) => {
      response.writeHead(200);
      const chunk = "x".repeat(64 * 1024);
      const pump = () => {
        while (written < 50 * 1024 * 1024 && response.write(chunk)) written += chunk.length;
        if (written < 50 * 1024 * 1024) response.once("drain", pump);
        else response.end();
      };
      pump();
    });
    try {
      const result = await post(firehose.url);
      expect(result).toMatchObject({ status: 200, error: null });
      expect(result.body).toHaveLength(4096);
      expect(written).toBeLessThan(50 * 1024 * 1024);
    } finally {
      await firehose.close();
    }
  });
});

describe("webhook targets", () => {
  it("refuse internal addresses unless they are allowed", async () => {
    for (const address of [
      "::ffff:7f00:1",
      "::ffff:a9fe:a9fe",
      "::7f00:1",
      "64:ff9b::a00:1",
      "2002:7f00:1::",
      "0:0:0:0:0:ffff:127.0.0.1",
      "127.0.0.1",
      "10.1.2.3",
      "172.20.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "::1",
      "fd00::1",
      "::ffff:127.0.0.1",
    ]) {
      expect(isInternalAddress(address)).toBe(true);
    }
    for (const address of ["93.184.216.34", "2606:4700::1111", "172.32.0.1"]) {
      expect(isInternalAddress(address)).toBe(false);
    }

    const blocked = await postWebhook({
      url: receiver.url,
      headers: {},
      body: "{}",
      timeoutMs: 1_000,
      allowPrivateAddresses: false,
    });
    expect(blocked).toMatchObject({ status: null, error: "Refused internal address 127.0.0.1" });
    const viaName = await postWebhook({
      url: receiver.url.replace("127.0.0.1", "localhost"),
      headers: {},
      body: "{}",
      timeoutMs: 1_000,
      allowPrivateAddresses: false,
    });
    expect(viaName.error).toMatch(/Refused internal address/);
  });

  it("must be https to a public host in production, and carry no credentials", async () => {
    const production = await testRuntime({ env: { TALLY_WEBHOOK_TARGETS: "public" } });
    try {
      const { workspaceId, userId } = await makeWorkspace(production, {
        tierCode: (await freeWithEveryFeature(production)).code,
      });
      const caller = await callerFor(production, userId);
      for (const url of [
        "http://hooks.example.com/x",
        "https://localhost/x",
        "https://localhost./x",
        "https://user:pw@hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://2130706433/x",
        "https://0x7f000001/x",
        "https://[::1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://169.254.169.254/x",
        "https://10.0.0.1/x",
        "javascript:alert(1)",
        `https://hooks.example.com/${"x".repeat(2100)}`,
      ]) {
        // Refused by the URL schema (ZodError) or by the target policy (AppError): both on `url`.
        const refusal = await caller.webhooks.create({ workspaceId, url, eventTypes: ["*"] }).then(
          () => "created",
          (error: { code: string; cause?: { field?: string; issues?: { path: string[] }[] } }) =>
            `${error.code}:${error.cause?.field ?? error.cause?.issues?.[0]?.path.join(".")}`,
        );
        expect(refusal, url).toBe("BAD_REQUEST:url");
      }
      await expect(
        caller.webhooks.create({
          workspaceId,
          url: "https://hooks.example.com/x",
          eventTypes: ["no.such_type"],
        }),
      ).rejects.toMatchObject({ code: "BAD_REQUEST" });
      expect(
        await caller.webhooks.create({
          workspaceId,
          url: "https://hooks.example.com/x",
          eventTypes: ["*"],
        }),
      ).toMatchObject({ endpointId: expect.any(String) });
    } finally {
      await production.stop();
    }
  });

  it("stay within the per-workspace limit under concurrent creation", async () => {
    const { workspaceId, caller } = await workspaceWithEndpoint();
    const attempts = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        caller.webhooks.create({ workspaceId, url: `${receiver.url}?n=${i}`, eventTypes: ["*"] }),
      ),
    );
    expect(attempts.filter((attempt) => attempt.status === "fulfilled")).toHaveLength(15);
    expect(await caller.webhooks.endpoints({ workspaceId })).toHaveLength(16);
  });

  it("keep endpoints to workspace admins", async () => {
    const { workspaceId } = await workspaceWithEndpoint();
    const stranger = await callerFor(runtime, (await makeUser(runtime)).id);
    await expect(stranger.webhooks.endpoints({ workspaceId })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });
});
