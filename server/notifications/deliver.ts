import { render } from "@react-email/render";
import { and, eq, notInArray, sql } from "drizzle-orm";

import {
  notificationDeliveries,
  notifications,
  webhookAttempts,
  webhookEndpoints,
  workspaces,
} from "@/drizzle/schema";
import { wallTimeOf, type Clock } from "@/server/clock";
import type { Db, Tx } from "@/server/db/client";
import { event, type EventDraft } from "@/server/events/catalogue";
import { writeEvents } from "@/server/events/outbox";
import type { Logger } from "@/server/logger";

import type { Mailer } from "./mailer";
import { createNotification } from "./notify";
import { DISABLE_ENDPOINT_AFTER } from "./retry";
import { notificationType } from "./types";
import { webhookPayload } from "./webhooks/payload";
import { storable } from "@/server/text";

import { postWebhook } from "./webhooks/sender";
import { SIGNATURE_HEADER, signatureHeader } from "./webhooks/signature";

export interface DeliveryDeps {
  db: Db;
  clock: Clock;
  mailer: Mailer;
  appUrl: string;
  logger: Logger;
  webhooks: { allowPrivateAddresses: boolean; timeoutMs: number };
  /** Tells the relay that new events were committed. */
  wake(): void;
}

export type AttemptOutcome = "delivered" | "sent" | "failed" | "skipped";

export interface AttemptResult {
  outcome: AttemptOutcome;
  /** notifications/sent, /delivered or /failed, and any notice the attempt caused. */
  events: EventDraft[];
}

/** Sends pending deliveries: the send reaction and manual retries use it. */
export interface Notifier {
  /**
   * One attempt. Given a transaction (the send reaction's), the attempt runs
   * in a savepoint of it and returns its events for the reaction to write
   * last, so the workspace's event stream is not locked while a receiver
   * answers. Without one, it commits on its own and writes them itself.
   */
  attempt(deliveryId: string, within?: Tx): Promise<AttemptResult>;
}

export function createNotifier(deps: DeliveryDeps): Notifier {
  return { attempt: (deliveryId, within) => attemptDelivery(deps, deliveryId, within) };
}

interface Loaded {
  delivery: typeof notificationDeliveries.$inferSelect;
  notification: typeof notifications.$inferSelect;
}

type ChannelResult =
  { ok: true; status: "sent" | "delivered" } | { ok: false; error: string; final?: boolean };

/**
 * One attempt at one delivery, in its own transaction. The row is claimed
 * with SKIP LOCKED, so the dispatch reaction, the sweep and an admin's retry
 * never send the same delivery at the same moment. A success or a failure
 * is recorded with its notifications/sent, /delivered or /failed event; the
 * notifications-schedule-retry reaction decides what a failure leads to.
 */
export async function attemptDelivery(
  deps: DeliveryDeps,
  deliveryId: string,
  within?: Tx,
): Promise<AttemptResult> {
  const transaction = <T>(work: (tx: Tx) => Promise<T>) =>
    within ? within.transaction(work) : deps.db.transaction(work);
  const result = await transaction(async (tx): Promise<AttemptResult> => {
    const [loaded] = await tx
      .select({ delivery: notificationDeliveries, notification: notifications })
      .from(notificationDeliveries)
      .innerJoin(notifications, eq(notifications.id, notificationDeliveries.notificationId))
      .where(
        and(
          eq(notificationDeliveries.id, deliveryId),
          eq(notificationDeliveries.status, "pending"),
        ),
      )
      .for("update", { of: notificationDeliveries, skipLocked: true });
    if (!loaded) return { outcome: "skipped", events: [] };

    const attempt = loaded.delivery.attempts + 1;
    const events: EventDraft[] = [];
    let result: ChannelResult;
    try {
      // A savepoint: a database error while recording the attempt cannot poison the transaction
      // that records the outcome.
      result = await tx.transaction((channelTx) =>
        loaded.delivery.channel === "email"
          ? sendEmail(channelTx, deps, loaded)
          : loaded.delivery.channel === "webhook"
            ? sendWebhook(channelTx, deps, loaded, attempt, events)
            : Promise.resolve<ChannelResult>({ ok: true, status: "delivered" }),
      );
    } catch (error) {
      result = {
        ok: false,
        error: storable(error instanceof Error ? error.message : String(error)),
      };
    }

    const now = deps.clock.now();
    const common = {
      workspaceId: loaded.notification.workspaceId,
      notificationId: loaded.notification.id,
      deliveryId,
      type: loaded.notification.type,
      channel: loaded.delivery.channel,
    };
    if (result.ok) {
      await tx
        .update(notificationDeliveries)
        .set({
          status: result.status,
          attempts: attempt,
          lastError: null,
          nextAttemptAt: null,
          sentAt: now,
          deliveredAt: result.status === "delivered" ? now : null,
          updatedAt: now,
        })
        .where(eq(notificationDeliveries.id, deliveryId));
      events.push(
        event(
          result.status === "delivered" ? "notifications/delivered" : "notifications/sent",
          common,
        ),
      );
    } else {
      await tx
        .update(notificationDeliveries)
        .set({
          status: result.final ? "failed" : "pending",
          attempts: attempt,
          lastError: result.error.slice(0, 2000),
          // The notifications-schedule-retry reaction sets the next attempt.
          nextAttemptAt: null,
          updatedAt: now,
        })
        .where(eq(notificationDeliveries.id, deliveryId));
      events.push(
        event("notifications/failed", { ...common, error: result.error.slice(0, 500), attempt }),
      );
      deps.logger.warn(
        { deliveryId, channel: common.channel, attempt, error: result.error },
        "delivery attempt failed",
      );
    }
    if (!within)
      await writeEvents(tx, events, deps.clock, { causationId: loaded.notification.eventId });

    return { outcome: result.ok ? result.status : "failed", events };
  });
  if (!within && result.events.length > 0) deps.wake();

  return within ? result : { ...result, events: [] };
}

async function sendEmail(
  tx: Tx,
  deps: DeliveryDeps,
  { delivery, notification }: Loaded,
): Promise<ChannelResult> {
  const definition = notificationType(notification.type);
  if (!definition)
    return { ok: false, error: `Unknown notification type ${notification.type}`, final: true };
  const content = definition.email(notification.data, { appUrl: deps.appUrl });
  const [html, text] = await Promise.all([
    render(content.element),
    render(content.element, { plainText: true }),
  ]);
  const attachments = definition.attachments
    ? await definition.attachments(notification.data, { db: tx })
    : [];

  // A savepoint: an SMTP failure takes the mailbox row back with it, so the retry starts clean.
  const result = await tx.transaction((savepoint) =>
    deps.mailer.send(savepoint, {
      type: notification.type,
      to: delivery.recipient,
      subject: content.subject,
      html,
      text,
      deliveryId: delivery.id,
      workspaceId: notification.workspaceId,
      attachments,
    }),
  );

  return { ok: true, status: result === "sent" ? "sent" : "delivered" };
}

async function sendWebhook(
  tx: Tx,
  deps: DeliveryDeps,
  { delivery, notification }: Loaded,
  attempt: number,
  events: EventDraft[],
): Promise<ChannelResult> {
  const [endpoint] = delivery.endpointId
    ? await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, delivery.endpointId))
    : [];
  if (!endpoint) return { ok: false, error: "The endpoint was deleted", final: true };
  if (endpoint.status !== "enabled" && notification.type !== "webhooks.test") {
    return { ok: false, error: "The endpoint is disabled", final: true };
  }

  const payload = await webhookPayload(tx, endpoint.id, notification);
  const body = JSON.stringify(payload);
  // The receiver checks the signature's age against its own clock.
  const timestamp = Math.floor(wallTimeOf(deps.clock).getTime() / 1000);
  const headers = {
    "content-type": "application/json",
    "user-agent": "Tally-Webhooks/1",
    "tally-webhook-id": notification.id,
    "tally-delivery-attempt": String(attempt),
    [SIGNATURE_HEADER.toLowerCase()]: signatureHeader(endpoint.secret, body, timestamp),
  };
  const response = await postWebhook({
    url: endpoint.url,
    headers,
    body,
    timeoutMs: deps.webhooks.timeoutMs,
    allowPrivateAddresses: deps.webhooks.allowPrivateAddresses,
  });
  await tx.insert(webhookAttempts).values({
    deliveryId: delivery.id,
    endpointId: endpoint.id,
    attempt,
    url: endpoint.url,
    requestHeaders: { ...headers, [SIGNATURE_HEADER.toLowerCase()]: "t=…,v1=…" },
    requestBody: body,
    responseStatus: response.status,
    responseBody: response.body,
    error: response.error,
    durationMs: response.durationMs,
    createdAt: deps.clock.now(),
  });

  const ok = response.status !== null && response.status >= 200 && response.status < 300;
  if (ok) {
    await tx
      .update(webhookEndpoints)
      .set({ consecutiveFailures: 0 })
      .where(eq(webhookEndpoints.id, endpoint.id));

    return { ok: true, status: "delivered" };
  }
  const error = response.error ?? `HTTP ${response.status}`;
  if (notification.type === "webhooks.test") return { ok: false, error, final: true };
  const disabled = await countEndpointFailure(tx, deps, endpoint.id, error);
  events.push(...disabled);

  return { ok: false, error, final: disabled.length > 0 };
}

/**
 * Disables an endpoint after too many failed attempts in a row and tells the workspace's admins.
 */
async function countEndpointFailure(
  tx: Tx,
  deps: DeliveryDeps,
  endpointId: string,
  error: string,
): Promise<EventDraft[]> {
  const [endpoint] = await tx
    .update(webhookEndpoints)
    .set({ consecutiveFailures: sql`${webhookEndpoints.consecutiveFailures} + 1` })
    .where(eq(webhookEndpoints.id, endpointId))
    .returning();
  if (
    !endpoint ||
    endpoint.status !== "enabled" ||
    endpoint.consecutiveFailures < DISABLE_ENDPOINT_AFTER
  )
    return [];

  const now = deps.clock.now();
  const reason = `${endpoint.consecutiveFailures} failed attempts in a row; the last: ${error}`;
  await tx
    .update(webhookEndpoints)
    .set({ status: "disabled", disabledAt: now, disabledReason: reason, updatedAt: now })
    .where(eq(webhookEndpoints.id, endpointId));
  await tx
    .update(notificationDeliveries)
    .set({
      status: "failed",
      lastError: "The endpoint was disabled",
      nextAttemptAt: null,
      updatedAt: now,
    })
    .where(
      and(
        eq(notificationDeliveries.endpointId, endpointId),
        eq(notificationDeliveries.status, "pending"),
        // Test events may go to a disabled endpoint: that is how it is checked before enabling.
        notInArray(
          notificationDeliveries.notificationId,
          tx
            .select({ id: notifications.id })
            .from(notifications)
            .where(eq(notifications.type, "webhooks.test")),
        ),
      ),
    );
  const [workspace] = await tx
    .select({ name: workspaces.name, slug: workspaces.slug })
    .from(workspaces)
    .where(eq(workspaces.id, endpoint.workspaceId));
  const { events } = await createNotification(tx, deps, {
    type: "webhooks.endpoint_disabled",
    workspaceId: endpoint.workspaceId,
    data: {
      workspaceName: workspace?.name ?? "",
      workspaceSlug: workspace?.slug ?? "",
      endpointId,
      url: endpoint.url,
      failures: endpoint.consecutiveFailures,
      lastError: error.slice(0, 200),
    },
    dedupeKey: `webhooks.endpoint_disabled:${endpointId}:${now.toISOString()}`,
  });
  deps.logger.warn(
    { endpointId, failures: endpoint.consecutiveFailures },
    "webhook endpoint disabled",
  );

  return events;
}
