import {
  platformAdminProcedure,
  router,
  runCommand,
  signedInProcedure,
  workspaceProcedure,
} from "@/server/trpc/init";

import { selfServe } from "./commands";
import {
  archiveTier,
  archiveTierInput,
  createTier,
  createTierInput,
  offeredTiers,
  publishTierVersion,
  publishTierVersionInput,
  quotaUsage,
  tierCatalogue,
} from "./tiers";

/** Pricing tiers: what is offered to new workspaces, and the platform admins' editor. */
export const tiersRouter = router({
  // queries
  /** Calls used against each quota of the workspace's tier, this period. */
  quotaUsage: workspaceProcedure("viewer").query(({ ctx }) =>
    quotaUsage(ctx.runtime.db, ctx.workspace.workspaceId, ctx.runtime.clock.now()),
  ),
  offered: signedInProcedure.query(async ({ ctx }) =>
    (await offeredTiers(ctx.runtime.db)).map((tier) => ({
      id: tier.id,
      code: tier.code,
      version: tier.version,
      name: tier.name,
      currency: tier.currency,
      monthlyPriceMinor: tier.monthlyPriceMinor,
      monthlyCredits: tier.monthlyCredits,
      signupBonusCredits: tier.signupBonusCredits,
      includedSeats: tier.includedSeats,
      seatPriceMinor: tier.seatPriceMinor,
      otherPrices: tier.otherPrices,
      features: tier.features,
      quotas: tier.quotas,
      selfServe: selfServe(tier),
    })),
  ),
  all: platformAdminProcedure.query(({ ctx }) => tierCatalogue(ctx.runtime.db)),

  // commands
  create: platformAdminProcedure
    .input(createTierInput)
    .mutation(({ ctx, input }) => runCommand(ctx, createTier, input)),
  publishVersion: platformAdminProcedure
    .input(publishTierVersionInput)
    .mutation(({ ctx, input }) => runCommand(ctx, publishTierVersion, input)),
  archive: platformAdminProcedure
    .input(archiveTierInput)
    .mutation(({ ctx, input }) => runCommand(ctx, archiveTier, input)),
});
