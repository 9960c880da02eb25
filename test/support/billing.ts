import { sweepBillingCycles } from "@/server/billing/cycles";
import type { Runtime } from "@/server/runtime";

import { drain, runCron } from "./runtime";

/**
 * One run of the billing-start-cycles sweep, then every reaction it leads
 * to: each ended period's cycle runs to its end (invoice, credit rollover,
 * next allowance), and the cycles of periods that ended since start in turn.
 */
export async function sweepCycles(runtime: Runtime): Promise<void> {
  await runCron(runtime, sweepBillingCycles);
  await drain(runtime);
}
