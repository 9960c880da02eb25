import { sql } from "drizzle-orm";

import type { Tx } from "@/server/db/client";
import type { ReactionHandler } from "@/server/events/reactions";

async function increment(tx: Tx, day: Date, metric: string, by: number): Promise<void> {
  await tx.execute(sql`
    INSERT INTO daily_metrics (day, metric, value)
    VALUES (${day.toISOString().slice(0, 10)}, ${metric}, ${by})
    ON CONFLICT (day, metric) DO UPDATE SET value = daily_metrics.value + ${by}`);
}

/** workspace/created → signups per day, for the admin overview. */
export const countSignup: ReactionHandler<"workspace/created"> = async ({ tx, event }) => {
  await increment(tx, event.occurredAt, "workspaces_created", 1);
  await increment(tx, event.occurredAt, `workspaces_created:${event.data.tierCode}`, 1);
};

/** credits/consumed → credits consumed per day and feature. */
export const countConsumption: ReactionHandler<"credits/consumed"> = async ({ tx, event }) => {
  await increment(tx, event.occurredAt, "credits_consumed", event.data.credits);
  for (const feature of event.data.features) {
    await increment(
      tx,
      event.occurredAt,
      `credits_consumed:${feature.featureCode}`,
      feature.credits,
    );
  }
};
