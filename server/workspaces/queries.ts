import { and, asc, eq, ne, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";

import { billingCustomers, tiers, workspaceMembers, workspaces } from "@/drizzle/schema";
import { readOnlyNotice, type WorkspaceStatus } from "@/server/auth/access";
import type { WorkspaceRole } from "@/server/auth/roles";
import type { Db } from "@/server/db/client";
import { AppError } from "@/server/errors";

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

/** The user's workspaces (deleted ones are gone) with their role, tier and status, by name. */
export async function listWorkspacesForUser(db: Db, userId: string) {
  return db
    .select({
      ...membershipColumns,
      tierName: tiers.name,
      tierCode: tiers.code,
      tierVersion: tiers.version,
      cancelAt: workspaces.cancelAt,
    })
    .from(workspaceMembers)
    .innerJoin(workspaces, eq(workspaces.id, workspaceMembers.workspaceId))
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .where(and(eq(workspaceMembers.userId, userId), ne(workspaces.status, "deleted")))
    .orderBy(asc(workspaces.name));
}

const scheduledTiers = alias(tiers, "scheduled_tiers");

/**
 * What a member sees about one workspace: its tier, status, the notices that
 * apply (read-only, a cancellation or tier change waiting for the period's
 * end), their role and the seats in use. `membership` comes from the
 * workspace procedure, which has checked access.
 */
export async function workspaceDetails(db: Db, membership: Membership) {
  const [row] = await db
    .select({
      createdAt: workspaces.createdAt,
      cancelAt: workspaces.cancelAt,
      scheduledTierAt: workspaces.scheduledTierAt,
      scheduledTierName: scheduledTiers.name,
      tier: {
        code: tiers.code,
        name: tiers.name,
        version: tiers.version,
        currency: tiers.currency,
        monthlyPriceMinor: tiers.monthlyPriceMinor,
        monthlyCredits: tiers.monthlyCredits,
        includedSeats: tiers.includedSeats,
        seatPriceMinor: tiers.seatPriceMinor,
        maxSeats: tiers.maxSeats,
        features: tiers.features,
      },
      seatsInUse: sql<number>`(SELECT count(*)::int FROM ${workspaceMembers} m
        WHERE m.workspace_id = ${workspaces.id})`,
    })
    .from(workspaces)
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .leftJoin(scheduledTiers, eq(scheduledTiers.id, workspaces.scheduledTierId))
    .where(eq(workspaces.id, membership.workspaceId));
  if (!row) throw new AppError("not_found", "Workspace not found");

  return {
    workspaceId: membership.workspaceId,
    name: membership.name,
    slug: membership.slug,
    status: membership.status,
    role: membership.role,
    createdAt: row.createdAt,
    tier: row.tier,
    seatsInUse: row.seatsInUse,
    notices: {
      readOnly: readOnlyNotice(membership),
      cancelAt: row.cancelAt,
      scheduledTier:
        row.scheduledTierName && row.scheduledTierAt
          ? { name: row.scheduledTierName, at: row.scheduledTierAt }
          : null,
    },
  };
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
      // The lifecycle's banners: a cancellation at the period's end, a downgrade waiting for it.
      cancelAt: workspaces.cancelAt,
      cancelledAt: workspaces.cancelledAt,
      purgeAfter: workspaces.purgeAfter,
      scheduledTierAt: workspaces.scheduledTierAt,
      scheduledTierName: sql<string | null>`(SELECT t.name FROM ${tiers} t
        WHERE t.id = ${workspaces.scheduledTierId})`,
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
