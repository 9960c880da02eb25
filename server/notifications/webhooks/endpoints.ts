import net from "node:net";

import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { z } from "zod";

import {
  notificationDeliveries,
  notifications,
  webhookAttempts,
  webhookEndpoints,
} from "@/drizzle/schema";
import { defineCommand } from "@/server/commands";
import type { Db } from "@/server/db/client";
import { AppError } from "@/server/errors";
import { requireTierFeature } from "@/server/workspaces/tiers";

import { createNotification } from "../notify";
import { webhookTypes } from "../types";
import { isInternalAddress } from "./sender";
import { newEndpointSecret } from "./signature";

export const MAX_ENDPOINTS_PER_WORKSPACE = 16;

const typeNames = new Set(webhookTypes.map((definition) => definition.type));

const eventTypesSchema = z
  .array(z.string())
  .min(1, "Choose at least one event type, or all of them")
  .max(64)
  .refine((types) => types.every((type) => type === "*" || typeNames.has(type)), {
    message: "Unknown event type; see the list of types",
  });

export const endpointInput = z.object({
  url: z
    .string()
    .max(2048, "URLs are at most 2,048 characters")
    .pipe(z.url({ message: "Enter the full URL, e.g. https://example.com/webhooks/tally" })),
  description: z.string().trim().max(200).default(""),
  eventTypes: eventTypesSchema,
});

/**
 * Which URLs an endpoint may use. With TALLY_WEBHOOK_TARGETS=public (the
 * production default) only https and public hosts; the sender also checks
 * the address it connects to. Called by the router, which knows the mode.
 */
export function checkEndpointUrl(url: string, targets: "public" | "any"): void {
  const parsed = new URL(url);
  if (parsed.username || parsed.password) {
    throw new AppError("invalid_request", "Put no credentials in the URL; use the signing secret", {
      field: "url",
    });
  }
  if (parsed.protocol !== "https:" && !(targets === "any" && parsed.protocol === "http:")) {
    const wanted = targets === "any" ? "an http:// or https:// URL" : "an https:// URL";
    throw new AppError("invalid_request", `Use ${wanted}`, { field: "url" });
  }
  if (targets === "any") return;
  // The URL parser has already turned 2130706433 or 0x7f000001 into 127.0.0.1.
  const host = parsed.hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
  const internalName =
    host === "localhost" || host.endsWith(".localhost") || host.endsWith(".internal");
  if (internalName || (net.isIP(host) !== 0 && isInternalAddress(host))) {
    throw new AppError("invalid_request", "The URL must point at a public host", { field: "url" });
  }
}

export const createEndpoint = defineCommand({
  name: "webhooks.createEndpoint",
  input: endpointInput.extend({ workspaceId: z.uuid() }),
  async run({ tx, actor, clock }, input) {
    await requireTierFeature(tx, input.workspaceId, "webhooks");
    // Counted under a lock, so concurrent requests cannot pass the limit together.
    await tx.execute(
      sql`SELECT pg_advisory_xact_lock(hashtext(${`webhooks:${input.workspaceId}`}))`,
    );
    const existing = await tx
      .select({ id: webhookEndpoints.id })
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.workspaceId, input.workspaceId));
    if (existing.length >= MAX_ENDPOINTS_PER_WORKSPACE) {
      throw new AppError(
        "invalid_request",
        `A workspace has at most ${MAX_ENDPOINTS_PER_WORKSPACE} endpoints`,
      );
    }
    const now = clock.now();
    const [endpoint] = await tx
      .insert(webhookEndpoints)
      .values({
        workspaceId: input.workspaceId,
        url: input.url,
        description: input.description,
        eventTypes: input.eventTypes.includes("*") ? ["*"] : [...new Set(input.eventTypes)],
        secret: newEndpointSecret(),
        createdBy: actor.type === "user" ? actor.userId : null,
        createdAt: now,
        updatedAt: now,
      })
      .returning({ id: webhookEndpoints.id });
    if (!endpoint) throw new Error("endpoint insert returned nothing");

    return {
      result: { endpointId: endpoint.id },
      workspaceId: input.workspaceId,
      audit: { endpointId: endpoint.id, url: input.url, eventTypes: input.eventTypes },
    };
  },
});

export const updateEndpoint = defineCommand({
  name: "webhooks.updateEndpoint",
  input: endpointInput.extend({ workspaceId: z.uuid(), endpointId: z.uuid() }),
  async run({ tx, clock }, input) {
    const [endpoint] = await tx
      .update(webhookEndpoints)
      .set({
        url: input.url,
        description: input.description,
        eventTypes: input.eventTypes.includes("*") ? ["*"] : [...new Set(input.eventTypes)],
        updatedAt: clock.now(),
      })
      .where(
        and(
          eq(webhookEndpoints.id, input.endpointId),
          eq(webhookEndpoints.workspaceId, input.workspaceId),
        ),
      )
      .returning({ id: webhookEndpoints.id });
    if (!endpoint)
      throw new AppError("not_found", "No such endpoint in this workspace", {
        field: "endpointId",
      });

    return { result: { endpointId: endpoint.id }, workspaceId: input.workspaceId };
  },
});

/** Turns an endpoint on or off. Turning it on clears its failure count. */
export const setEndpointEnabled = defineCommand({
  name: "webhooks.setEndpointEnabled",
  input: z.object({ workspaceId: z.uuid(), endpointId: z.uuid(), enabled: z.boolean() }),
  async run({ tx, clock }, input) {
    const now = clock.now();
    const [endpoint] = await tx
      .update(webhookEndpoints)
      .set(
        input.enabled
          ? {
              status: "enabled",
              consecutiveFailures: 0,
              disabledAt: null,
              disabledReason: null,
              updatedAt: now,
            }
          : {
              status: "disabled",
              disabledAt: now,
              disabledReason: "Disabled by a workspace admin",
              updatedAt: now,
            },
      )
      .where(
        and(
          eq(webhookEndpoints.id, input.endpointId),
          eq(webhookEndpoints.workspaceId, input.workspaceId),
        ),
      )
      .returning({ id: webhookEndpoints.id });
    if (!endpoint)
      throw new AppError("not_found", "No such endpoint in this workspace", {
        field: "endpointId",
      });

    return {
      result: { endpointId: endpoint.id, enabled: input.enabled },
      workspaceId: input.workspaceId,
    };
  },
});

export const deleteEndpoint = defineCommand({
  name: "webhooks.deleteEndpoint",
  input: z.object({ workspaceId: z.uuid(), endpointId: z.uuid() }),
  async run({ tx }, input) {
    const [endpoint] = await tx
      .delete(webhookEndpoints)
      .where(
        and(
          eq(webhookEndpoints.id, input.endpointId),
          eq(webhookEndpoints.workspaceId, input.workspaceId),
        ),
      )
      .returning({ id: webhookEndpoints.id, url: webhookEndpoints.url });
    if (!endpoint)
      throw new AppError("not_found", "No such endpoint in this workspace", {
        field: "endpointId",
      });

    return {
      result: { endpointId: endpoint.id },
      workspaceId: input.workspaceId,
      audit: { ...endpoint },
    };
  },
});

/** Sends a webhooks.test event to one endpoint, whatever it subscribes to. */
export const sendTestEvent = defineCommand({
  name: "webhooks.sendTest",
  input: z.object({ workspaceId: z.uuid(), endpointId: z.uuid() }),
  async run({ tx, clock }, input) {
    const [endpoint] = await tx
      .select({ id: webhookEndpoints.id })
      .from(webhookEndpoints)
      .where(
        and(
          eq(webhookEndpoints.id, input.endpointId),
          eq(webhookEndpoints.workspaceId, input.workspaceId),
        ),
      );
    if (!endpoint)
      throw new AppError("not_found", "No such endpoint in this workspace", {
        field: "endpointId",
      });
    const { notificationId, events } = await createNotification(
      tx,
      { clock },
      {
        type: "webhooks.test",
        workspaceId: input.workspaceId,
        data: { endpointId: endpoint.id, message: "This is a test event from Tally." },
        dedupeKey: `webhooks.test:${endpoint.id}:${crypto.randomUUID()}`,
        endpointId: endpoint.id,
      },
    );

    return { result: { notificationId }, events, workspaceId: input.workspaceId };
  },
});

/** The workspace's endpoints; secrets stay out of lists (see endpointSecret). */
export async function listEndpoints(db: Db, workspaceId: string) {
  return db
    .select({
      id: webhookEndpoints.id,
      url: webhookEndpoints.url,
      description: webhookEndpoints.description,
      eventTypes: webhookEndpoints.eventTypes,
      status: webhookEndpoints.status,
      consecutiveFailures: webhookEndpoints.consecutiveFailures,
      disabledAt: webhookEndpoints.disabledAt,
      disabledReason: webhookEndpoints.disabledReason,
      createdAt: webhookEndpoints.createdAt,
    })
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.workspaceId, workspaceId))
    .orderBy(desc(webhookEndpoints.createdAt));
}

export async function endpointSecret(
  db: Db,
  workspaceId: string,
  endpointId: string,
): Promise<string> {
  const [row] = await db
    .select({ secret: webhookEndpoints.secret })
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, endpointId), eq(webhookEndpoints.workspaceId, workspaceId)));
  if (!row)
    throw new AppError("not_found", "No such endpoint in this workspace", { field: "endpointId" });

  return row.secret;
}

/** An endpoint's deliveries, newest first, each with its attempts (request and response). */
export async function endpointDeliveryLog(
  db: Db,
  workspaceId: string,
  endpointId: string,
  limit = 50,
) {
  const deliveries = await db
    .select({
      id: notificationDeliveries.id,
      notificationId: notifications.id,
      type: notifications.type,
      status: notificationDeliveries.status,
      attempts: notificationDeliveries.attempts,
      nextAttemptAt: notificationDeliveries.nextAttemptAt,
      lastError: notificationDeliveries.lastError,
      createdAt: notificationDeliveries.createdAt,
      deliveredAt: notificationDeliveries.deliveredAt,
    })
    .from(notificationDeliveries)
    .innerJoin(notifications, eq(notifications.id, notificationDeliveries.notificationId))
    .where(
      and(
        eq(notificationDeliveries.endpointId, endpointId),
        eq(notifications.workspaceId, workspaceId),
      ),
    )
    .orderBy(desc(notificationDeliveries.createdAt))
    .limit(limit);
  const attempts = deliveries.length
    ? await db
        .select()
        .from(webhookAttempts)
        .where(
          inArray(
            webhookAttempts.deliveryId,
            deliveries.map((delivery) => delivery.id),
          ),
        )
        .orderBy(desc(webhookAttempts.id))
    : [];

  return deliveries.map((delivery) => ({
    ...delivery,
    attempts: attempts.filter((attempt) => attempt.deliveryId === delivery.id),
    attemptCount: delivery.attempts,
  }));
}
