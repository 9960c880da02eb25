import { router, workspaceProcedure } from "@/server/trpc/init";

import { overageForecast } from "./forecast";

/**
 * The overage forecast of the workspace's current billing period; null when
 * it has no subscription. For the billing role and up, like the rest of the
 * billing page.
 */
export const overageForecastProcedure = workspaceProcedure("billing").query(({ ctx }) =>
  overageForecast(ctx.runtime.db, ctx.workspace.workspaceId, ctx.runtime.clock.now()),
);

/**
 * TODO: mounted on its own as `billingForecast` until the `billing` router
 * exists; then `overageForecastProcedure` moves into it as
 * `billing.overageForecast` and this router goes away.
 */
export const forecastRouter = router({
  overageForecast: overageForecastProcedure,
});
