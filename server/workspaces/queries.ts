import { and, asc, eq } from "drizzle-orm";

import { billingCustomers, tiers, workspaceMembers, workspaces } from "@/drizzle/schema";
import type { WorkspaceRole } from "@/server/auth/roles";
import type { Db } from "@/server/db/client";

import { selfServe } from "./commands";

export interface Membership {
  workspaceId: string;
  slug: string;
  name: string;
  status: "active" | "suspended" | "cancelled";
  role: WorkspaceRole;
}

const membershipColumns = {
  workspaceId: workspaces.id,
  slug: workspaces.slug,
  name: workspaces.name,
  status: workspaces.status,
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
 * exists).
 */
export async function findWorkspaceBySlug(db: Db, userId: string, slug: string) {
  const [row] = await db
    .select({
      ...membershipColumns,
      createdAt: workspaces.createdAt,
      tier: {
        id: tiers.id,
        code: tiers.code,
        name: tiers.name,
        monthlyCredits: tiers.monthlyCredits,
        signupBonusCredits: tiers.signupBonusCredits,
        lowBalanceThreshold: tiers.lowBalanceThreshold,
        priceTable: tiers.priceTable,
      },
      gatewayCustomerId: billingCustomers.customerId,
    })
    .from(workspaceMembers)
    .innerJoin(workspaces, eq(workspaces.id, workspaceMembers.workspaceId))
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .leftJoin(billingCustomers, eq(billingCustomers.workspaceId, workspaces.id))
    .where(and(eq(workspaceMembers.userId, userId), eq(workspaces.slug, slug)));

  return row;
}

export async function listTiers(db: Db) {
  const rows = await db
    .select({
      code: tiers.code,
      name: tiers.name,
      version: tiers.version,
      currency: tiers.currency,
      monthlyPriceMinor: tiers.monthlyPriceMinor,
      monthlyCredits: tiers.monthlyCredits,
      signupBonusCredits: tiers.signupBonusCredits,
    })
    .from(tiers)
    .orderBy(asc(tiers.monthlyPriceMinor), asc(tiers.code));

  return rows.map((tier) => ({ ...tier, selfServe: selfServe(tier) }));
}
