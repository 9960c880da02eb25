import { createHash, randomBytes } from "node:crypto";

import { and, asc, count, eq, gt, isNull, ne, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { z } from "zod";

import { tiers, users, workspaceInvites, workspaceMembers, workspaces } from "@/drizzle/schema";
import type { Actor } from "@/server/actor";
import type { Clock } from "@/server/clock";
import { emailSchema } from "@/server/auth/commands";
import { canGrant, canManage, type WorkspaceRole } from "@/server/auth/roles";
import { defineCommand } from "@/server/commands";
import type { Db, Tx } from "@/server/db/client";
import { AppError } from "@/server/errors";
import { event } from "@/server/events/catalogue";
import type { ReactionHandler } from "@/server/events/reactions";
import { createNotification } from "@/server/notifications/notify";

/**
 * Collaborators: invitations by email, accepting them, roles, removing,
 * leaving and transferring ownership. The procedures admit the caller by
 * role (server/trpc/init.ts); the commands here apply the rules between two
 * people, which need the other person's role (canGrant and canManage in
 * server/auth/roles.ts, which the pages read too):
 *
 * - You may give a role up to your own, never owner: ownership moves only by
 *   transfer.
 * - You may change or remove only someone ranked below you. So admins manage
 *   billing members, members and viewers, and only the owner manages admins.
 * - Nobody changes the owner's role or removes the owner; the owner cannot
 *   leave, only transfer ownership first.
 */

/** How long an invitation link works. */
export const INVITE_TTL_MS = 7 * 24 * 60 * 60 * 1000;

const grantableRole = z.enum(["admin", "billing", "member", "viewer"], {
  error: "Choose admin, billing, member or viewer; ownership moves only by transfer",
});

export function hashInviteToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Members now, the owner included: what a workspace is billed seats for. */
export async function seatsInUse(db: Db | Tx, workspaceId: string): Promise<number> {
  const [row] = await db
    .select({ seats: count() })
    .from(workspaceMembers)
    .where(eq(workspaceMembers.workspaceId, workspaceId));

  return row?.seats ?? 0;
}

function userOf(actor: Actor): string {
  if (actor.type !== "user") throw new AppError("forbidden", "Only a signed-in user can do this");

  return actor.userId;
}

/**
 * The workspace, locked so membership changes of one workspace happen one at a
 * time (seat counts stay true), with the tier's seat limit. FOR NO KEY UPDATE
 * leaves rows that point at the workspace free.
 */
const scheduledTiers = alias(tiers, "scheduled_tiers");

/**
 * Locks the workspace row and reads its seat limit: the stricter of its tier
 * and a downgrade scheduled for the period's end, so no one joins now who
 * would not fit then.
 */
async function lockWorkspace(tx: Tx, workspaceId: string) {
  const [row] = await tx
    .select({
      id: workspaces.id,
      name: workspaces.name,
      slug: workspaces.slug,
      status: workspaces.status,
      current: { maxSeats: tiers.maxSeats, name: tiers.name },
      scheduled: { maxSeats: scheduledTiers.maxSeats, name: scheduledTiers.name },
    })
    .from(workspaces)
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .leftJoin(scheduledTiers, eq(scheduledTiers.id, workspaces.scheduledTierId))
    .where(eq(workspaces.id, workspaceId))
    .for("no key update", { of: workspaces });
  if (!row || row.status === "deleted") throw new AppError("not_found", "Workspace not found");
  const { current, scheduled, ...workspace } = row;
  const stricter =
    scheduled?.maxSeats != null &&
    (current.maxSeats === null || scheduled.maxSeats < current.maxSeats)
      ? { maxSeats: scheduled.maxSeats, tierName: scheduled.name }
      : { maxSeats: current.maxSeats, tierName: current.name };

  return { ...workspace, ...stricter };
}

async function roleOf(tx: Tx, workspaceId: string, userId: string) {
  const [row] = await tx
    .select({ role: workspaceMembers.role })
    .from(workspaceMembers)
    .where(and(eq(workspaceMembers.workspaceId, workspaceId), eq(workspaceMembers.userId, userId)));

  return row?.role;
}

/** The caller's role; the procedure already checked membership, this reads it under the lock. */
async function callerRole(tx: Tx, workspaceId: string, actor: Actor): Promise<WorkspaceRole> {
  const role = await roleOf(tx, workspaceId, userOf(actor));
  if (!role) throw new AppError("not_found", "Workspace not found");

  return role;
}

/** The member a command acts on, with their email for messages. */
async function memberOf(tx: Tx, workspaceId: string, userId: string) {
  const [row] = await tx
    .select({ role: workspaceMembers.role, email: users.email, name: users.name })
    .from(workspaceMembers)
    .innerJoin(users, eq(users.id, workspaceMembers.userId))
    .where(and(eq(workspaceMembers.workspaceId, workspaceId), eq(workspaceMembers.userId, userId)));
  if (!row) {
    throw new AppError("not_found", "That person is not a member of this workspace", {
      field: "userId",
    });
  }

  return row;
}

function seatLimitError(maxSeats: number, tierName: string): AppError {
  return new AppError(
    "seat_limit_reached",
    `The ${tierName} tier allows at most ${maxSeats} seat${maxSeats === 1 ? "" : "s"} ` +
      `(members and open invitations); a higher tier allows more`,
    { field: "email", details: { maxSeats } },
  );
}

export const inviteInput = z.object({
  workspaceId: z.uuid(),
  email: emailSchema,
  role: grantableRole.default("member"),
});

/**
 * Invites an address. A second invitation to the same address replaces the
 * open one (its link stops working). The link itself is made by the reaction
 * that sends the email (sendInvitation), so the token never sits in the
 * outbox; until then the invite's hash matches no token anyone has.
 */
/**
 * Invitations one address may receive in an hour, from every workspace
 * together: enough for a resend or two, too few to flood its inbox.
 */
export const INVITES_PER_ADDRESS_PER_HOUR = 3;

export const inviteCollaborator = defineCommand({
  name: "workspaces.members.invite",
  input: inviteInput,
  async run({ tx, actor, clock }, input) {
    const now = clock.now();
    const workspace = await lockWorkspace(tx, input.workspaceId);
    const role = await callerRole(tx, input.workspaceId, actor);
    if (!canGrant(role, input.role)) {
      throw new AppError(
        "forbidden",
        `As ${role} you can invite people as ${role} or below, not as ${input.role}`,
        { field: "role" },
      );
    }
    const [member] = await tx
      .select({ userId: workspaceMembers.userId })
      .from(workspaceMembers)
      .innerJoin(users, eq(users.id, workspaceMembers.userId))
      .where(
        and(
          eq(workspaceMembers.workspaceId, input.workspaceId),
          sql`lower(${users.email}) = ${input.email}`,
        ),
      );
    if (member) {
      throw new AppError("conflict", `${input.email} is already a member of ${workspace.name}`, {
        field: "email",
      });
    }
    // One address at a time, from any workspace, so the hourly limit holds under concurrency.
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`invite:${input.email}`}))`);
    const [recent] = await tx
      .select({ count: sql<number>`count(*)::int` })
      .from(workspaceInvites)
      .where(
        and(
          eq(workspaceInvites.email, input.email),
          gt(workspaceInvites.createdAt, new Date(now.getTime() - 3_600_000)),
        ),
      );
    if ((recent?.count ?? 0) >= INVITES_PER_ADDRESS_PER_HOUR) {
      throw new AppError(
        "rate_limited",
        `${input.email} was invited ${INVITES_PER_ADDRESS_PER_HOUR} times in the last hour; ` +
          `the latest link still works, or try again later`,
        { field: "email" },
      );
    }

    const replaced = await tx
      .update(workspaceInvites)
      .set({ revokedAt: now })
      .where(
        and(
          eq(workspaceInvites.workspaceId, input.workspaceId),
          eq(workspaceInvites.email, input.email),
          isNull(workspaceInvites.acceptedAt),
          isNull(workspaceInvites.revokedAt),
        ),
      )
      .returning({ id: workspaceInvites.id });

    if (workspace.maxSeats !== null) {
      const used = (await seatsInUse(tx, input.workspaceId)) + (await openInvites(tx, input, now));
      if (used + 1 > workspace.maxSeats)
        throw seatLimitError(workspace.maxSeats, workspace.tierName);
    }

    const [invite] = await tx
      .insert(workspaceInvites)
      .values({
        workspaceId: input.workspaceId,
        email: input.email,
        role: input.role,
        // Replaced by the hash of the emailed token when the invitation is sent.
        tokenHash: hashInviteToken(randomBytes(32).toString("base64url")),
        invitedBy: userOf(actor),
        expiresAt: new Date(now.getTime() + INVITE_TTL_MS),
        createdAt: now,
      })
      .returning({ id: workspaceInvites.id, expiresAt: workspaceInvites.expiresAt });
    if (!invite) throw new Error("invite insert returned nothing");

    return {
      result: { inviteId: invite.id, email: input.email, expiresAt: invite.expiresAt },
      workspaceId: input.workspaceId,
      events: [
        event("workspace/collaborator-invited", {
          workspaceId: input.workspaceId,
          inviteId: invite.id,
          role: input.role,
        }),
      ],
      audit: {
        inviteId: invite.id,
        email: input.email,
        role: input.role,
        replaced: replaced.map((row) => row.id),
      },
    };
  },
});

/** Open, unexpired invitations of a workspace that hold a seat, other than to `email`. */
async function openInvites(tx: Tx, input: { workspaceId: string; email: string }, now: Date) {
  const [row] = await tx
    .select({ n: count() })
    .from(workspaceInvites)
    .where(
      and(
        eq(workspaceInvites.workspaceId, input.workspaceId),
        ne(workspaceInvites.email, input.email),
        isNull(workspaceInvites.acceptedAt),
        isNull(workspaceInvites.revokedAt),
        gt(workspaceInvites.expiresAt, now),
      ),
    );

  return row?.n ?? 0;
}

/**
 * workspace/collaborator-invited → the invitation email. The token is made
 * here and only its hash kept; the email names the workspace, the inviter,
 * the role, the expiry and the link. An invitation revoked or replaced before
 * this runs sends nothing.
 */
export const sendInvitation: ReactionHandler<"workspace/collaborator-invited"> = async ({
  tx,
  event: source,
  deps,
}) => {
  const [invite] = await tx
    .select({
      id: workspaceInvites.id,
      email: workspaceInvites.email,
      role: workspaceInvites.role,
      expiresAt: workspaceInvites.expiresAt,
      acceptedAt: workspaceInvites.acceptedAt,
      revokedAt: workspaceInvites.revokedAt,
      workspaceName: workspaces.name,
      inviterName: users.name,
      inviterEmail: users.email,
    })
    .from(workspaceInvites)
    .innerJoin(workspaces, eq(workspaces.id, workspaceInvites.workspaceId))
    .leftJoin(users, eq(users.id, workspaceInvites.invitedBy))
    .where(eq(workspaceInvites.id, source.data.inviteId))
    .for("update", { of: workspaceInvites });
  if (!invite || invite.acceptedAt || invite.revokedAt) return;

  const token = randomBytes(32).toString("base64url");
  await tx
    .update(workspaceInvites)
    .set({ tokenHash: hashInviteToken(token) })
    .where(eq(workspaceInvites.id, invite.id));
  const { events } = await createNotification(tx, deps, {
    type: "workspace.collaborator_invite",
    workspaceId: source.workspaceId,
    data: {
      workspaceName: invite.workspaceName,
      inviterName: invite.inviterName ?? invite.inviterEmail ?? "A workspace admin",
      role: invite.role,
      acceptUrl: `${deps.appUrl}/invite/${token}`,
      expiresAt: invite.expiresAt.toISOString(),
      invitationId: invite.id,
    },
    to: invite.email,
    dedupeKey: `workspace.collaborator_invite:${source.id}`,
  });

  return events;
};

export type InviteState = "open" | "expired" | "revoked" | "accepted";

async function inviteByToken(db: Db | Tx, token: string, lock = false) {
  const query = db
    .select({
      id: workspaceInvites.id,
      workspaceId: workspaceInvites.workspaceId,
      email: workspaceInvites.email,
      role: workspaceInvites.role,
      expiresAt: workspaceInvites.expiresAt,
      acceptedAt: workspaceInvites.acceptedAt,
      revokedAt: workspaceInvites.revokedAt,
      workspaceName: workspaces.name,
      workspaceSlug: workspaces.slug,
      workspaceStatus: workspaces.status,
      inviterName: users.name,
      inviterEmail: users.email,
    })
    .from(workspaceInvites)
    .innerJoin(workspaces, eq(workspaces.id, workspaceInvites.workspaceId))
    .leftJoin(users, eq(users.id, workspaceInvites.invitedBy))
    .where(eq(workspaceInvites.tokenHash, hashInviteToken(token)));
  const [row] = await (lock ? query.for("update", { of: workspaceInvites }) : query);
  if (!row || row.workspaceStatus === "deleted") {
    throw new AppError(
      "not_found",
      "This invitation link is not valid: check that you copied all of it, or ask for a new one",
      { field: "token" },
    );
  }

  return row;
}

function stateOf(
  invite: { acceptedAt: Date | null; revokedAt: Date | null; expiresAt: Date },
  now: Date,
): InviteState {
  if (invite.acceptedAt) return "accepted";
  if (invite.revokedAt) return "revoked";
  if (invite.expiresAt <= now) return "expired";

  return "open";
}

export const inviteTokenSchema = z.string().min(1).max(200);

/**
 * What the invitation page shows to whoever holds the link: the workspace,
 * the role, the inviter and the address it is for, and whether it can still
 * be accepted. Without the token nothing is revealed.
 */
export async function previewInvite(db: Db, token: string, now: Date) {
  const invite = await inviteByToken(db, token);

  return {
    state: stateOf(invite, now),
    workspaceName: invite.workspaceName,
    role: invite.role,
    inviterName: invite.inviterName ?? invite.inviterEmail ?? "A workspace admin",
    email: invite.email,
    expiresAt: invite.expiresAt,
  };
}

const refusals: Record<Exclude<InviteState, "open">, string> = {
  expired: "This invitation has expired; ask whoever invited you for a new one",
  revoked: "This invitation was withdrawn or replaced by a newer one; use the latest email",
  accepted: "This invitation was already used",
};

/**
 * Accepts an invitation as the signed-in user, whose email must be the
 * invited address (any case): the member row, the invitation marked
 * accepted, workspace/collaborator-added.
 */
export const acceptInvite = defineCommand({
  name: "workspaces.members.accept",
  input: z.object({ token: inviteTokenSchema }),
  async run({ tx, actor, clock }, input) {
    const now = clock.now();
    const userId = userOf(actor);
    const found = await inviteByToken(tx, input.token);
    const workspace = await lockWorkspace(tx, found.workspaceId);
    const invite = await inviteByToken(tx, input.token, true);
    const state = stateOf(invite, now);
    if (state !== "open") {
      throw new AppError("conflict", refusals[state], { field: "token", details: { state } });
    }
    const [user] = await tx.select({ email: users.email }).from(users).where(eq(users.id, userId));
    if (user?.email?.toLowerCase() !== invite.email) {
      throw new AppError(
        "forbidden",
        `This invitation is for ${invite.email}; sign in with that address to accept it`,
        { field: "token", details: { invitedEmail: invite.email } },
      );
    }
    if (workspace.status !== "active") {
      throw new AppError(
        "workspace_read_only",
        `${workspace.name} is ${workspace.status}, so nobody can join it now`,
        { details: { status: workspace.status } },
      );
    }
    if (await roleOf(tx, invite.workspaceId, userId)) {
      throw new AppError("conflict", `You are already a member of ${workspace.name}`, {
        field: "token",
      });
    }
    // The invitation held its seat, unless the workspace moved to a smaller tier meanwhile.
    if (
      workspace.maxSeats !== null &&
      (await seatsInUse(tx, invite.workspaceId)) + 1 > workspace.maxSeats
    ) {
      throw seatLimitError(workspace.maxSeats, workspace.tierName);
    }

    await tx
      .insert(workspaceMembers)
      .values({ workspaceId: invite.workspaceId, userId, role: invite.role, createdAt: now });
    await tx
      .update(workspaceInvites)
      .set({ acceptedAt: now, acceptedBy: userId })
      .where(eq(workspaceInvites.id, invite.id));

    return {
      result: { workspaceId: invite.workspaceId, slug: workspace.slug, role: invite.role },
      workspaceId: invite.workspaceId,
      events: [
        event("workspace/collaborator-added", {
          workspaceId: invite.workspaceId,
          userId,
          role: invite.role,
        }),
      ],
      audit: { inviteId: invite.id, email: invite.email, role: invite.role },
    };
  },
});

/** Withdraws an open invitation: its link stops working and its seat is free. */
export const revokeInvite = defineCommand({
  name: "workspaces.members.revokeInvite",
  input: z.object({ workspaceId: z.uuid(), inviteId: z.uuid() }),
  async run({ tx, actor, clock }, input) {
    await lockWorkspace(tx, input.workspaceId);
    const role = await callerRole(tx, input.workspaceId, actor);
    const [invite] = await tx
      .select()
      .from(workspaceInvites)
      .where(
        and(
          eq(workspaceInvites.id, input.inviteId),
          eq(workspaceInvites.workspaceId, input.workspaceId),
        ),
      );
    if (!invite) throw new AppError("not_found", "No such invitation", { field: "inviteId" });
    if (!canGrant(role, invite.role)) {
      throw new AppError(
        "forbidden",
        `Only the owner can withdraw an invitation as ${invite.role}`,
      );
    }
    if (invite.acceptedAt || invite.revokedAt) {
      throw new AppError(
        "conflict",
        invite.acceptedAt
          ? `${invite.email} already accepted this invitation`
          : "This invitation was already withdrawn",
      );
    }
    await tx
      .update(workspaceInvites)
      .set({ revokedAt: clock.now() })
      .where(eq(workspaceInvites.id, invite.id));

    return {
      result: { inviteId: invite.id },
      workspaceId: input.workspaceId,
      audit: { inviteId: invite.id, email: invite.email, role: invite.role },
    };
  },
});

export const changeRoleInput = z.object({
  workspaceId: z.uuid(),
  userId: z.uuid(),
  role: grantableRole,
});

/** Gives a member another role, within the rules at the top of this file. */
export const changeMemberRole = defineCommand({
  name: "workspaces.members.changeRole",
  input: changeRoleInput,
  async run({ tx, actor }, input) {
    await lockWorkspace(tx, input.workspaceId);
    const role = await callerRole(tx, input.workspaceId, actor);
    const target = await memberOf(tx, input.workspaceId, input.userId);
    refuseUnmanageable(role, target, "change the role of");
    if (!canGrant(role, input.role)) {
      throw new AppError("forbidden", `As ${role} you cannot make someone ${input.role}`, {
        field: "role",
      });
    }
    if (target.role === input.role) {
      return { result: { userId: input.userId, role: input.role }, audit: false };
    }
    await tx
      .update(workspaceMembers)
      .set({ role: input.role })
      .where(
        and(
          eq(workspaceMembers.workspaceId, input.workspaceId),
          eq(workspaceMembers.userId, input.userId),
        ),
      );

    return {
      result: { userId: input.userId, role: input.role },
      workspaceId: input.workspaceId,
      audit: { userId: input.userId, email: target.email, from: target.role, to: input.role },
    };
  },
});

function refuseUnmanageable(
  role: WorkspaceRole,
  target: { role: WorkspaceRole; email: string | null },
  what: string,
) {
  if (target.role === "owner") {
    throw new AppError(
      "forbidden",
      `Nobody can ${what} the owner; the owner can transfer ownership to someone else`,
      { field: "userId" },
    );
  }
  if (!canManage(role, target.role)) {
    throw new AppError(
      "forbidden",
      `Only the owner can ${what} ${target.role === "admin" ? "an admin" : `a ${target.role}`}`,
      { field: "userId" },
    );
  }
}

/**
 * Takes someone out, and withdraws the invitations they sent that are still
 * open: access they handed out goes with theirs.
 */
async function removeMembership(tx: Tx, clock: Clock, workspaceId: string, userId: string) {
  await tx
    .delete(workspaceMembers)
    .where(and(eq(workspaceMembers.workspaceId, workspaceId), eq(workspaceMembers.userId, userId)));
  await tx
    .update(workspaceInvites)
    .set({ revokedAt: clock.now() })
    .where(
      and(
        eq(workspaceInvites.workspaceId, workspaceId),
        eq(workspaceInvites.invitedBy, userId),
        isNull(workspaceInvites.acceptedAt),
        isNull(workspaceInvites.revokedAt),
      ),
    );
}

/** Takes someone out of the workspace: they lose access at once. */
export const removeMember = defineCommand({
  name: "workspaces.members.remove",
  input: z.object({ workspaceId: z.uuid(), userId: z.uuid() }),
  async run({ tx, actor, clock }, input) {
    await lockWorkspace(tx, input.workspaceId);
    if (input.userId === userOf(actor)) {
      throw new AppError("invalid_request", "To take yourself out, leave the workspace", {
        field: "userId",
      });
    }
    const role = await callerRole(tx, input.workspaceId, actor);
    const target = await memberOf(tx, input.workspaceId, input.userId);
    refuseUnmanageable(role, target, "remove");
    await removeMembership(tx, clock, input.workspaceId, input.userId);

    return {
      result: { userId: input.userId },
      workspaceId: input.workspaceId,
      events: [
        event("workspace/collaborator-removed", {
          workspaceId: input.workspaceId,
          userId: input.userId,
        }),
      ],
      audit: { userId: input.userId, email: target.email, role: target.role },
    };
  },
});

/** The caller leaves the workspace; the owner must transfer ownership first. */
export const leaveWorkspace = defineCommand({
  name: "workspaces.members.leave",
  input: z.object({ workspaceId: z.uuid() }),
  async run({ tx, actor, clock }, input) {
    const workspace = await lockWorkspace(tx, input.workspaceId);
    const userId = userOf(actor);
    const role = await callerRole(tx, input.workspaceId, actor);
    // conflict, not forbidden: the owner may leave once ownership is transferred.
    if (role === "owner") {
      throw new AppError(
        "conflict",
        `You own ${workspace.name}: transfer ownership to another member before leaving`,
      );
    }
    await removeMembership(tx, clock, input.workspaceId, userId);

    return {
      result: { workspaceId: input.workspaceId },
      workspaceId: input.workspaceId,
      events: [event("workspace/collaborator-removed", { workspaceId: input.workspaceId, userId })],
      audit: { role },
    };
  },
});

/** The owner hands the workspace to another member and stays on as admin. */
export const transferOwnership = defineCommand({
  name: "workspaces.members.transferOwnership",
  input: z.object({ workspaceId: z.uuid(), userId: z.uuid() }),
  async run({ tx, actor }, input) {
    await lockWorkspace(tx, input.workspaceId);
    const ownerId = userOf(actor);
    const role = await callerRole(tx, input.workspaceId, actor);
    if (role !== "owner") throw new AppError("forbidden", "Only the owner can transfer ownership");
    if (input.userId === ownerId) {
      throw new AppError("invalid_request", "You already own this workspace", { field: "userId" });
    }
    const target = await memberOf(tx, input.workspaceId, input.userId);
    const scope = eq(workspaceMembers.workspaceId, input.workspaceId);
    await tx
      .update(workspaceMembers)
      .set({ role: "owner" })
      .where(and(scope, eq(workspaceMembers.userId, input.userId)));
    await tx
      .update(workspaceMembers)
      .set({ role: "admin" })
      .where(and(scope, eq(workspaceMembers.userId, ownerId)));

    return {
      result: { ownerUserId: input.userId },
      workspaceId: input.workspaceId,
      audit: {
        from: ownerId,
        to: input.userId,
        toEmail: target.email,
        toPreviousRole: target.role,
      },
    };
  },
});

/** Everyone in the workspace, the owner first, then by role and when they joined. */
export async function listMembers(db: Db, workspaceId: string) {
  return db
    .select({
      userId: workspaceMembers.userId,
      role: workspaceMembers.role,
      joinedAt: workspaceMembers.createdAt,
      name: users.name,
      email: users.email,
    })
    .from(workspaceMembers)
    .innerJoin(users, eq(users.id, workspaceMembers.userId))
    .where(eq(workspaceMembers.workspaceId, workspaceId))
    .orderBy(
      sql`array_position(enum_range(NULL::workspace_role), ${workspaceMembers.role})`,
      asc(workspaceMembers.createdAt),
    );
}

/** Open invitations, expired ones included (they can be resent), newest first. */
export async function listPendingInvites(db: Db, workspaceId: string, now: Date) {
  const rows = await db
    .select({
      id: workspaceInvites.id,
      email: workspaceInvites.email,
      role: workspaceInvites.role,
      expiresAt: workspaceInvites.expiresAt,
      createdAt: workspaceInvites.createdAt,
      invitedBy: users.name,
    })
    .from(workspaceInvites)
    .leftJoin(users, eq(users.id, workspaceInvites.invitedBy))
    .where(
      and(
        eq(workspaceInvites.workspaceId, workspaceId),
        isNull(workspaceInvites.acceptedAt),
        isNull(workspaceInvites.revokedAt),
      ),
    )
    .orderBy(sql`${workspaceInvites.createdAt} DESC`);

  return rows.map((row) => ({ ...row, expired: row.expiresAt <= now }));
}
