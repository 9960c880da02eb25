import type { Db } from "@/server/db/client";
import type { EventName } from "@/server/events/catalogue";
import {
  fromWire,
  runInInbox,
  type CronHandler,
  type Outcome,
  type ReactionDeps,
  type ReactionHandler,
  type WireEvent,
} from "@/server/events/reactions";
import type { Logger } from "@/server/logger";

/**
 * One row of the event bus table: a reaction, what triggers it, its retry
 * policy and its concurrency key. Both the Inngest functions and the
 * in-process driver are built from these rows.
 */
interface ReactionBase {
  /** Stable id: the Inngest function id and the inbox key. Never rename a deployed reaction. */
  id: string;
  description: string;
  /** Retries after the first attempt, before the run goes to dead letters. */
  retries: number;
  /**
   * Runs with the same key never overlap: `workspace` serialises per workspace, `none` does not
   * limit.
   */
  concurrency: "workspace" | "none";
}

export interface EventReaction<N extends EventName = EventName> extends ReactionBase {
  kind: "event";
  event: N;
  handle: ReactionHandler<N>;
}

export interface CronReaction extends ReactionBase {
  kind: "cron";
  cron: string;
  handle: CronHandler;
}

export type Reaction = EventReaction<EventName> | CronReaction;

type Options = Omit<ReactionBase, "retries" | "concurrency"> &
  Partial<Pick<ReactionBase, "retries" | "concurrency">>;

export function onEvent<N extends EventName>(
  event: N,
  options: Options & { handle: ReactionHandler<N> },
): Reaction {
  return {
    kind: "event",
    event,
    retries: 4,
    concurrency: "workspace",
    ...options,
  } as unknown as Reaction;
}

export function onCron(cron: string, options: Options & { handle: CronHandler }): Reaction {
  return { kind: "cron", cron, retries: 2, concurrency: "none", ...options };
}

export const CRON_EVENT = "cron/tick";

/** The id a cron run uses in the inbox: one per reaction and scheduled minute. */
export function cronEventId(reactionId: string, scheduledFor: Date): string {
  return `cron:${reactionId}:${scheduledFor.toISOString()}`;
}

export function cronWireEvent(reactionId: string, scheduledFor: Date): WireEvent {
  return {
    id: cronEventId(reactionId, scheduledFor),
    name: CRON_EVENT,
    version: 1,
    workspaceId: null,
    streamSeq: 0,
    object: { type: "cron", id: reactionId },
    occurredAt: scheduledFor.toISOString(),
    causationId: null,
    data: { scheduledFor: scheduledFor.toISOString() },
  };
}

export function concurrencyKey(reaction: Reaction, event: WireEvent): string {
  return reaction.concurrency === "workspace" ? (event.workspaceId ?? "global") : event.id;
}

export interface ExecuteDeps extends ReactionDeps {
  db: Db;
  logger: Logger;
  /**
   * Tells the relay that a reaction committed events, so the next hop of a chain starts at once.
   */
  wake?: () => void;
}

/** Runs a reaction for a wire event through the inbox. Shared by both drivers. */
export async function executeReaction(
  deps: ExecuteDeps,
  reaction: Reaction,
  wire: WireEvent,
): Promise<Outcome> {
  const log = deps.logger.child({
    reaction: reaction.id,
    eventId: wire.id,
    event: wire.name,
    workspaceId: wire.workspaceId ?? undefined,
  });
  const { db, logger: _logger, wake, ...reactionDeps } = deps;

  const outcome =
    reaction.kind === "cron"
      ? await runInInbox(db, deps.clock, reaction.id, wire.id, (tx) =>
          reaction.handle({
            tx,
            tick: { id: wire.id, name: "cron/tick", scheduledFor: new Date(wire.occurredAt) },
            deps: reactionDeps,
            log,
          }),
        )
      : await runInInbox(db, deps.clock, reaction.id, wire.id, (tx) =>
          (reaction.handle as ReactionHandler<EventName>)({
            tx,
            event: fromWire(wire),
            deps: reactionDeps,
            log,
          }),
        );
  if (outcome === "duplicate") log.warn("event already handled by this reaction; skipped");
  else {
    // Cron ticks run every minute; at info they would drown the log.
    if (reaction.kind === "cron") log.debug("cron reaction ran");
    else log.info("reaction handled event");
    wake?.();
  }

  return outcome;
}
