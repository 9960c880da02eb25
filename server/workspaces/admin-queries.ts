import { and, asc, desc, eq, ilike, inArray, or, sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { z } from "zod";

import {
  outbox,
  tiers,
  users,
  workspaceMembers,
  workspaceStatus,
  workspaces,
} from "@/drizzle/schema";
import { invoicesOfWorkspace } from "@/server/billing/admin";
import { balanceSummary } from "@/server/credits/queries";
import type { Db } from "@/server/db/client";
import { AppError } from "@/server/errors";

/**
 * What platform admins read about workspaces: the searchable, paginated list
 * (`workspaces.admin.find`) and everything about one workspace on one page
 * (`workspaces.admin.detail`). Queries only; the commands are in commands.ts.
 */

export const ADMIN_PAGE_SIZES = [10, 25, 50, 100] as const;

/** An ILIKE pattern matching `text` anywhere, its own % and _ taken literally. */
export function containing(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The page and page size of an admin list: every admin list pages the same way. */
export const adminPagingInput = {
  page: z.number().int().min(1).max(100_000).default(1),
  pageSize: z
    .number()
    .int()
    .refine((size) => (ADMIN_PAGE_SIZES as readonly number[]).includes(size), {
      message: `Choose a page size of ${ADMIN_PAGE_SIZES.join(", ")}`,
    })
    .default(25),
};
export const adminSortKeys = ["name", "created", "balance", "seats", "mrr"] as const;

export const adminWorkspaceListInput = z.object({
  /** Part of a name, address or member's email, or a whole workspace id; empty lists all. */
  query: z.string().trim().max(200).default(""),
  statuses: z.array(z.enum(workspaceStatus.enumValues)).max(4).default([]),
  tierCode: z.string().trim().max(40).default(""),
  sort: z.enum(adminSortKeys).default("name"),
  direction: z.enum(["asc", "desc"]).default("asc"),
  ...adminPagingInput,
});
export type AdminWorkspaceListInput = z.input<typeof adminWorkspaceListInput>;

const seatsInUse = sql<number>`(SELECT count(*)::int FROM ${workspaceMembers} m
  WHERE m.workspace_id = ${workspaces.id})`;

/**
 * Monthly recurring revenue of one workspace, in its tier's currency and
 * integer minor units: the tier's monthly price plus every seat beyond the
 * included ones at the seat price. A suspended workspace still counts (it
 * owes the money); a cancelled or deleted one counts 0.
 */
const mrrMinor = sql<number>`(CASE WHEN ${workspaces.status} IN ('cancelled', 'deleted') THEN 0
  ELSE ${tiers.monthlyPriceMinor}
    + greatest(0, ${seatsInUse} - ${tiers.includedSeats}) * ${tiers.seatPriceMinor}
  END)::int`;

const balance = sql<number>`coalesce((SELECT b.balance FROM credit_balances b
  WHERE b.workspace_id = ${workspaces.id}), 0)::int`;

const ownerEmail = sql<string | null>`(SELECT u.email FROM ${workspaceMembers} m
  JOIN ${users} u ON u.id = m.user_id
  WHERE m.workspace_id = ${workspaces.id} AND m.role = 'owner'
  ORDER BY m.created_at LIMIT 1)`;

const sortColumns = {
  name: sql`lower(${workspaces.name})`,
  created: sql`${workspaces.createdAt}`,
  balance,
  seats: seatsInUse,
  mrr: mrrMinor,
} satisfies Record<(typeof adminSortKeys)[number], SQL>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function listFilter(input: z.output<typeof adminWorkspaceListInput>): SQL | undefined {
  const conditions: (SQL | undefined)[] = [];
  if (input.query !== "") {
    const pattern = containing(input.query);
    conditions.push(
      or(
        UUID.test(input.query) ? eq(workspaces.id, input.query.toLowerCase()) : undefined,
        ilike(workspaces.name, pattern),
        ilike(workspaces.slug, pattern),
        sql`EXISTS (SELECT 1 FROM ${workspaceMembers} m JOIN ${users} u ON u.id = m.user_id
          WHERE m.workspace_id = ${workspaces.id} AND u.email ILIKE ${pattern})`,
      ),
    );
  }
  if (input.statuses.length > 0) conditions.push(inArray(workspaces.status, input.statuses));
  if (input.tierCode !== "") conditions.push(eq(tiers.code, input.tierCode));

  return and(...conditions);
}

const scheduledTiers = alias(tiers, "scheduled_tiers");

/**
 * Platform admins: one page of workspaces matching a search and filters, in
 * the chosen order (ties by id, so pages never overlap), with the number of
 * matches and the MRR of all matches per currency.
 */
export async function listWorkspacesForAdmin(db: Db, rawInput: AdminWorkspaceListInput) {
  const input = adminWorkspaceListInput.parse(rawInput);
  const where = listFilter(input);
  const order = input.direction === "asc" ? asc : desc;

  const [rows, totals] = await Promise.all([
    db
      .select({
        id: workspaces.id,
        name: workspaces.name,
        slug: workspaces.slug,
        status: workspaces.status,
        createdAt: workspaces.createdAt,
        suspendedAt: workspaces.suspendedAt,
        suspensionReason: workspaces.suspensionReason,
        cancelAt: workspaces.cancelAt,
        scheduledTierAt: workspaces.scheduledTierAt,
        scheduledTierName: scheduledTiers.name,
        tierCode: tiers.code,
        tierName: tiers.name,
        tierVersion: tiers.version,
        currency: tiers.currency,
        ownerEmail,
        balance,
        seats: seatsInUse,
        mrrMinor,
      })
      .from(workspaces)
      .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
      .leftJoin(scheduledTiers, eq(scheduledTiers.id, workspaces.scheduledTierId))
      .where(where)
      .orderBy(order(sortColumns[input.sort]), order(workspaces.id))
      .limit(input.pageSize)
      .offset((input.page - 1) * input.pageSize),
    db
      .select({
        currency: tiers.currency,
        mrrMinor: sql<number>`coalesce(sum(${mrrMinor}), 0)::bigint`.mapWith(Number),
        workspaces: sql<number>`count(*)::int`,
      })
      .from(workspaces)
      .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
      .where(where)
      .groupBy(tiers.currency)
      .orderBy(tiers.currency),
  ]);
  const total = totals.reduce((sum, row) => sum + row.workspaces, 0);

  return {
    rows,
    total,
    page: input.page,
    pageSize: input.pageSize,
    pages: Math.max(1, Math.ceil(total / input.pageSize)),
    mrrByCurrency: totals.map(({ currency, mrrMinor }) => ({ currency, mrrMinor })),
  };
}

/** How many recent outbox events the detail page shows. */
const RECENT_EVENTS = 25;

/**
 * Platform admins: everything about one workspace, deleted ones included:
 * its tier (and a scheduled change), members, seats and MRR, balance with its
 * live grants summed by source, its latest invoices and its latest events
 * from the outbox. The
 * audit trail is paginated apart (server/audit/queries.ts).
 */
export async function workspaceDetailForAdmin(db: Db, workspaceId: string) {
  const [workspace] = await db
    .select({
      id: workspaces.id,
      name: workspaces.name,
      slug: workspaces.slug,
      status: workspaces.status,
      createdAt: workspaces.createdAt,
      suspendedAt: workspaces.suspendedAt,
      suspensionReason: workspaces.suspensionReason,
      cancelAt: workspaces.cancelAt,
      cancelledAt: workspaces.cancelledAt,
      cancellationReason: workspaces.cancellationReason,
      purgeAfter: workspaces.purgeAfter,
      deletedAt: workspaces.deletedAt,
      scheduledTierAt: workspaces.scheduledTierAt,
      scheduledTier: {
        code: scheduledTiers.code,
        name: scheduledTiers.name,
        version: scheduledTiers.version,
      },
      tier: {
        id: tiers.id,
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
        overagePolicy: tiers.overagePolicy,
        archivedAt: tiers.archivedAt,
      },
      seats: seatsInUse,
      mrrMinor,
    })
    .from(workspaces)
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .leftJoin(scheduledTiers, eq(scheduledTiers.id, workspaces.scheduledTierId))
    .where(eq(workspaces.id, workspaceId));
  if (!workspace) throw new AppError("not_found", "Workspace not found", { field: "workspaceId" });

  const [members, credits, events, invoiceRows] = await Promise.all([
    db
      .select({
        userId: users.id,
        email: users.email,
        name: users.name,
        role: workspaceMembers.role,
        joinedAt: workspaceMembers.createdAt,
      })
      .from(workspaceMembers)
      .innerJoin(users, eq(users.id, workspaceMembers.userId))
      .where(eq(workspaceMembers.workspaceId, workspaceId))
      .orderBy(
        sql`array_position(enum_range(NULL::workspace_role), ${workspaceMembers.role})`,
        asc(workspaceMembers.createdAt),
      ),
    balanceSummary(db, workspaceId),
    db
      .select({
        id: outbox.id,
        name: outbox.name,
        streamSeq: outbox.streamSeq,
        occurredAt: outbox.occurredAt,
        publishedAt: outbox.publishedAt,
        attempts: outbox.attempts,
        lastError: outbox.lastError,
      })
      .from(outbox)
      .where(eq(outbox.workspaceId, workspaceId))
      .orderBy(desc(outbox.seq))
      .limit(RECENT_EVENTS),
    invoicesOfWorkspace(db, workspaceId),
  ]);

  const bySource = new Map<string, { source: string; grants: number; remaining: number }>();
  for (const grant of credits.grants) {
    const entry = bySource.get(grant.source) ?? { source: grant.source, grants: 0, remaining: 0 };
    entry.grants += 1;
    entry.remaining += grant.remaining;
    bySource.set(grant.source, entry);
  }
  const { scheduledTier, ...rest } = workspace;

  return {
    ...rest,
    scheduledTier: scheduledTier?.code ? scheduledTier : null,
    owner: members.find((member) => member.role === "owner") ?? null,
    members,
    balance: {
      balance: credits.balance,
      held: credits.held,
      threshold: credits.threshold,
      belowThreshold: credits.belowThreshold,
      grantsBySource: [...bySource.values()],
      nextExpiry:
        credits.grants
          .map((grant) => grant.expiresAt)
          .filter((at): at is Date => at !== null)
          .sort((a, b) => a.getTime() - b.getTime())[0] ?? null,
    },
    invoices: invoiceRows,
    recentEvents: events,
  };
}
