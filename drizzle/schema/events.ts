import { sql } from "drizzle-orm";
import {
  bigint,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  unique,
  uuid,
} from "drizzle-orm/pg-core";

import { createdAt, timestamptz } from "./columns";

/**
 * Domain events written in the same transaction as the change they describe.
 * The relay publishes them in `seq` order; within one stream (a workspace, or
 * the global stream) `seq` order is commit order, because the stream row in
 * `event_streams` stays locked from the outbox insert to the commit.
 */
export const outbox = pgTable(
  "outbox",
  {
    id: uuid("id").primaryKey(),
    seq: bigint("seq", { mode: "number" }).notNull().unique().generatedAlwaysAsIdentity(),
    name: text("name").notNull(),
    version: integer("version").notNull(),
    /** No foreign key: events outlive the workspace they describe. */
    workspaceId: uuid("workspace_id"),
    streamId: text("stream_id").notNull(),
    /** Gapless position of the event in its stream. */
    streamSeq: bigint("stream_seq", { mode: "number" }).notNull(),
    /**
     * What the event is about (see ObjectRef in the catalogue); finds the
     * previous event on the same object. Null only on rows written before
     * the column existed.
     */
    objectType: text("object_type"),
    objectId: text("object_id"),
    data: jsonb("data").$type<Record<string, unknown>>().notNull(),
    occurredAt: timestamptz("occurred_at").notNull(),
    /** The event whose reaction emitted this one, if any. */
    causationId: text("causation_id"),
    requestId: text("request_id"),
    publishedAt: timestamptz("published_at"),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    createdAt: createdAt(),
  },
  (table) => [
    index("outbox_unpublished_idx")
      .on(table.seq)
      .where(sql`${table.publishedAt} IS NULL`),
    unique("outbox_stream_seq_unique").on(table.streamId, table.streamSeq),
    index("outbox_object_idx").on(
      table.streamId,
      table.objectType,
      table.objectId,
      table.streamSeq,
    ),
  ],
);

export const eventStreams = pgTable("event_streams", {
  streamId: text("stream_id").primaryKey(),
  lastSeq: bigint("last_seq", { mode: "number" }).notNull(),
});

/** (reaction, event) pairs already handled, written in the reaction's own transaction. */
export const eventInbox = pgTable(
  "event_inbox",
  {
    reaction: text("reaction").notNull(),
    eventId: text("event_id").notNull(),
    handledAt: timestamptz("handled_at").notNull(),
  },
  (table) => [primaryKey({ columns: [table.reaction, table.eventId] })],
);

export const reactionRunStatus = pgEnum("reaction_run_status", [
  "pending",
  "running",
  "done",
  "dead",
]);

/**
 * The in-process driver's queue: one row per (event, reaction), created by the
 * relay when no Inngest server is configured.
 */
export const reactionRuns = pgTable(
  "reaction_runs",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    eventId: text("event_id").notNull(),
    reaction: text("reaction").notNull(),
    concurrencyKey: text("concurrency_key").notNull(),
    event: jsonb("event").$type<Record<string, unknown>>().notNull(),
    status: reactionRunStatus("status").notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: timestamptz("next_attempt_at").notNull(),
    lockedUntil: timestamptz("locked_until"),
    lastError: text("last_error"),
    createdAt: createdAt(),
    updatedAt: timestamptz("updated_at").notNull().defaultNow(),
  },
  (table) => [
    unique("reaction_runs_event_reaction_unique").on(table.eventId, table.reaction),
    index("reaction_runs_due_idx")
      .on(table.nextAttemptAt, table.id)
      .where(sql`${table.status} = 'pending'`),
    index("reaction_runs_group_idx")
      .on(table.reaction, table.concurrencyKey)
      .where(sql`${table.status} = 'running'`),
  ],
);

/** Reaction runs that failed after their last retry; admins replay them. */
export const deadLetters = pgTable(
  "dead_letters",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    reaction: text("reaction").notNull(),
    eventId: text("event_id").notNull(),
    eventName: text("event_name").notNull(),
    workspaceId: uuid("workspace_id"),
    event: jsonb("event").$type<Record<string, unknown>>().notNull(),
    error: text("error").notNull(),
    attempts: integer("attempts").notNull(),
    failedAt: timestamptz("failed_at").notNull(),
    resolvedAt: timestamptz("resolved_at"),
    resolvedBy: uuid("resolved_by"),
    replayError: text("replay_error"),
  },
  (table) => [
    unique("dead_letters_event_reaction_unique").on(table.eventId, table.reaction),
    index("dead_letters_open_idx")
      .on(table.failedAt)
      .where(sql`${table.resolvedAt} IS NULL`),
  ],
);

/** Who did what: one entry per command. */
export const auditLog = pgTable(
  "audit_log",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    workspaceId: uuid("workspace_id"),
    actorType: text("actor_type").$type<"user" | "api_key" | "system">().notNull(),
    actorId: text("actor_id"),
    command: text("command").notNull(),
    summary: jsonb("summary").$type<Record<string, unknown>>().notNull(),
    requestId: text("request_id"),
    occurredAt: timestamptz("occurred_at").notNull(),
  },
  (table) => [index("audit_log_workspace_idx").on(table.workspaceId, table.id)],
);
