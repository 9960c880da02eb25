import { z } from "zod";

import { platformAdminProcedure, router, runCommand } from "@/server/trpc/init";

import {
  dismissDrift,
  dismissDriftInput,
  driftListInput,
  listDrifts,
  listRuns,
  repairDrift,
  runReconciliationNow,
} from "./repairs";

/** Platform admins: reconciliation runs and drifts, a run now, repair and dismiss. */
export const adminReconciliationRouter = router({
  // queries
  runs: platformAdminProcedure.query(({ ctx }) => listRuns(ctx.runtime.db)),
  drifts: platformAdminProcedure
    .input(driftListInput)
    .query(({ ctx, input }) => listDrifts(ctx.runtime.db, input)),

  // commands
  runNow: platformAdminProcedure.mutation(({ ctx }) =>
    runReconciliationNow(ctx.runtime, { actor: ctx.actor, requestId: ctx.requestId, log: ctx.log }),
  ),
  repair: platformAdminProcedure
    .input(z.object({ driftId: z.uuid() }))
    .mutation(({ ctx, input }) =>
      repairDrift(ctx.runtime, input, { actor: ctx.actor, requestId: ctx.requestId, log: ctx.log }),
    ),
  dismiss: platformAdminProcedure
    .input(dismissDriftInput)
    .mutation(({ ctx, input }) => runCommand(ctx, dismissDrift, input)),
});
