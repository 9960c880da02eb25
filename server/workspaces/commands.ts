import { eq } from "drizzle-orm";
import { z } from "zod";

import { creditBalances, workspaceMembers, workspaces } from "@/drizzle/schema";
import { createSubscription, setSubscriptionStatus } from "@/server/billing/subscriptions";
import { defineCommand } from "@/server/commands";
import { takeBalanceLock } from "@/server/credits/ledger";
import type { Tx } from "@/server/db/client";
import { AppError } from "@/server/errors";
import { event } from "@/server/events/catalogue";
import { displayNameSchema } from "@/server/text";

import { announceWorkspaceStatus } from "./api-keys";
import { DEFAULT_TIER_CODE, offeredTier } from "./tiers";

export const slugSchema = z
  .string()
  .trim()
  .toLowerCase()
  .min(3, "Use at least 3 characters")
  .max(48, "Use at most 48 characters")
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, "Use lowercase letters, digits and single hyphens");

export const createWorkspaceInput = z.object({
  name: displayNameSchema({
    empty: "Give the workspace a name",
    max: 80,
    tooLong: "Names are at most 80 characters",
  }),
  slug: slugSchema,
  tierCode: z.string().trim().min(1).max(40).default(DEFAULT_TIER_CODE),
});

/** What the system (the demo seed, admin tooling) may add: an explicit owner. */
export const createWorkspaceAsSystemInput = createWorkspaceInput.extend({
  ownerUserId: z.uuid().optional(),
});

/**
 * Whether a user may pick a tier on their own when creating a workspace.
 *
 * TODO: a paid tier should take a card when the workspace is created (a setup
 * checkout before it exists). Until then users create workspaces on free
 * tiers, save a card on the billing page and upgrade; the system (the demo
 * seed) may create them on paid tiers.
 */
export function selfServe(tier: { monthlyPriceMinor: number }): boolean {
  return tier.monthlyPriceMinor === 0;
}

/**
 * Creates a workspace owned by the calling user. Everything that follows
 * (initial credits, the gateway customer, the welcome email, analytics) is a
 * reaction to workspace/created, not done here.
 */
export const createWorkspace = defineCommand({
  name: "workspaces.create",
  input: createWorkspaceAsSystemInput,
  async run({ tx, actor, clock }, input) {
    const now = clock.now();
    const ownerUserId =
      actor.type === "user"
        ? actor.userId
        : actor.type === "system"
          ? input.ownerUserId
          : undefined;
    if (!ownerUserId)
      throw new AppError("forbidden", "A workspace needs a signed-in user as its owner");
    if (actor.type === "user" && input.ownerUserId && input.ownerUserId !== actor.userId) {
      throw new AppError("forbidden", "You can only create workspaces you own");
    }

    // The version on offer: workspaces made earlier stay on the version they were made on.
    const tier = await offeredTier(tx, input.tierCode);
    if (!tier)
      throw new AppError("invalid_request", `There is no tier "${input.tierCode}" on offer`, {
        field: "tierCode",
      });
    if (actor.type === "user" && !selfServe(tier)) {
      throw new AppError(
        "invalid_request",
        `The ${tier.name} tier is paid: create the workspace on a free tier, save a card on ` +
          `its billing page, then upgrade`,
        { field: "tierCode" },
      );
    }

    const [workspace] = await tx
      .insert(workspaces)
      .values({
        name: input.name,
        slug: input.slug,
        tierId: tier.id,
        createdBy: ownerUserId,
        createdAt: now,
      })
      .onConflictDoNothing({ target: workspaces.slug })
      .returning({ id: workspaces.id, slug: workspaces.slug });
    if (!workspace) {
      throw new AppError("conflict", `The address "${input.slug}" is taken; choose another`, {
        field: "slug",
      });
    }
    await tx
      .insert(workspaceMembers)
      .values({ workspaceId: workspace.id, userId: ownerUserId, role: "owner", createdAt: now });
    await tx
      .insert(creditBalances)
      .values({ workspaceId: workspace.id, balance: 0, updatedAt: now });
    await createSubscription(tx, {
      workspaceId: workspace.id,
      anchorAt: now,
      currency: tier.currency,
    });

    return {
      result: { workspaceId: workspace.id, slug: workspace.slug },
      workspaceId: workspace.id,
      events: [
        event("workspace/created", {
          workspaceId: workspace.id,
          slug: workspace.slug,
          name: input.name,
          tierId: tier.id,
          tierCode: tier.code,
          ownerUserId,
        }),
      ],
    };
  },
});

export const suspendWorkspaceInput = z.object({
  workspaceId: z.uuid(),
  reason: z
    .string()
    .trim()
    .min(3, "Say why, in at least 3 characters: the workspace's members are shown it")
    .max(300, "Keep the reason under 300 characters"),
});

export const reactivateWorkspaceInput = z.object({ workspaceId: z.uuid() });

/**
 * A workspace's status, name and suspension, locked for a status change. Its
 * credit balance is locked first, as every consumption locks it before it
 * reads the status (credits/consume.ts consumptionTerms, group-commit.ts), so
 * a consumption is wholly before or after the change. The workspace row is
 * locked FOR NO KEY UPDATE, which leaves foreign keys that point at it free.
 */
async function lockWorkspace(tx: Tx, workspaceId: string) {
  await takeBalanceLock(tx, workspaceId);
  const [row] = await tx
    .select({
      name: workspaces.name,
      status: workspaces.status,
      suspendedAt: workspaces.suspendedAt,
      suspensionReason: workspaces.suspensionReason,
    })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId))
    .for("no key update");
  if (!row) throw new AppError("not_found", "Workspace not found", { field: "workspaceId" });

  return row;
}

/**
 * Suspends an active workspace: a platform admin's decision (or, later,
 * dunning's). From the commit on, its API keys get 403 workspace_suspended and
 * the portal refuses every change not declared `allowedWhile: ["suspended"]`
 * (buying credits, revoking keys). The notice to its billing members and up
 * is a reaction to workspace/suspended.
 */
export const suspendWorkspace = defineCommand({
  name: "workspaces.suspend",
  input: suspendWorkspaceInput,
  async run({ tx, clock }, input) {
    const workspace = await lockWorkspace(tx, input.workspaceId);
    if (workspace.status !== "active") {
      throw new AppError(
        "conflict",
        workspace.status === "suspended"
          ? `${workspace.name} is already suspended (${workspace.suspensionReason ?? "no reason"})`
          : `${workspace.name} is ${workspace.status}; only an active workspace can be suspended`,
        { details: { status: workspace.status } },
      );
    }
    const suspendedAt = clock.now();
    await tx
      .update(workspaces)
      .set({ status: "suspended", suspendedAt, suspensionReason: input.reason })
      .where(eq(workspaces.id, input.workspaceId));
    await setSubscriptionStatus(tx, input.workspaceId, "suspended", suspendedAt);
    await announceWorkspaceStatus(tx, input.workspaceId);

    return {
      result: { workspaceId: input.workspaceId, status: "suspended" as const, suspendedAt },
      workspaceId: input.workspaceId,
      events: [
        event("workspace/suspended", { workspaceId: input.workspaceId, reason: input.reason }),
      ],
      audit: { from: "active", to: "suspended", reason: input.reason },
    };
  },
});

/** Makes a suspended workspace active again: API keys work and the portal takes changes. */
export const reactivateWorkspace = defineCommand({
  name: "workspaces.reactivate",
  input: reactivateWorkspaceInput,
  async run({ tx, clock }, input) {
    const workspace = await lockWorkspace(tx, input.workspaceId);
    if (workspace.status !== "suspended") {
      throw new AppError(
        "conflict",
        `${workspace.name} is ${workspace.status}; only a suspended workspace can be reactivated`,
        { details: { status: workspace.status } },
      );
    }
    await tx
      .update(workspaces)
      .set({ status: "active", suspendedAt: null, suspensionReason: null })
      .where(eq(workspaces.id, input.workspaceId));
    await setSubscriptionStatus(tx, input.workspaceId, "active", clock.now());
    await announceWorkspaceStatus(tx, input.workspaceId);

    return {
      result: { workspaceId: input.workspaceId, status: "active" as const },
      workspaceId: input.workspaceId,
      events: [event("workspace/reactivated", { workspaceId: input.workspaceId })],
      audit: {
        from: "suspended",
        to: "active",
        suspendedAt: workspace.suspendedAt?.toISOString() ?? null,
        suspensionReason: workspace.suspensionReason,
      },
    };
  },
});

export const renameWorkspaceInput = z.object({
  workspaceId: z.uuid(),
  name: createWorkspaceInput.shape.name,
  slug: slugSchema,
});

/**
 * Changes a workspace's name and address. The old address stops working at
 * once: links to /w/<old slug> show "not found", so nobody else can take it
 * over unnoticed while bookmarks still point there.
 */
export const renameWorkspace = defineCommand({
  name: "workspaces.rename",
  input: renameWorkspaceInput,
  async run({ tx }, input) {
    const [before] = await tx
      .select({ name: workspaces.name, slug: workspaces.slug })
      .from(workspaces)
      .where(eq(workspaces.id, input.workspaceId))
      .for("no key update");
    if (!before) throw new AppError("not_found", "Workspace not found");
    if (input.slug !== before.slug) {
      const [taken] = await tx
        .select({ id: workspaces.id })
        .from(workspaces)
        .where(eq(workspaces.slug, input.slug));
      if (taken) {
        throw new AppError("conflict", `The address "${input.slug}" is taken; choose another`, {
          field: "slug",
        });
      }
    }
    try {
      await tx
        .update(workspaces)
        .set({ name: input.name, slug: input.slug })
        .where(eq(workspaces.id, input.workspaceId));
    } catch (error) {
      // A workspace created with this address after the check above, before this update.
      if (isUniqueViolation(error)) {
        throw new AppError("conflict", `The address "${input.slug}" is taken; choose another`, {
          field: "slug",
        });
      }
      throw error;
    }
    const unchanged = before.name === input.name && before.slug === input.slug;

    return {
      result: { workspaceId: input.workspaceId, name: input.name, slug: input.slug },
      workspaceId: input.workspaceId,
      audit: unchanged ? false : { from: before, to: { name: input.name, slug: input.slug } },
    };
  },
});

function isUniqueViolation(error: unknown): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if ((cause as { code?: unknown }).code === "23505") return true;
  }

  return false;
}
