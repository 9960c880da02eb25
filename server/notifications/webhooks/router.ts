import { z } from "zod";

import { execute } from "@/server/commands";
import { router, workspaceProcedure } from "@/server/trpc/init";

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
  create: workspaceProcedure("admin")
    .input(endpointInput)
    .mutation(({ ctx, input }) => {
      checkEndpointUrl(input.url, ctx.runtime.env.webhookTargets);
      return execute(
        ctx.runtime,
        createEndpoint,
        { ...input, workspaceId: ctx.workspace.workspaceId },
        { actor: ctx.actor, requestId: ctx.requestId, log: ctx.log },
      );
    }),
  update: workspaceProcedure("admin")
    .input(endpointInput.extend(endpointRef.shape))
    .mutation(({ ctx, input }) => {
      checkEndpointUrl(input.url, ctx.runtime.env.webhookTargets);
      return execute(
        ctx.runtime,
        updateEndpoint,
        { ...input, workspaceId: ctx.workspace.workspaceId },
        { actor: ctx.actor, requestId: ctx.requestId, log: ctx.log },
      );
    }),
  setEnabled: workspaceProcedure("admin")
    .input(endpointRef.extend({ enabled: z.boolean() }))
    .mutation(({ ctx, input }) =>
      execute(
        ctx.runtime,
        setEndpointEnabled,
        { ...input, workspaceId: ctx.workspace.workspaceId },
        {
          actor: ctx.actor,
          requestId: ctx.requestId,
          log: ctx.log,
        },
      ),
    ),
  delete: workspaceProcedure("admin")
    .input(endpointRef)
    .mutation(({ ctx, input }) =>
      execute(
        ctx.runtime,
        deleteEndpoint,
        { ...input, workspaceId: ctx.workspace.workspaceId },
        {
          actor: ctx.actor,
          requestId: ctx.requestId,
          log: ctx.log,
        },
      ),
    ),
  sendTest: workspaceProcedure("admin")
    .input(endpointRef)
    .mutation(({ ctx, input }) =>
      execute(
        ctx.runtime,
        sendTestEvent,
        { ...input, workspaceId: ctx.workspace.workspaceId },
        {
          actor: ctx.actor,
          requestId: ctx.requestId,
          log: ctx.log,
        },
      ),
    ),
});
