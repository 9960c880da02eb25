import { and, eq, inArray } from "drizzle-orm";
import { z } from "zod";

import { notificationDeliveries, notificationPreferences, notifications } from "@/drizzle/schema";
import { defineCommand } from "@/server/commands";
import { AppError } from "@/server/errors";

import { markInboxRead } from "./in-app";
import { isMandatory } from "./definition";
import { createNotification } from "./notify";
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
      .where(eq(notificationDeliveries.id, input.deliveryId))
      .for("update", { of: notificationDeliveries });
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
    await tx
      .update(notificationDeliveries)
      .set({ status: "pending", nextAttemptAt: clock.now(), updatedAt: clock.now() })
      .where(eq(notificationDeliveries.id, input.deliveryId));

    return { result: { deliveryId: input.deliveryId }, workspaceId: delivery.workspaceId };
  },
});

/** Puts every failed delivery of one type back in line; the retry sweep sends them. */
export const requeueFailedOfType = defineCommand({
  name: "notifications.retryFailed",
  input: z.object({ type: z.string().min(1).max(100) }),
  async run({ tx, clock }, input) {
    const requeued = await tx
      .update(notificationDeliveries)
      .set({ status: "pending", nextAttemptAt: clock.now(), updatedAt: clock.now() })
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
      .returning({ id: notificationDeliveries.id });

    return {
      result: { requeued: requeued.length },
      audit: { type: input.type, requeued: requeued.length },
    };
  },
});
