import { sql } from "drizzle-orm";

import { eventInbox } from "@/drizzle/schema";
import type { BillingConfig } from "@/server/billing/config";
import type { Clock } from "@/server/clock";
import type { Db, Tx } from "@/server/db/client";
import type { Logger } from "@/server/logger";
import type { Notifier } from "@/server/notifications/deliver";
import type { PaymentGateway } from "@/server/payments/gateway";

import {
  catalogue,
  isEventName,
  type EventDraft,
  type EventEnvelope,
  type EventName,
} from "./catalogue";
import { writeEvents } from "./outbox";

/** What a reaction may use besides its transaction. */
export interface ReactionDeps {
  clock: Clock;
  gateway: PaymentGateway;
  /** Sends notification deliveries, each attempt in its own transaction. */
  notifier: Notifier;
  appUrl: string;
  /** Tax rates, the seller and payment terms for invoices. */
  billing: BillingConfig;
}

export interface ReactionContext<N extends EventName> {
  tx: Tx;
  event: EventEnvelope<N>;
  deps: ReactionDeps;
  log: Logger;
}

/**
 * A side effect: a plain function of (transaction, event, deps) that knows
 * nothing of Inngest or of the in-process driver. It returns the events it
 * causes; they are written in the same transaction as its own changes.
 */
export type ReactionHandler<N extends EventName> = (
  context: ReactionContext<N>,
) => Promise<EventDraft[] | void>;

/**
 * The synthetic event a cron trigger delivers; its id names the reaction and the scheduled minute.
 */
export interface CronTick {
  id: string;
  name: "cron/tick";
  scheduledFor: Date;
}

export type CronHandler = (context: {
  tx: Tx;
  tick: CronTick;
  deps: ReactionDeps;
  log: Logger;
}) => Promise<EventDraft[] | void>;

/** Serialized form of an event, as the relay hands it to either driver. */
export interface WireEvent {
  id: string;
  name: string;
  version: number;
  workspaceId: string | null;
  streamSeq: number;
  object: { type: string; id: string };
  occurredAt: string;
  causationId: string | null;
  data: Record<string, unknown>;
}

export function toWire(envelope: EventEnvelope): WireEvent {
  return {
    ...envelope,
    occurredAt: envelope.occurredAt.toISOString(),
    data: envelope.data as Record<string, unknown>,
  };
}

/** Validates a wire event against the catalogue before any reaction sees it. */
export function fromWire(wire: WireEvent): EventEnvelope {
  if (!isEventName(wire.name)) throw new Error(`Unknown event name ${wire.name}`);
  const definition = catalogue[wire.name];
  if (wire.version !== definition.version) {
    throw new Error(
      `Event ${wire.name} has version ${wire.version}; this build reads ${definition.version}`,
    );
  }

  return {
    id: wire.id,
    name: wire.name,
    version: wire.version,
    workspaceId: wire.workspaceId,
    streamSeq: wire.streamSeq,
    object: wire.object,
    occurredAt: new Date(wire.occurredAt),
    causationId: wire.causationId,
    data: definition.schema.parse(wire.data),
  } as EventEnvelope;
}

export type Outcome = "handled" | "duplicate";

/**
 * Runs one reaction for one event, effectively once: the (reaction, event id)
 * row goes into the inbox in the reaction's own transaction, so a redelivered
 * event finds it there and changes nothing. A second delivery racing the first
 * waits on the inbox row's unique key until the first commits or rolls back.
 */
export async function runInInbox(
  db: Db,
  clock: Clock,
  reactionId: string,
  eventId: string,
  body: (tx: Tx) => Promise<EventDraft[] | void>,
): Promise<Outcome> {
  return db.transaction(async (tx) => {
    const claimed = await tx
      .insert(eventInbox)
      .values({ reaction: reactionId, eventId, handledAt: clock.now() })
      .onConflictDoNothing()
      .returning({ eventId: eventInbox.eventId });
    if (claimed.length === 0) return "duplicate";

    const emitted = (await body(tx)) ?? [];
    await writeEvents(tx, emitted, clock, { causationId: eventId });

    return "handled";
  });
}

/** Whether a reaction already handled an event (used by tests and the dead-letter page). */
export async function wasHandled(db: Db, reactionId: string, eventId: string): Promise<boolean> {
  const rows = await db.execute(
    sql`SELECT 1 FROM event_inbox WHERE reaction = ${reactionId} AND event_id = ${eventId}`,
  );
  return rows.length > 0;
}
