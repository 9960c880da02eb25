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
  renameWorkspace,
  renameWorkspaceInput,
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
import {
  acceptInvite,
  changeMemberRole,
  changeRoleInput,
  inviteCollaborator,
  inviteInput,
  inviteTokenSchema,
  leaveWorkspace,
  listMembers,
  listPendingInvites,
  previewInvite,
  removeMember,
  revokeInvite,
  transferOwnership,
} from "./members";
import { findWorkspaceBySlug, listWorkspacesForUser, workspaceDetails } from "./queries";

/**
 * Collaborators. The builders admit callers by role; the rules between two
 * people (whom an admin may change, which roles they may give) are in the
 * commands, server/workspaces/members.ts. Taking access away (remove, leave,
 * withdrawing an invitation) works in a read-only workspace too.
 */
const membersRouter = router({
  // queries
  list: workspaceProcedure("viewer").query(async ({ ctx }) =>
    (await listMembers(ctx.runtime.db, ctx.workspace.workspaceId)).map((member) => ({
      ...member,
      isMe: member.userId === ctx.user.id,
    })),
  ),
  invites: workspaceProcedure("admin").query(({ ctx }) =>
    listPendingInvites(ctx.runtime.db, ctx.workspace.workspaceId, ctx.runtime.clock.now()),
  ),
  /** The invitation page: whoever holds the link sees what it is for. */
  preview: publicProcedure
    .input(z.object({ token: inviteTokenSchema }))
    .query(({ ctx, input }) => previewInvite(ctx.runtime.db, input.token, ctx.runtime.clock.now())),

  // commands
  invite: workspaceProcedure("admin", { writes: true })
    .input(inviteInput.omit({ workspaceId: true }))
    .mutation(({ ctx, input }) =>
      runCommand(ctx, inviteCollaborator, { ...input, workspaceId: ctx.workspace.workspaceId }),
    ),
  revokeInvite: workspaceProcedure("admin", {
    writes: true,
    allowedWhile: ["suspended", "cancelled"],
  })
    .input(z.object({ inviteId: z.uuid() }))
    .mutation(({ ctx, input }) => runCommand(ctx, revokeInvite, input)),
  accept: signedInProcedure
    .meta({
      access: {
        kind: "signed_in",
        scope: "the invited address, holding the emailed link",
      },
    })
    .input(z.object({ token: inviteTokenSchema }))
    .mutation(({ ctx, input }) => runCommand(ctx, acceptInvite, input)),
  changeRole: workspaceProcedure("admin", { writes: true })
    .input(changeRoleInput.omit({ workspaceId: true }))
    .mutation(({ ctx, input }) =>
      runCommand(ctx, changeMemberRole, { ...input, workspaceId: ctx.workspace.workspaceId }),
    ),
  remove: workspaceProcedure("admin", { writes: true, allowedWhile: ["suspended", "cancelled"] })
    .input(z.object({ userId: z.uuid() }))
    .mutation(({ ctx, input }) => runCommand(ctx, removeMember, input)),
  leave: workspaceProcedure("viewer", {
    writes: true,
    allowedWhile: ["suspended", "cancelled"],
  }).mutation(({ ctx }) =>
    runCommand(ctx, leaveWorkspace, { workspaceId: ctx.workspace.workspaceId }),
  ),
  transferOwnership: workspaceProcedure("owner", { writes: true })
    .input(z.object({ userId: z.uuid() }))
    .mutation(({ ctx, input }) => runCommand(ctx, transferOwnership, input)),
});

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
  rename: workspaceProcedure("admin", { writes: true })
    .input(renameWorkspaceInput)
    .mutation(({ ctx, input }) => runCommand(ctx, renameWorkspace, input)),
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

  members: membersRouter,
  admin: adminRouter,
});
