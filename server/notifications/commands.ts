import { and, eq, inArray } from "drizzle-orm";
import { z } from "zod";

import {
  notificationDeliveries,
  notificationPreferences,
  notifications,
  webhookEndpoints,
  workspaces,
} from "@/drizzle/schema";
import { defineCommand } from "@/server/commands";
import { AppError } from "@/server/errors";

import { markInboxRead } from "./in-app";
import { isMandatory } from "./definition";
import { createNotification, dueEvent } from "./notify";
import { notificationType } from "./types";

export const markReadInput = z.object({ ids: z.array(z.uuid()).max(200).or(z.literal("all")) });

export const markRead = defineCommand({
  name: "notifications.markRead",
  input: markReadInput,
  async run({ tx, actor, clock }, input) {
    if (actor.type !== "user")
      throw new AppError("forbidden", "Only a signed-in user has notifications");
    const updated = await markInboxRead(tx, clock, actor.userId, input.ids);

    return { result: { updated }, audit: false };
  },
});

export const sendNotificationInput = z.object({
  type: z.string().min(1).max(100),
  workspaceId: z.uuid().nullable(),
  data: z.record(z.string(), z.unknown()),
  /** Makes a repeated request a no-op; a fresh key per request when absent. */
  dedupeKey: z.string().min(1).max(300).optional(),
  to: z.email().optional(),
  endpointId: z.uuid().optional(),
});

/**
 * Sends a notification of any type outside an event: sign-in links, test
 * events, and admins sending one by hand. The audit entry leaves out the
 * data, which can hold one-time links.
 */
export const sendNotification = defineCommand({
  name: "notifications.send",
  input: sendNotificationInput,
  async run({ tx, clock, requestId }, input) {
    if (input.workspaceId) {
      const [workspace] = await tx
        .select({ id: workspaces.id })
        .from(workspaces)
        .where(eq(workspaces.id, input.workspaceId));
      if (!workspace)
        throw new AppError("not_found", "No such workspace", { field: "workspaceId" });
    }
    if (input.endpointId) {
      const [endpoint] = await tx
        .select({ id: webhookEndpoints.id })
        .from(webhookEndpoints)
        .where(
          and(
            eq(webhookEndpoints.id, input.endpointId),
            input.workspaceId ? eq(webhookEndpoints.workspaceId, input.workspaceId) : undefined,
          ),
        );
      if (!endpoint) {
        throw new AppError("not_found", "No such endpoint in this workspace", {
          field: "endpointId",
        });
      }
    }
    const { notificationId, events } = await createNotification(
      tx,
      { clock },
      {
        ...input,
        dedupeKey: input.dedupeKey ?? `request:${requestId ?? crypto.randomUUID()}:${input.type}`,
      },
    );

    return {
      result: { notificationId },
      events,
      workspaceId: input.workspaceId,
      audit: {
        type: input.type,
        notificationId,
        to: input.to ?? null,
        endpointId: input.endpointId ?? null,
      },
    };
  },
});

export const setPreferenceInput = z.object({
  type: z.string().min(1).max(100),
  channel: z.enum(["email", "in_app"]),
  enabled: z.boolean(),
});

/** Turns one type off (or back on) on one channel for the signed-in user. */
export const setPreference = defineCommand({
  name: "notifications.setPreference",
  input: setPreferenceInput,
  async run({ tx, actor, clock }, input) {
    if (actor.type !== "user")
      throw new AppError("forbidden", "Only a signed-in user has preferences");
    const definition = notificationType(input.type);
    if (
      !definition ||
      definition.audience === "address" ||
      !definition.channels.includes(input.channel)
    ) {
      throw new AppError("invalid_request", `${input.type} is not sent by ${input.channel}`, {
        field: "type",
      });
    }
    if (isMandatory(definition) && !input.enabled) {
      throw new AppError("invalid_request", "Security and billing notices cannot be turned off", {
        field: "enabled",
      });
    }
    await tx
      .insert(notificationPreferences)
      .values({ userId: actor.userId, ...input, updatedAt: clock.now() })
      .onConflictDoUpdate({
        target: [
          notificationPreferences.userId,
          notificationPreferences.type,
          notificationPreferences.channel,
        ],
        set: { enabled: input.enabled, updatedAt: clock.now() },
      });

    return { result: { ...input } };
  },
});

export const retryInput = z.object({ deliveryId: z.uuid() });

/**
 * Puts a failed (or waiting) delivery back in line for an attempt now. The
 * caller then attempts it, so the person retrying sees the outcome.
 */
export const requeueDelivery = defineCommand({
  name: "notifications.retryDelivery",
  input: retryInput.extend({ workspaceId: z.uuid().optional() }),
  async run({ tx, clock }, input) {
    const [delivery] = await tx
      .select({
        id: notificationDeliveries.id,
        status: notificationDeliveries.status,
        workspaceId: notifications.workspaceId,
      })
      .from(notificationDeliveries)
      .innerJoin(notifications, eq(notifications.id, notificationDeliveries.notificationId))
      .where(eq(notificationDeliveries.id, input.deliveryId));
    // A workspace admin may only retry their own workspace's deliveries; a platform admin passes no
    // workspace.
    if (!delivery || (input.workspaceId && delivery.workspaceId !== input.workspaceId)) {
      throw new AppError("not_found", "No such delivery", { field: "deliveryId" });
    }
    if (delivery.status !== "failed" && delivery.status !== "pending") {
      throw new AppError("conflict", `This delivery is already ${delivery.status}`, {
        field: "deliveryId",
      });
    }
    const [free] = await tx
      .select({ id: notificationDeliveries.id })
      .from(notificationDeliveries)
      .where(eq(notificationDeliveries.id, input.deliveryId))
      .for("update", { skipLocked: true });
    if (!free) {
      throw new AppError(
        "conflict",
        "This delivery is being sent right now; look again in a moment",
        {
          field: "deliveryId",
        },
      );
    }
    await tx
      .update(notificationDeliveries)
      .set({ status: "pending", nextAttemptAt: null, updatedAt: clock.now() })
      .where(eq(notificationDeliveries.id, input.deliveryId));

    return { result: { deliveryId: input.deliveryId }, workspaceId: delivery.workspaceId };
  },
});

/** How many requeued deliveries are handed out at once; the retry sweep takes the rest. */
const REQUEUE_AT_ONCE = 500;

/** Puts every failed delivery of one type back in line and hands out the first of them. */
export const requeueFailedOfType = defineCommand({
  name: "notifications.retryFailed",
  input: z.object({ type: z.string().min(1).max(100) }),
  async run({ tx, clock }, input) {
    const now = clock.now();
    const requeued = await tx
      .update(notificationDeliveries)
      .set({ status: "pending", nextAttemptAt: now, updatedAt: now })
      .where(
        and(
          eq(notificationDeliveries.status, "failed"),
          inArray(
            notificationDeliveries.notificationId,
            tx
              .select({ id: notifications.id })
              .from(notifications)
              .where(eq(notifications.type, input.type)),
          ),
        ),
      )
      .returning({
        id: notificationDeliveries.id,
        channel: notificationDeliveries.channel,
        notificationId: notificationDeliveries.notificationId,
      });
    const handedOut = requeued.slice(0, REQUEUE_AT_ONCE);
    if (handedOut.length > 0) {
      await tx
        .update(notificationDeliveries)
        .set({ nextAttemptAt: null })
        .where(
          inArray(
            notificationDeliveries.id,
            handedOut.map((delivery) => delivery.id),
          ),
        );
    }
    const workspaceOf = new Map(
      (handedOut.length
        ? await tx
            .select({ id: notifications.id, workspaceId: notifications.workspaceId })
            .from(notifications)
            .where(inArray(notifications.id, [...new Set(handedOut.map((d) => d.notificationId))]))
        : []
      ).map((row) => [row.id, row.workspaceId]),
    );

    return {
      result: { requeued: requeued.length },
      events: handedOut.map((delivery) =>
        dueEvent(
          workspaceOf.get(delivery.notificationId) ?? null,
          delivery.notificationId,
          delivery,
        ),
      ),
      audit: { type: input.type, requeued: requeued.length },
    };
  },
});
