import { workspaceRole } from "@/drizzle/schema";

export type WorkspaceRole = (typeof workspaceRole.enumValues)[number];

/**
 * Roles from most to least powerful. A procedure that needs `billing`
 * admits billing, admin and owner.
 */
const rank: Record<WorkspaceRole, number> = {
  owner: 40,
  admin: 30,
  billing: 20,
  member: 10,
};

export function roleAtLeast(role: WorkspaceRole, minimum: WorkspaceRole): boolean {
  return rank[role] >= rank[minimum];
}

/** Roles that receive billing notices (low balance, invoices, payment failures). */
export const billingRecipients: readonly WorkspaceRole[] = ["owner", "admin", "billing"];
