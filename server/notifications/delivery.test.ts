import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import {
  emailMessages,
  notificationDeliveries,
  notifications,
  outbox,
  workspaceMembers,
} from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import type { Runtime } from "@/server/runtime";
import { consume } from "@/test/support/credits";
import {
  callerFor,
  drain,
  sweepRetries,
  makeUser,
  makeWorkspace,
  testRuntime,
} from "@/test/support/runtime";
import { startSmtpStandIn, type SmtpStandIn } from "@/test/support/smtp";

import { sendNotification } from "./commands";
import { retrySchedule } from "./retry";

const clock = new ManualClock("2027-05-03T10:00:00Z");
let smtp: SmtpStandIn;
let runtime: Runtime;
beforeAll(async () => {
  smtp = await startSmtpStandIn();
  runtime = await testRuntime({ clock, env: { SMTP_URL: smtp.url } });
});
afterAll(async () => {
  await runtime.stop();
  await smtp.close();
});
beforeEach(() => {
  smtp.refuse = false;
});

async function deliveriesOf(type: string, workspaceId: string) {
  return runtime.db
    .select({ delivery: notificationDeliveries })
    .from(notificationDeliveries)
    .innerJoin(notifications, eq(notifications.id, notificationDeliveries.notificationId))
    .where(and(eq(notifications.type, type), eq(notifications.workspaceId, workspaceId)))
    .then((rows) => rows.map((row) => row.delivery));
}

describe("email over SMTP", () => {
  it("sends the welcome email over SMTP with both parts, recorded as sent", async () => {
    const { workspaceId, userId } = await makeWorkspace(runtime);
    const [delivery] = (await deliveriesOf("account.welcome", workspaceId)).filter(
      (d) => d.channel === "email",
    );

    expect(delivery).toMatchObject({ status: "sent", attempts: 1, lastError: null });
    const me = await (await callerFor(runtime, userId)).auth.me();
    const message = smtp.messages.find((m) => m.to.includes(me!.email!));
    expect(message?.raw).toContain("Content-Type: text/plain");
    expect(message?.raw).toContain("Content-Type: text/html");
    expect(message?.raw).toContain(`Message-ID: <${delivery!.id}@tally>`);
    const [record] = await runtime.db
      .select()
      .from(emailMessages)
      .where(eq(emailMessages.deliveryId, delivery!.id));
    expect(record).toMatchObject({ transport: "smtp", status: "sent" });
  });

  it("retries a refused email on schedule, then fails it; an admin retries it", async () => {
    smtp.refuse = true;
    const before = smtp.messages.length;
    const { workspaceId } = await makeWorkspace(runtime);
    const [delivery] = (await deliveriesOf("account.welcome", workspaceId)).filter(
      (d) => d.channel === "email",
    );
    expect(delivery).toMatchObject({
      status: "pending",
      attempts: 1,
      lastError: expect.stringContaining("450"),
    });

    // Each failure schedules the next attempt; the sweep makes it when it is due.
    for (const [index, delay] of retrySchedule.email.entries()) {
      const [waiting] = await runtime.db
        .select()
        .from(notificationDeliveries)
        .where(eq(notificationDeliveries.id, delivery!.id));
      expect(waiting).toMatchObject({ status: "pending", attempts: index + 1 });
      expect(waiting!.nextAttemptAt!.getTime() - clock.now().getTime()).toBe(delay);
      expect(await sweepRetries(runtime)).toBe(0); // not due yet
      clock.advance(delay);
      expect(await sweepRetries(runtime)).toBe(1);
      await drain(runtime);
    }
    const [dead] = await runtime.db
      .select()
      .from(notificationDeliveries)
      .where(eq(notificationDeliveries.id, delivery!.id));
    expect(dead).toMatchObject({
      status: "failed",
      attempts: retrySchedule.email.length + 1,
      nextAttemptAt: null,
    });
    expect(smtp.messages.length).toBe(before);
    expect(
      await runtime.db
        .select()
        .from(emailMessages)
        .where(eq(emailMessages.deliveryId, delivery!.id)),
    ).toEqual([]);

    const failedEvents = await runtime.db
      .select()
      .from(outbox)
      .where(and(eq(outbox.name, "notifications/failed"), eq(outbox.workspaceId, workspaceId)))
      .orderBy(outbox.seq);
    expect(failedEvents.map((row) => (row.data as { attempt: number }).attempt)).toEqual([
      1, 2, 3, 4, 5,
    ]);

    // The admin's list of failed deliveries, and a retry once the server is back.
    smtp.refuse = false;
    const admin = await callerFor(runtime, (await makeUser(runtime, { isPlatformAdmin: true })).id);
    const failed = await admin.notifications.admin.history({
      status: "failed",
      type: "account.welcome",
    });
    expect(failed.items.map((item) => item.id)).toContain(delivery!.id);
    expect(await admin.notifications.admin.retryDelivery({ deliveryId: delivery!.id })).toEqual({
      outcome: "sent",
    });
    expect(smtp.messages.length).toBe(before + 1);
  });
});

describe("one notification per event", () => {
  it("notifies once when the same events are relayed and handled again", async () => {
    const { workspaceId } = await makeWorkspace(runtime);
    await consume(runtime, workspaceId, 1_200);
    await drain(runtime);
    await runtime.db
      .update(outbox)
      .set({ publishedAt: null })
      .where(eq(outbox.workspaceId, workspaceId));
    await drain(runtime);

    const lowBalance = await runtime.db
      .select()
      .from(notifications)
      .where(
        and(
          eq(notifications.type, "credits.low_balance"),
          eq(notifications.workspaceId, workspaceId),
        ),
      );
    expect(lowBalance).toHaveLength(1);
    const deliveries = await deliveriesOf("credits.low_balance", workspaceId);
    expect(deliveries.map((d) => d.channel).sort()).toEqual(["email", "in_app"]);
    expect(deliveries.every((d) => d.attempts === 1)).toBe(true);
  });

  it("keeps one-time links out of every view but the email", async () => {
    const url = "http://localhost:3000/api/auth/callback/email?token=live-secret-token";
    const { notificationId } = await execute(
      runtime,
      sendNotification,
      {
        type: "account.magic_link",
        workspaceId: null,
        data: { url, host: "localhost:3000" },
        to: "view@example.com",
      },
      { actor: { type: "system", reason: "test" } },
    );
    const admin = await callerFor(runtime, (await makeUser(runtime, { isPlatformAdmin: true })).id);
    const status = await admin.notifications.admin.status({ notificationId: notificationId! });

    expect(JSON.stringify(status)).not.toContain("live-secret-token");
    expect(status.data).toMatchObject({ url: "[redacted: one-time link]" });
  });

  it("refuses hand-made sends with bad input as 4xx, not 500", async () => {
    const admin = await callerFor(runtime, (await makeUser(runtime, { isPlatformAdmin: true })).id);
    const send = (input: Parameters<typeof admin.notifications.admin.send>[0]) =>
      admin.notifications.admin.send(input).then(
        () => "sent",
        (error: { code: string; cause?: { field?: string } }) =>
          `${error.code}:${error.cause?.field}`,
      );
    const { workspaceId } = await makeWorkspace(runtime);
    const expiring = {
      workspaceName: "W",
      workspaceSlug: "w",
      code: "X",
      expiresAt: "2027-07-01T00:00:00.000Z",
      redemptionId: "r",
    };

    expect(await send({ type: "account.welcome", workspaceId, data: {} })).toMatch(/^BAD_REQUEST/);
    expect(
      await send({ type: "promotions.expiring", workspaceId: crypto.randomUUID(), data: expiring }),
    ).toBe("NOT_FOUND:workspaceId");
    expect(
      await send({
        type: "promotions.expiring",
        workspaceId,
        data: expiring,
        endpointId: crypto.randomUUID(),
      }),
    ).toBe("NOT_FOUND:endpointId");
    expect(
      await send({
        type: "credits.purchase_receipt",
        workspaceId,
        data: {
          workspaceName: "W",
          workspaceSlug: "w",
          credits: 1,
          amountMinor: 1,
          currency: "NOTACURRENCY",
          paymentId: "p",
          grantId: "g",
        },
      }),
    ).toMatch(/^BAD_REQUEST/);
    expect(await send({ type: "promotions.expiring", workspaceId, data: expiring })).toBe("sent");
  });

  it("sends a request-made notification once per dedupe key", async () => {
    const input = {
      type: "account.magic_link",
      workspaceId: null,
      data: {
        url: "http://localhost:3000/api/auth/callback/email?token=x",
        host: "localhost:3000",
      },
      to: "once@example.com",
      dedupeKey: "magic:once",
    };
    const first = await execute(runtime, sendNotification, input, {
      actor: { type: "system", reason: "test" },
    });
    const second = await execute(runtime, sendNotification, input, {
      actor: { type: "system", reason: "test" },
    });
    await drain(runtime);

    expect(first.notificationId).toBeTruthy();
    expect(second.notificationId).toBeNull();
    expect(smtp.messages.filter((m) => m.to.includes("once@example.com"))).toHaveLength(1);
  });
});

describe("history", () => {
  it("pages through deliveries that share a creation time without dropping any", async () => {
    const { workspaceId, userId } = await makeWorkspace(runtime);
    const admin = await makeUser(runtime);
    await runtime.db
      .insert(workspaceMembers)
      .values({ workspaceId, userId: admin.id, role: "admin" });
    await consume(runtime, workspaceId, 1_200); // low balance: in-app and email to two people
    await drain(runtime);
    const caller = await callerFor(runtime, userId);

    const all = await caller.notifications.history({
      workspaceId,
      type: "credits.low_balance",
      limit: 50,
    });
    expect(all.items).toHaveLength(4);
    const seen: string[] = [];
    let cursor: { createdAt: Date; id: string } | undefined;
    do {
      const page = await caller.notifications.history({
        workspaceId,
        type: "credits.low_balance",
        limit: 3,
        cursor,
      });
      seen.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual(all.items.map((item) => item.id).sort());
  });
});

describe("preferences", () => {
  it("let a user turn off a non-critical type per channel, but never a billing one", async () => {
    const { workspaceId, userId } = await makeWorkspace(runtime);
    const caller = await callerFor(runtime, userId);

    await caller.notifications.setPreference({
      type: "credits.expired",
      channel: "email",
      enabled: false,
    });
    await expect(
      caller.notifications.setPreference({
        type: "credits.low_balance",
        channel: "email",
        enabled: false,
      }),
    ).rejects.toMatchObject({ cause: { code: "invalid_request", field: "enabled" } });
    const preferences = await caller.notifications.preferences();
    expect(preferences.find((p) => p.type === "credits.expired")?.channels).toEqual([
      { channel: "email", enabled: false },
      { channel: "in_app", enabled: true },
    ]);
    expect(preferences.find((p) => p.type === "credits.low_balance")).toMatchObject({
      mandatory: true,
    });
    // Nothing a customer cannot receive: admin alerts and webhook-only types are left out.
    expect(preferences.map((p) => p.type)).not.toContain("operations.performance_alert");
    expect(preferences.map((p) => p.type)).not.toContain("webhooks.test");

    // credits.expired comes from its event; it cannot be sent by hand.
    await expect(
      execute(
        runtime,
        sendNotification,
        {
          type: "credits.expired",
          workspaceId,
          data: { workspaceName: "W", workspaceSlug: "w", credits: 5, balanceAfter: 10 },
          dedupeKey: `expired:${workspaceId}`,
        },
        { actor: { type: "system", reason: "test" } },
      ),
    ).rejects.toMatchObject({ code: "invalid_request", field: "type" });
  });
});
