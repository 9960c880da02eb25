import { z } from "zod";

import { AppError } from "@/server/errors";
import {
  publicProcedure,
  router,
  runCommand,
  signedInProcedure,
  workspaceProcedure,
} from "@/server/trpc/init";

import { API_KEY_SCOPES, createApiKey, listApiKeys, revokeApiKey } from "./api-keys";
import { createWorkspace, createWorkspaceInput } from "./commands";
import { findWorkspaceBySlug, listTiers, listWorkspacesForUser } from "./queries";

export const workspacesRouter = router({
  // queries
  list: signedInProcedure.query(({ ctx }) => listWorkspacesForUser(ctx.runtime.db, ctx.user.id)),
  bySlug: signedInProcedure
    .input(z.object({ slug: z.string().min(1).max(64) }))
    .query(async ({ ctx, input }) => {
      const workspace = await findWorkspaceBySlug(ctx.runtime.db, ctx.user.id, input.slug);
      if (!workspace) throw new AppError("not_found", "Workspace not found");

      return workspace;
    }),
  tiers: publicProcedure.query(({ ctx }) => listTiers(ctx.runtime.db)),
  apiKeys: workspaceProcedure("admin").query(({ ctx }) =>
    listApiKeys(ctx.runtime.db, ctx.workspace.workspaceId),
  ),

  // commands
  create: signedInProcedure
    .input(createWorkspaceInput)
    .mutation(({ ctx, input }) => runCommand(ctx, createWorkspace, input)),
  createApiKey: workspaceProcedure("admin")
    .input(z.object({ name: z.string(), scopes: z.array(z.enum(API_KEY_SCOPES)).optional() }))
    .mutation(({ ctx, input }) => runCommand(ctx, createApiKey, input)),
  revokeApiKey: workspaceProcedure("admin")
    .input(z.object({ apiKeyId: z.uuid() }))
    .mutation(({ ctx, input }) => runCommand(ctx, revokeApiKey, input)),
});
