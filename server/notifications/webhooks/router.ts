import { z } from "zod";

import { router, runCommand, workspaceProcedure } from "@/server/trpc/init";

import { webhookTypes } from "../types";
import {
  checkEndpointUrl,
  createEndpoint,
  deleteEndpoint,
  endpointDeliveryLog,
  endpointInput,
  endpointSecret,
  listEndpoints,
  sendTestEvent,
  setEndpointEnabled,
  updateEndpoint,
} from "./endpoints";

const endpointRef = z.object({ endpointId: z.uuid() });

/** A workspace's outgoing webhook endpoints, for its admins. */
export const webhooksRouter = router({
  // queries
  endpoints: workspaceProcedure("admin").query(({ ctx }) =>
    listEndpoints(ctx.runtime.db, ctx.workspace.workspaceId),
  ),
  eventTypes: workspaceProcedure("admin").query(() =>
    webhookTypes.map((definition) => ({
      type: definition.type,
      label: definition.label,
      description: definition.description,
    })),
  ),
  secret: workspaceProcedure("admin")
    .input(endpointRef)
    .query(async ({ ctx, input }) => ({
      secret: await endpointSecret(ctx.runtime.db, ctx.workspace.workspaceId, input.endpointId),
    })),
  deliveries: workspaceProcedure("admin")
    .input(endpointRef)
    .query(({ ctx, input }) =>
      endpointDeliveryLog(ctx.runtime.db, ctx.workspace.workspaceId, input.endpointId),
    ),

  // commands
  create: workspaceProcedure("admin", { writes: true })
    .input(endpointInput)
    .mutation(({ ctx, input }) => {
      checkEndpointUrl(input.url, ctx.runtime.env.webhookTargets);
      return runCommand(ctx, createEndpoint, { ...input, workspaceId: ctx.workspace.workspaceId });
    }),
  update: workspaceProcedure("admin", { writes: true })
    .input(endpointInput.extend(endpointRef.shape))
    .mutation(({ ctx, input }) => {
      checkEndpointUrl(input.url, ctx.runtime.env.webhookTargets);
      return runCommand(ctx, updateEndpoint, { ...input, workspaceId: ctx.workspace.workspaceId });
    }),
  setEnabled: workspaceProcedure("admin", { writes: true })
    .input(endpointRef.extend({ enabled: z.boolean() }))
    .mutation(({ ctx, input }) =>
      runCommand(ctx, setEndpointEnabled, { ...input, workspaceId: ctx.workspace.workspaceId }),
    ),
  delete: workspaceProcedure("admin", { writes: true })
    .input(endpointRef)
    .mutation(({ ctx, input }) =>
      runCommand(ctx, deleteEndpoint, { ...input, workspaceId: ctx.workspace.workspaceId }),
    ),
  sendTest: workspaceProcedure("admin", { writes: true })
    .input(endpointRef)
    .mutation(({ ctx, input }) =>
      runCommand(ctx, sendTestEvent, { ...input, workspaceId: ctx.workspace.workspaceId }),
    ),
});
