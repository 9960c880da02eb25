import { randomUUID } from "node:crypto";

import { eq } from "drizzle-orm";

import { notificationDeliveries, notifications, workspaces } from "@/drizzle/schema";
import type { Clock } from "@/server/clock";
import type { Tx } from "@/server/db/client";
import { AppError } from "@/server/errors";
import { event, type EventDraft, type EventName, type ObjectRef } from "@/server/events/catalogue";
import type { ReactionHandler } from "@/server/events/reactions";

import type { NotificationDefinition, WorkspaceRef } from "./definition";
import { audienceOf, subscribedEndpoints, wantingIt } from "./recipients";
import { notificationType } from "./types";

export interface NotifyInput {
  type: string;
  workspaceId: string | null;
  data: Record<string, unknown>;
  /** One notification per key, ever: the source event's id, or a request's own key. */
  dedupeKey: string;
  /** What it is about; defaults to the type's own `object(data)`. */
  object?: ObjectRef;
  /** The address of an "address" audience (a sign-in link, an invitation). */
  to?: string;
  /** Send only to this webhook endpoint, subscribed or not (test events). */
  endpointId?: string;
}

export interface NotifyResult {
  notificationId: string | null;
  events: EventDraft[];
}

/**
 * Creates a notification and one delivery per channel and recipient, in the
 * caller's transaction; returns the events to write with it. In-app
 * deliveries are delivered here (the row is the delivery); each email and
 * webhook delivery gets a notifications/delivery-due event, whose reaction
 * makes the attempt, one delivery per run. A second call with the same
 * dedupe key creates nothing.
 */
export async function createNotification(
  tx: Tx,
  deps: { clock: Clock },
  input: NotifyInput,
): Promise<NotifyResult> {
  const definition = notificationType(input.type);
  if (!definition)
    throw new AppError("invalid_request", `There is no notification type "${input.type}"`, {
      field: "type",
    });
  const parsed = definition.schema.safeParse(input.data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError(
      "invalid_request",
      `Data for ${input.type}: ${issue?.path.join(".")} ${issue?.message}`,
      {
        field: `data.${issue?.path.join(".") ?? ""}`,
      },
    );
  }
  const data = parsed.data;
  const object = input.object ?? definition.object?.(data);
  if (!object) {
    throw new AppError(
      "invalid_request",
      `${definition.type} is sent when its event happens; it cannot be sent by hand`,
      { field: "type" },
    );
  }
  if (definition.audience === "address" && !input.to) {
    throw new AppError("invalid_request", `${definition.type} goes to one address; give it`, {
      field: "to",
    });
  }

  const now = deps.clock.now();
  let summary: ReturnType<typeof definition.inApp>;
  try {
    summary = definition.inApp(data);
  } catch (error) {
    throw new AppError(
      "invalid_request",
      `Data for ${definition.type} cannot be shown: ${String(error)}`,
      {
        field: "data",
      },
    );
  }
  const eventId = randomUUID();
  const [row] = await tx
    .insert(notifications)
    .values({
      type: definition.type,
      workspaceId: input.workspaceId,
      data,
      title: summary.title,
      body: summary.body,
      link: summary.link,
      dedupeKey: input.dedupeKey,
      objectType: object.type,
      objectId: object.id,
      eventId,
      createdAt: now,
    })
    .onConflictDoNothing({ target: notifications.dedupeKey })
    .returning({ id: notifications.id });
  if (!row) return { notificationId: null, events: [] };

  const deliveries = await plannedDeliveries(tx, definition, input);
  const base = { notificationId: row.id, createdAt: now, updatedAt: now };
  const inserted = deliveries.length
    ? await tx
        .insert(notificationDeliveries)
        .values(
          deliveries.map((delivery) =>
            delivery.channel === "in_app"
              ? {
                  ...base,
                  ...delivery,
                  status: "delivered" as const,
                  attempts: 1,
                  deliveredAt: now,
                }
              : { ...base, ...delivery, status: "pending" as const, nextAttemptAt: null },
          ),
        )
        .returning({ id: notificationDeliveries.id, channel: notificationDeliveries.channel })
    : [];

  const common = { workspaceId: input.workspaceId, notificationId: row.id, type: definition.type };
  const events: EventDraft[] = [
    event(
      "notifications/created",
      { ...common, objectType: object.type, objectId: object.id },
      { id: eventId },
    ),
    ...inserted.map((delivery) =>
      delivery.channel === "in_app"
        ? event("notifications/delivered", {
            ...common,
            deliveryId: delivery.id,
            channel: "in_app",
          })
        : dueEvent(input.workspaceId, row.id, delivery),
    ),
  ];

  return { notificationId: row.id, events };
}

type PlannedDelivery = {
  channel: "email" | "in_app" | "webhook";
  recipient: string;
  userId?: string;
  endpointId?: string;
};

async function plannedDeliveries(
  tx: Tx,
  definition: NotificationDefinition,
  input: NotifyInput,
): Promise<PlannedDelivery[]> {
  const planned: PlannedDelivery[] = [];
  if (input.endpointId) {
    return definition.channels.includes("webhook")
      ? [{ channel: "webhook", recipient: input.endpointId, endpointId: input.endpointId }]
      : [];
  }
  if (definition.audience === "address") {
    return definition.channels.includes("email") && input.to
      ? [{ channel: "email", recipient: input.to.toLowerCase() }]
      : [];
  }

  const people = await audienceOf(tx, definition.audience, input.workspaceId);
  if (definition.channels.includes("in_app")) {
    for (const person of await wantingIt(tx, people, definition, "in_app")) {
      planned.push({ channel: "in_app", recipient: person.userId, userId: person.userId });
    }
  }
  if (definition.channels.includes("email")) {
    for (const person of await wantingIt(tx, people, definition, "email")) {
      if (person.email)
        planned.push({ channel: "email", recipient: person.email, userId: person.userId });
    }
  }
  if (definition.channels.includes("webhook") && input.workspaceId) {
    for (const endpoint of await subscribedEndpoints(tx, input.workspaceId, definition.type)) {
      planned.push({ channel: "webhook", recipient: endpoint.id, endpointId: endpoint.id });
    }
  }

  return planned;
}

/** The event that asks the send reaction for an attempt at one delivery. */
export function dueEvent(
  workspaceId: string | null,
  notificationId: string,
  delivery: { id: string; channel: string },
): EventDraft {
  return event("notifications/delivery-due", {
    workspaceId,
    notificationId,
    deliveryId: delivery.id,
    channel: delivery.channel,
  });
}

async function workspaceRef(tx: Tx, workspaceId: string | null): Promise<WorkspaceRef | null> {
  if (!workspaceId) return null;
  const [row] = await tx
    .select({ id: workspaces.id, name: workspaces.name, slug: workspaces.slug })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId));

  return row ?? null;
}

/** The reaction that turns a domain event into a notification of the given type. */
export function notifyOn(definition: NotificationDefinition): ReactionHandler<EventName> {
  return async ({ tx, event: source, deps }) => {
    const trigger = definition.trigger;
    if (!trigger) return [];
    const workspace = await workspaceRef(tx, source.workspaceId);
    const data = await trigger.data({ tx, event: source, workspace });
    if (!data) return [];
    const { events } = await createNotification(tx, deps, {
      type: definition.type,
      workspaceId: source.workspaceId,
      data,
      dedupeKey: `${definition.type}:${source.id}`,
      object: source.object,
    });

    return events;
  };
}
