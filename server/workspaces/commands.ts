import { desc, eq } from "drizzle-orm";
import { z } from "zod";

import { creditBalances, tiers, workspaceMembers, workspaces } from "@/drizzle/schema";
import { defineCommand } from "@/server/commands";
import { AppError } from "@/server/errors";
import { event } from "@/server/events/catalogue";

export const slugSchema = z
  .string()
  .trim()
  .toLowerCase()
  .min(3, "Use at least 3 characters")
  .max(48, "Use at most 48 characters")
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, "Use lowercase letters, digits and single hyphens");

export const createWorkspaceInput = z.object({
  name: z.string().trim().min(1, "Give the workspace a name").max(80, "Names are at most 80 characters"),
  slug: slugSchema,
  tierCode: z.string().trim().min(1).default("free"),
});

/**
 * Creates a workspace owned by the calling user. Everything that follows
 * (initial credits, the gateway customer, the welcome email, analytics) is a
 * reaction to workspace/created, not done here.
 */
export const createWorkspace = defineCommand({
  name: "workspaces.create",
  input: createWorkspaceInput,
  async run({ tx, actor }, input) {
    if (actor.type !== "user") throw new AppError("forbidden", "Only a signed-in user can create a workspace");

    const [tier] = await tx
      .select()
      .from(tiers)
      .where(eq(tiers.code, input.tierCode))
      .orderBy(desc(tiers.version))
      .limit(1);
    if (!tier) throw new AppError("invalid_request", `There is no tier "${input.tierCode}"`, { field: "tierCode" });

    const [workspace] = await tx
      .insert(workspaces)
      .values({ name: input.name, slug: input.slug, tierId: tier.id, createdBy: actor.userId })
      .onConflictDoNothing({ target: workspaces.slug })
      .returning({ id: workspaces.id, slug: workspaces.slug });
    if (!workspace) {
      throw new AppError("conflict", `The address "${input.slug}" is taken; choose another`, { field: "slug" });
    }
    await tx.insert(workspaceMembers).values({ workspaceId: workspace.id, userId: actor.userId, role: "owner" });
    await tx.insert(creditBalances).values({ workspaceId: workspace.id, balance: 0 });

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
          ownerUserId: actor.userId,
        }),
      ],
    };
  },
});
