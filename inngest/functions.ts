import type { Inngest, InngestFunction } from "inngest";

import { recordDeadLetter } from "@/server/events/dead-letters";

import { fromInngest } from "./client";
import { cronWireEvent, executeReaction, type ExecuteDeps, type Reaction } from "./reaction";

type Retries = NonNullable<InngestFunction.Options["retries"]>;

/**
 * Builds one Inngest function per row of the event bus table. Each function
 * runs its reaction in a single step through the same inbox the in-process
 * driver uses; after its last retry, onFailure records a dead letter.
 */
export function buildInngestFunctions(
  inngest: Inngest,
  bus: readonly Reaction[],
  deps: () => Promise<ExecuteDeps>,
) {
  return bus.map((reaction) =>
    inngest.createFunction(
      {
        id: reaction.id,
        name: reaction.description,
        retries: Math.min(20, reaction.retries) as Retries,
        triggers: [reaction.kind === "event" ? { event: reaction.event } : { cron: reaction.cron }],
        ...(reaction.concurrency === "workspace"
          ? { concurrency: { key: "event.data.workspaceId", limit: 1 } }
          : {}),
        onFailure: async ({ event, error }) => {
          const resolved = await deps();
          const original = event.data.event;
          const wire =
            reaction.kind === "cron"
              ? cronWireEvent(reaction.id, minuteOf(original.ts ?? resolved.clock.now().getTime()))
              : fromInngest(original);
          await recordDeadLetter(resolved.db, resolved.clock, {
            reaction: reaction.id,
            event: wire,
            error: error.message,
            attempts: reaction.retries + 1,
          });
        },
      },
      async ({ event, step }) => {
        const resolved = await deps();
        const wire =
          reaction.kind === "cron"
            ? cronWireEvent(reaction.id, minuteOf(event.ts ?? resolved.clock.now().getTime()))
            : fromInngest(event);

        return step.run("react", () => executeReaction(resolved, reaction, wire));
      },
    ),
  );
}

/**
 * Cron runs are keyed by their scheduled minute, so two deliveries of one tick share an inbox row.
 */
function minuteOf(ts: number): Date {
  return new Date(Math.floor(ts / 60_000) * 60_000);
}
