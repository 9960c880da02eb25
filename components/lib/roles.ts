import { roleAtLeast, type WorkspaceRole } from "@/server/auth/roles";

/**
 * What pages offer each role. The procedures decide access (server/trpc/init.ts); pages use the
 * same ranking only to hide or disable what would be refused.
 */

/** Owners and admins manage a workspace's keys, webhooks and notification history. */
export function isWorkspaceAdmin(role: WorkspaceRole): boolean {
  return roleAtLeast(role, "admin");
}

/** Billing members, admins and owners buy credits, manage auto top-up and ask for refunds. */
export function canManageBilling(role: WorkspaceRole): boolean {
  return roleAtLeast(role, "billing");
}

/** Members and up run features from the portal; viewers only look. */
export function canConsume(role: WorkspaceRole): boolean {
  return roleAtLeast(role, "member");
}
