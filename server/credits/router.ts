import { eq, ilike, or, sql } from "drizzle-orm";
import { z } from "zod";

import { ledgerEntryKind, tiers, users, workspaceMembers, workspaces } from "@/drizzle/schema";
import { AppError } from "@/server/errors";
import {
  platformAdminProcedure,
  router,
  runCommand,
  signedInProcedure,
  workspaceProcedure,
} from "@/server/trpc/init";

import {
  adjustCredits,
  adjustCreditsInput,
  allocateCredits,
  allocateCreditsInput,
  transferCredits,
  transferCreditsInput,
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

/** Admin tools: find a workspace, then correct or top up its credits. */
const adminRouter = router({
  findWorkspaces: platformAdminProcedure
    .input(z.object({ query: z.string().trim().max(200).default("") }))
    .query(async ({ ctx, input }) => {
      const pattern = `%${input.query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

      return ctx.runtime.db
        .select({
          id: workspaces.id,
          name: workspaces.name,
          slug: workspaces.slug,
          status: workspaces.status,
          tierName: tiers.name,
          balance: sql<number>`(SELECT balance FROM credit_balances b
            WHERE b.workspace_id = ${workspaces.id})`,
          ownerEmail: sql<string | null>`(SELECT u.email FROM ${workspaceMembers} m
            JOIN ${users} u ON u.id = m.user_id
            WHERE m.workspace_id = ${workspaces.id} AND m.role = 'owner'
            ORDER BY m.created_at LIMIT 1)`,
        })
        .from(workspaces)
        .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
        .where(
          input.query === ""
            ? undefined
            : or(
                ilike(workspaces.name, pattern),
                ilike(workspaces.slug, pattern),
                sql`EXISTS (SELECT 1 FROM ${workspaceMembers} m JOIN ${users} u ON u.id = m.user_id
                  WHERE m.workspace_id = ${workspaces.id} AND u.email ILIKE ${pattern})`,
              ),
        )
        .orderBy(workspaces.name)
        .limit(20);
    }),
  adjust: platformAdminProcedure
    .input(adjustCreditsInput)
    .mutation(({ ctx, input }) => runCommand(ctx, adjustCredits, input)),
  allocate: platformAdminProcedure
    .input(allocateCreditsInput)
    .mutation(({ ctx, input }) => runCommand(ctx, allocateCredits, input)),
});

export const creditsRouter = router({
  admin: adminRouter,
  /** Moves credits between two workspaces the caller owns; the command checks ownership. */
  transfer: signedInProcedure
    .input(transferCreditsInput)
    .mutation(({ ctx, input }) => runCommand(ctx, transferCredits, input)),

  // queries
  balance: workspaceProcedure("member").query(({ ctx }) =>
    balanceDetail(ctx.runtime.db, ctx.workspace.workspaceId, ctx.runtime.clock.now()),
  ),
  history: workspaceProcedure("member")
    .input(
      z
        .object({
          limit: z.number().int().min(1).max(100).default(20),
          cursor: z.number().int().optional(),
          kinds: z.array(z.enum(ledgerEntryKind.enumValues)).max(10).optional(),
          featureCode: z.string().trim().min(1).max(100).optional(),
          apiKeyId: z.uuid().optional(),
          from: z.coerce.date().optional(),
          to: z.coerce.date().optional(),
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
  usage: workspaceProcedure("member").query(({ ctx }) =>
    recentUsage(ctx.runtime.db, ctx.workspace.workspaceId),
  ),
  usageByDay: workspaceProcedure("member")
    .input(z.object({ days: z.number().int().min(1).max(90).default(30) }))
    .query(({ ctx, input }) =>
      usageByDay(ctx.runtime.db, ctx.workspace.workspaceId, ctx.runtime.clock.now(), input.days),
    ),
  rollover: workspaceProcedure("member").query(({ ctx }) =>
    rolloverEligibility(ctx.runtime.db, ctx.workspace.workspaceId),
  ),
  overage: workspaceProcedure("member").query(({ ctx }) =>
    overageStatus(ctx.runtime.db, ctx.workspace.workspaceId, ctx.runtime.clock.now()),
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
