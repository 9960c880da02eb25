import { z } from "zod";

import { AppError } from "@/server/errors";
import {
  platformAdminProcedure,
  router,
  runCommand,
  signedInProcedure,
  workspaceProcedure,
} from "@/server/trpc/init";

import { API_KEY_SCOPES, createApiKey, listApiKeys, revokeApiKey } from "./api-keys";
import {
  createWorkspace,
  createWorkspaceInput,
  reactivateWorkspace,
  reactivateWorkspaceInput,
  suspendWorkspace,
  suspendWorkspaceInput,
} from "./commands";
import { findWorkspaceBySlug, listWorkspacesForUser, searchWorkspaces } from "./queries";

/** Platform admins: find any workspace, suspend and reactivate it. */
const adminRouter = router({
  // queries
  find: platformAdminProcedure
    .input(z.object({ query: z.string().trim().max(200).default("") }))
    .query(({ ctx, input }) => searchWorkspaces(ctx.runtime.db, input.query)),

  // commands
  suspend: platformAdminProcedure
    .input(suspendWorkspaceInput)
    .mutation(({ ctx, input }) => runCommand(ctx, suspendWorkspace, input)),
  reactivate: platformAdminProcedure
    .input(reactivateWorkspaceInput)
    .mutation(({ ctx, input }) => runCommand(ctx, reactivateWorkspace, input)),
});

export const workspacesRouter = router({
  // queries
  list: signedInProcedure.query(({ ctx }) => listWorkspacesForUser(ctx.runtime.db, ctx.user.id)),
  bySlug: signedInProcedure
    .meta({
      access: {
        kind: "signed_in",
        scope: "a workspace they are a member of; any other slug is `not_found`",
      },
    })
    .input(z.object({ slug: z.string().min(1).max(64) }))
    .query(async ({ ctx, input }) => {
      const workspace = await findWorkspaceBySlug(ctx.runtime.db, ctx.user.id, input.slug);
      if (!workspace) throw new AppError("not_found", "Workspace not found");

      return workspace;
    }),
  apiKeys: workspaceProcedure("admin").query(({ ctx }) =>
    listApiKeys(ctx.runtime.db, ctx.workspace.workspaceId),
  ),

  // commands
  create: signedInProcedure
    .input(createWorkspaceInput)
    .mutation(({ ctx, input }) => runCommand(ctx, createWorkspace, input)),
  createApiKey: workspaceProcedure("admin", { writes: true })
    .input(z.object({ name: z.string(), scopes: z.array(z.enum(API_KEY_SCOPES)).optional() }))
    .mutation(({ ctx, input }) => runCommand(ctx, createApiKey, input)),
  /** Taking access away is always possible, in a read-only workspace too. */
  revokeApiKey: workspaceProcedure("admin", {
    writes: true,
    allowedWhile: ["suspended", "cancelled"],
  })
    .input(z.object({ apiKeyId: z.uuid() }))
    .mutation(({ ctx, input }) => runCommand(ctx, revokeApiKey, input)),

  admin: adminRouter,
});
