import { sql } from "drizzle-orm";
import { z } from "zod";

import { platformAdminProcedure, router } from "@/server/trpc/init";

import { listDeadLetters, replayDeadLetter } from "./dead-letters";

export const eventsRouter = router({
  // queries
  deadLetters: platformAdminProcedure
    .input(
      z.object({ includeResolved: z.boolean().default(false) }).default({ includeResolved: false }),
    )
    .query(({ ctx, input }) => listDeadLetters(ctx.runtime.db, input)),
  backlog: platformAdminProcedure.query(async ({ ctx }) => {
    const [row] = await ctx.runtime.db.execute<{
      unpublished: number;
      pending_runs: number;
      dead: number;
    }>(sql`
      SELECT
        (SELECT count(*)::int FROM outbox WHERE published_at IS NULL) AS unpublished,
        (SELECT count(*)::int FROM reaction_runs
          WHERE status IN ('pending', 'running')) AS pending_runs,
        (SELECT count(*)::int FROM dead_letters WHERE resolved_at IS NULL) AS dead`);

    return {
      unpublished: row?.unpublished ?? 0,
      pendingRuns: row?.pending_runs ?? 0,
      openDeadLetters: row?.dead ?? 0,
      driver: ctx.runtime.modes.sideEffects,
    };
  }),

  // commands
  replayDeadLetter: platformAdminProcedure
    .input(z.object({ id: z.uuid() }))
    .mutation(({ ctx, input }) =>
      replayDeadLetter(ctx.runtime, input.id, ctx.actor, ctx.runtime.runReaction),
    ),
});
