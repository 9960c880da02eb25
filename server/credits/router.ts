import { z } from "zod";

import { ledgerEntryKind } from "@/drizzle/schema";
import { instantInput } from "@/server/dates";
import { AppError } from "@/server/errors";
import { platformAdminProcedure, router, runCommand, workspaceProcedure } from "@/server/trpc/init";

import {
  adjustCredits,
  adjustCreditsInput,
  allocateCredits,
  allocateCreditsInput,
  transferCredits,
  transferFields,
} from "./adjustments";
import { consumeCredits, consumeInput } from "./consume";
import {
  balanceDetail,
  ledgerHistory,
  overageStatus,
  recentUsage,
  rolloverEligibility,
  usageByDay,
} from "./queries";

/** Admin tools: correct or top up a workspace's credits (workspaces.admin.find finds it). */
const adminRouter = router({
  adjust: platformAdminProcedure
    .input(adjustCreditsInput)
    .mutation(({ ctx, input }) => runCommand(ctx, adjustCredits, input)),
  allocate: platformAdminProcedure
    .input(allocateCreditsInput)
    .mutation(({ ctx, input }) => runCommand(ctx, allocateCredits, input)),
});

export const creditsRouter = router({
  admin: adminRouter,
  /**
   * Moves credits from this workspace to another the caller owns; the command checks the
   * receiving side.
   */
  transfer: workspaceProcedure("owner", { writes: true })
    .input(transferFields.omit({ fromWorkspaceId: true }))
    .mutation(({ ctx, input }) =>
      runCommand(ctx, transferCredits, { ...input, fromWorkspaceId: ctx.workspace.workspaceId }),
    ),

  // queries
  balance: workspaceProcedure("viewer").query(({ ctx }) =>
    balanceDetail(ctx.runtime.db, ctx.workspace.workspaceId, ctx.runtime.clock.now()),
  ),
  history: workspaceProcedure("viewer")
    .input(
      z
        .object({
          limit: z.number().int().min(1).max(100).default(20),
          cursor: z.number().int().optional(),
          kinds: z.array(z.enum(ledgerEntryKind.enumValues)).max(10).optional(),
          featureCode: z.string().trim().min(1).max(100).optional(),
          apiKeyId: z.uuid().optional(),
          from: instantInput("The start").optional(),
          to: instantInput("The end").optional(),
        })
        .refine((input) => !input.from || !input.to || input.from < input.to, {
          message: "The start must be before the end",
          path: ["to"],
        }),
    )
    .query(({ ctx, input }) =>
      ledgerHistory(ctx.runtime.db, ctx.workspace.workspaceId, {
        limit: input.limit,
        before: input.cursor,
        kinds: input.kinds,
        featureCode: input.featureCode,
        apiKeyId: input.apiKeyId,
        from: input.from,
        to: input.to,
      }),
    ),
  usage: workspaceProcedure("viewer").query(({ ctx }) =>
    recentUsage(ctx.runtime.db, ctx.workspace.workspaceId),
  ),
  usageByDay: workspaceProcedure("viewer")
    .input(z.object({ days: z.number().int().min(1).max(90).default(30) }))
    .query(({ ctx, input }) =>
      usageByDay(ctx.runtime.db, ctx.workspace.workspaceId, ctx.runtime.clock.now(), input.days),
    ),
  rollover: workspaceProcedure("viewer").query(({ ctx }) =>
    rolloverEligibility(ctx.runtime.db, ctx.workspace.workspaceId),
  ),
  overage: workspaceProcedure("viewer").query(({ ctx }) =>
    overageStatus(ctx.runtime.db, ctx.workspace.workspaceId, ctx.runtime.clock.now()),
  ),

  // commands
  /**
   * The portal's "try a feature" form. A refusal is stored like any consumption, then reported as
   * an error.
   */
  consume: workspaceProcedure("member", { writes: true })
    .input(
      consumeInput
        .omit({ workspaceId: true })
        .extend({ idempotencyKey: z.string().min(1).max(255) }),
    )
    .mutation(async ({ ctx, input }) => {
      const result = await runCommand(ctx, consumeCredits, input);
      if (!result.allowed) {
        throw new AppError(
          "insufficient_credits",
          `Not enough credits: this call needs ${result.credits.toLocaleString("en-US")} and the ` +
            `balance is ` +
            `${result.balance.toLocaleString("en-US")}`,
          {
            field: "inputBytes",
            details: { allowed: false, balance: result.balance, required: result.credits },
          },
        );
      }

      return result;
    }),
});
