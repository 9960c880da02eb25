import { and, eq, inArray, sql } from "drizzle-orm";

import {
  notificationPreferences,
  users,
  webhookEndpoints,
  workspaceMembers,
} from "@/drizzle/schema";
import { rolesAtLeast, type WorkspaceRole } from "@/server/auth/roles";
import type { Tx } from "@/server/db/client";

import {
  isMandatory,
  type Audience,
  type Channel,
  type NotificationDefinition,
} from "./definition";

/** By the role ranking; `members` is everyone in the workspace, viewers included. */
const rolesFor: Record<Exclude<Audience, "platform_admins" | "address">, WorkspaceRole[]> = {
  owners: rolesAtLeast("owner"),
  admins: rolesAtLeast("admin"),
  billing: rolesAtLeast("billing"),
  members: rolesAtLeast("viewer"),
};

export interface Person {
  userId: string;
  email: string | null;
}

/** The users a notification is for, before preferences. */
export async function audienceOf(
  tx: Tx,
  audience: Audience,
  workspaceId: string | null,
): Promise<Person[]> {
  if (audience === "address") return [];
  if (audience === "platform_admins") {
    return tx
      .select({ userId: users.id, email: users.email })
      .from(users)
      .where(eq(users.isPlatformAdmin, true));
  }
  if (!workspaceId) return [];

  return tx
    .select({ userId: users.id, email: users.email })
    .from(workspaceMembers)
    .innerJoin(users, eq(users.id, workspaceMembers.userId))
    .where(
      and(
        eq(workspaceMembers.workspaceId, workspaceId),
        inArray(workspaceMembers.role, rolesFor[audience]),
      ),
    );
}

/**
 * The people who have not turned this type off on this channel. Mandatory types ignore opt-outs.
 */
export async function wantingIt(
  tx: Tx,
  people: Person[],
  definition: NotificationDefinition,
  channel: Exclude<Channel, "webhook">,
): Promise<Person[]> {
  if (people.length === 0 || isMandatory(definition)) return people;
  const optedOut = await tx
    .select({ userId: notificationPreferences.userId })
    .from(notificationPreferences)
    .where(
      and(
        inArray(
          notificationPreferences.userId,
          people.map((person) => person.userId),
        ),
        eq(notificationPreferences.type, definition.type),
        eq(notificationPreferences.channel, channel),
        eq(notificationPreferences.enabled, false),
      ),
    );
  const out = new Set(optedOut.map((row) => row.userId));

  return people.filter((person) => !out.has(person.userId));
}

/** Enabled endpoints of the workspace subscribed to the type (or to everything, "*"). */
export async function subscribedEndpoints(tx: Tx, workspaceId: string, type: string) {
  return tx
    .select({ id: webhookEndpoints.id })
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.workspaceId, workspaceId),
        eq(webhookEndpoints.status, "enabled"),
        sql`${webhookEndpoints.eventTypes} && ARRAY[${type}, '*']::text[]`,
      ),
    );
}
