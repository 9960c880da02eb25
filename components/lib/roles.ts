/**
 * Owners and admins manage a workspace's keys, webhooks and notification
 * history. The procedures decide access (server/auth/roles.ts); pages only
 * use this to hide what would be refused.
 */
export function isWorkspaceAdmin(role: string): boolean {
  return role === "owner" || role === "admin";
}

/** Billing members, admins and owners buy credits, manage auto top-up and ask for refunds. */
export function canManageBilling(role: string): boolean {
  return role === "owner" || role === "admin" || role === "billing";
}
