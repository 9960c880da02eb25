import type { workspaceRole } from "@/drizzle/schema";

export type WorkspaceRole = (typeof workspaceRole.enumValues)[number];

/**
 * Roles from most to least powerful. A procedure that needs `billing`
 * admits billing, admin and owner; a viewer only reads.
 */
const rank: Record<WorkspaceRole, number> = {
  owner: 40,
  admin: 30,
  billing: 20,
  member: 10,
  viewer: 0,
};

/** Every role, the most powerful first. */
export const workspaceRoles = (Object.keys(rank) as WorkspaceRole[]).sort(
  (a, b) => rank[b] - rank[a],
);

export function roleAtLeast(role: WorkspaceRole, minimum: WorkspaceRole): boolean {
  return rank[role] >= rank[minimum];
}

/** The roles that meet `minimum`, the most powerful first. */
export function rolesAtLeast(minimum: WorkspaceRole): WorkspaceRole[] {
  return workspaceRoles.filter((role) => roleAtLeast(role, minimum));
}

/** Roles that receive billing notices (low balance, invoices, payment failures). */
export const billingRecipients: readonly WorkspaceRole[] = rolesAtLeast("billing");

/**
 * Between two people in a workspace: you may give a role up to your own,
 * never owner (ownership moves only by transfer), and change or remove only
 * someone ranked below you, so only the owner manages admins. The commands in
 * server/workspaces/members.ts enforce it; pages use it to offer only what
 * would be allowed.
 */
export function canGrant(actorRole: WorkspaceRole, role: WorkspaceRole): boolean {
  return role !== "owner" && roleAtLeast(actorRole, role);
}

/** Whether someone with `actorRole` may change or remove a member whose role is `targetRole`. */
export function canManage(actorRole: WorkspaceRole, targetRole: WorkspaceRole): boolean {
  return actorRole !== targetRole && roleAtLeast(actorRole, targetRole);
}
