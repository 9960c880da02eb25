import { z } from "zod";

import {
  platformAdminProcedure,
  router,
  runCommand,
  signedInProcedure,
  workspaceProcedure,
} from "@/server/trpc/init";

import { autoTopUpInput, autoTopUpSettings, setAutoTopUp } from "./auto-top-up";
import {
  archivePack,
  createPack,
  createPackInput,
  listActivePacks,
  listAllPacks,
  updatePack,
  updatePackInput,
} from "./packs";
import { buyPack, getPurchase, listPurchases } from "./purchases";
import { requestRefund, requestRefundInput } from "./refunds";

/**
 * Buying credits: packs, purchases and refunds, auto top-up. Merged into the
 * `credits` namespace (server/trpc/router.ts), beside the ledger's
 * procedures. Money is seen and moved by billing members and up.
 */
export const purchasesRouter = router({
  packs: router({
    // queries
    /** Packs on offer. */
    list: signedInProcedure.query(({ ctx }) => listActivePacks(ctx.runtime.db)),
    /** Every pack, archived included: the admin's pack editor. */
    all: platformAdminProcedure.query(({ ctx }) => listAllPacks(ctx.runtime.db)),

    // commands (platform admins)
    create: platformAdminProcedure
      .input(createPackInput)
      .mutation(({ ctx, input }) => runCommand(ctx, createPack, input)),
    update: platformAdminProcedure
      .input(updatePackInput)
      .mutation(({ ctx, input }) => runCommand(ctx, updatePack, input)),
    archive: platformAdminProcedure
      .input(z.object({ packId: z.uuid(), archived: z.boolean().default(true) }))
      .mutation(({ ctx, input }) => runCommand(ctx, archivePack, input)),
  }),

  purchases: router({
    // queries
    /** The workspace's purchases, newest first, with what each can still refund. */
    list: workspaceProcedure("billing").query(({ ctx }) =>
      listPurchases(ctx.runtime.db, ctx.workspace.workspaceId),
    ),
    get: workspaceProcedure("billing")
      .input(z.object({ purchaseId: z.uuid() }))
      .query(({ ctx, input }) =>
        getPurchase(ctx.runtime.db, ctx.workspace.workspaceId, input.purchaseId),
      ),

    // commands
    /**
     * A pending purchase and the checkout page to pay it on. A suspended workspace may still buy
     * credits, ready for when it is reactivated.
     */
    start: workspaceProcedure("billing", { writes: true, allowedWhile: ["suspended"] })
      .input(z.object({ packId: z.uuid({ error: "Choose a credit pack" }) }))
      .mutation(({ ctx, input }) =>
        buyPack(ctx.runtime, input, { actor: ctx.actor, requestId: ctx.requestId, log: ctx.log }),
      ),
    refund: workspaceProcedure("billing", { writes: true })
      .input(requestRefundInput.omit({ workspaceId: true }))
      .mutation(({ ctx, input }) => runCommand(ctx, requestRefund, input)),
  }),

  autoTopUp: router({
    get: workspaceProcedure("billing").query(({ ctx }) =>
      autoTopUpSettings(ctx.runtime.db, ctx.workspace.workspaceId, ctx.runtime.clock.now()),
    ),
    set: workspaceProcedure("billing", { writes: true })
      .input(autoTopUpInput.omit({ workspaceId: true }))
      .mutation(({ ctx, input }) => runCommand(ctx, setAutoTopUp, input)),
  }),
});
