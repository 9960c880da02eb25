import { z } from "zod";

import { AppError } from "@/server/errors";
import { router, runCommand, workspaceProcedure } from "@/server/trpc/init";

import { consumeCredits, consumeInput } from "./consume";
import { balanceSummary, ledgerHistory, recentUsage } from "./queries";

export const creditsRouter = router({
  // queries
  balance: workspaceProcedure("member").query(({ ctx }) =>
    balanceSummary(ctx.runtime.db, ctx.workspace.workspaceId),
  ),
  history: workspaceProcedure("member")
    .input(
      z.object({
        limit: z.number().int().min(1).max(100).default(20),
        cursor: z.number().int().optional(),
      }),
    )
    .query(({ ctx, input }) =>
      ledgerHistory(ctx.runtime.db, ctx.workspace.workspaceId, {
        limit: input.limit,
        before: input.cursor,
      }),
    ),
  usage: workspaceProcedure("member").query(({ ctx }) =>
    recentUsage(ctx.runtime.db, ctx.workspace.workspaceId),
  ),

  // commands
  /**
   * The portal's "try a feature" form. A refusal is stored like any consumption, then reported as
   * an error.
   */
  consume: workspaceProcedure("member")
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
