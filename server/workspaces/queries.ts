import { and, asc, eq, ilike, or, sql } from "drizzle-orm";

import { billingCustomers, tiers, users, workspaceMembers, workspaces } from "@/drizzle/schema";
import { readOnlyNotice, type WorkspaceStatus } from "@/server/auth/access";
import type { WorkspaceRole } from "@/server/auth/roles";
import type { Db } from "@/server/db/client";

export interface Membership {
  workspaceId: string;
  slug: string;
  name: string;
  status: WorkspaceStatus;
  suspensionReason: string | null;
  role: WorkspaceRole;
}

const membershipColumns = {
  workspaceId: workspaces.id,
  slug: workspaces.slug,
  name: workspaces.name,
  status: workspaces.status,
  suspensionReason: workspaces.suspensionReason,
  role: workspaceMembers.role,
};

export async function findMembership(
  db: Db,
  userId: string,
  workspaceId: string,
): Promise<Membership | undefined> {
  const [row] = await db
    .select(membershipColumns)
    .from(workspaceMembers)
    .innerJoin(workspaces, eq(workspaces.id, workspaceMembers.workspaceId))
    .where(and(eq(workspaceMembers.userId, userId), eq(workspaceMembers.workspaceId, workspaceId)));

  return row;
}

export async function listWorkspacesForUser(db: Db, userId: string) {
  return db
    .select({ ...membershipColumns, tierName: tiers.name })
    .from(workspaceMembers)
    .innerJoin(workspaces, eq(workspaces.id, workspaceMembers.workspaceId))
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .where(eq(workspaceMembers.userId, userId))
    .orderBy(asc(workspaces.name));
}

/**
 * The workspace behind a slug, if the user is a member; undefined otherwise (no hint that it
 * exists). `readOnly` says why a suspended or cancelled workspace refuses changes and what to do,
 * in the words the procedures refuse with.
 */
export async function findWorkspaceBySlug(db: Db, userId: string, slug: string) {
  const [row] = await db
    .select({
      ...membershipColumns,
      suspendedAt: workspaces.suspendedAt,
      createdAt: workspaces.createdAt,
      tier: {
        id: tiers.id,
        code: tiers.code,
        name: tiers.name,
        monthlyCredits: tiers.monthlyCredits,
        signupBonusCredits: tiers.signupBonusCredits,
        lowBalanceThreshold: tiers.lowBalanceThreshold,
        priceTable: tiers.priceTable,
        features: tiers.features,
      },
      gatewayCustomerId: billingCustomers.customerId,
    })
    .from(workspaceMembers)
    .innerJoin(workspaces, eq(workspaces.id, workspaceMembers.workspaceId))
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .leftJoin(billingCustomers, eq(billingCustomers.workspaceId, workspaces.id))
    .where(and(eq(workspaceMembers.userId, userId), eq(workspaces.slug, slug)));

  return row && { ...row, readOnly: readOnlyNotice(row) };
}

/**
 * Platform admins: workspaces whose name, address or a member's email contains
 * `query` (every workspace when it is empty), first 20 by name, with their
 * owner, tier, status and balance.
 */
export async function searchWorkspaces(db: Db, query: string) {
  const pattern = `%${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

  return db
    .select({
      id: workspaces.id,
      name: workspaces.name,
      slug: workspaces.slug,
      status: workspaces.status,
      suspendedAt: workspaces.suspendedAt,
      suspensionReason: workspaces.suspensionReason,
      tierName: tiers.name,
      balance: sql<number>`(SELECT balance FROM credit_balances b
        WHERE b.workspace_id = ${workspaces.id})`,
      ownerEmail: sql<string | null>`(SELECT u.email FROM ${workspaceMembers} m
        JOIN ${users} u ON u.id = m.user_id
        WHERE m.workspace_id = ${workspaces.id} AND m.role = 'owner'
        ORDER BY m.created_at LIMIT 1)`,
    })
    .from(workspaces)
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .where(
      query === ""
        ? undefined
        : or(
            ilike(workspaces.name, pattern),
            ilike(workspaces.slug, pattern),
            sql`EXISTS (SELECT 1 FROM ${workspaceMembers} m JOIN ${users} u ON u.id = m.user_id
              WHERE m.workspace_id = ${workspaces.id} AND u.email ILIKE ${pattern})`,
          ),
    )
    .orderBy(workspaces.name)
    .limit(20);
}
