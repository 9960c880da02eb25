import { z } from "zod";

import { auditTrail, auditTrailInput } from "@/server/audit/queries";
import { AppError } from "@/server/errors";
import {
  platformAdminProcedure,
  publicProcedure,
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
import {
  adminWorkspaceListInput,
  listWorkspacesForAdmin,
  workspaceDetailForAdmin,
} from "./admin-queries";
import {
  cancelScheduledTierChange,
  cancelWorkspace,
  cancelWorkspaceInput,
  changeTier,
  changeTierInput,
  deleteWorkspace,
  deleteWorkspaceInput,
  withdrawCancellation,
  workspacePlans,
} from "./lifecycle";
import { findWorkspaceBySlug, listTiers, listWorkspacesForUser, workspaceDetails } from "./queries";

/** Platform admins: list, search and inspect any workspace; suspend and reactivate it. */
const adminRouter = router({
  // queries
  find: platformAdminProcedure
    .input(adminWorkspaceListInput)
    .query(({ ctx, input }) => listWorkspacesForAdmin(ctx.runtime.db, input)),
  detail: platformAdminProcedure
    .input(z.object({ workspaceId: z.uuid() }))
    .query(({ ctx, input }) => workspaceDetailForAdmin(ctx.runtime.db, input.workspaceId)),
  audit: platformAdminProcedure
    .input(auditTrailInput)
    .query(({ ctx, input }) => auditTrail(ctx.runtime.db, input)),

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
  details: workspaceProcedure("viewer").query(({ ctx }) =>
    workspaceDetails(ctx.runtime.db, ctx.workspace),
  ),
  tiers: publicProcedure.query(({ ctx }) => listTiers(ctx.runtime.db)),
  apiKeys: workspaceProcedure("admin").query(({ ctx }) =>
    listApiKeys(ctx.runtime.db, ctx.workspace.workspaceId),
  ),
  /** Offered tiers with what blocks a move and its proration preview; cancellation; adjustments. */
  plans: workspaceProcedure("viewer").query(({ ctx }) =>
    workspacePlans(ctx.runtime.db, ctx.workspace.workspaceId, ctx.runtime.clock.now()),
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

  // lifecycle commands: billing members and up change the tier, owners cancel and delete
  changeTier: workspaceProcedure("billing", { writes: true })
    .input(changeTierInput)
    .mutation(({ ctx, input }) => runCommand(ctx, changeTier, input)),
  cancelScheduledTierChange: workspaceProcedure("billing", { writes: true }).mutation(
    ({ ctx, input }) => runCommand(ctx, cancelScheduledTierChange, input),
  ),
  /** A workspace in dunning (suspended) may be cancelled, which ends the collection. */
  cancel: workspaceProcedure("owner", { writes: true, allowedWhile: ["suspended"] })
    .input(cancelWorkspaceInput)
    .mutation(({ ctx, input }) => runCommand(ctx, cancelWorkspace, input)),
  withdrawCancellation: workspaceProcedure("owner", { writes: true }).mutation(({ ctx, input }) =>
    runCommand(ctx, withdrawCancellation, input),
  ),
  delete: workspaceProcedure("owner", { writes: true, allowedWhile: ["cancelled"] })
    .input(deleteWorkspaceInput)
    .mutation(({ ctx, input }) => runCommand(ctx, deleteWorkspace, input)),

  admin: adminRouter,
});
