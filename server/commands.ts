import type { z } from "zod";

import { auditLog } from "@/drizzle/schema";

import { actorRef, type Actor } from "./actor";
import { auditExemptions } from "./audit/exemptions";
import type { Clock } from "./clock";
import type { Db, Tx } from "./db/client";
import { AppError } from "./errors";
import type { EventDraft } from "./events/catalogue";
import { writeEvents } from "./events/outbox";
import type { Logger } from "./logger";
import { findUnstorableText } from "./text";

/**
 * The one pipeline every command runs through:
 * validate → prepare (slow work without the database) → open a transaction → run the command's
 * rules with the
 * transaction, actor and clock → write its events to the outbox and an audit
 * entry → commit → wake the relay. A command's own code is only its rules.
 */
export interface CommandContext {
  tx: Tx;
  actor: Actor;
  clock: Clock;
  log: Logger;
  requestId: string | null;
}

export interface CommandOutcome<TResult> {
  result: TResult;
  events?: EventDraft[];
  /** The workspace the audit entry belongs to. */
  workspaceId?: string | null;
  /**
   * What the audit entry records. Defaults to the validated input. `false`
   * writes no entry: for replays that changed nothing, and for high-volume
   * commands whose own rows (ledger, usage records) are the record. Only the
   * commands listed, with the reason, in server/audit/exemptions.ts may.
   */
  audit?: Record<string, unknown> | false;
}

export interface Command<TSchema extends z.ZodType, TResult, TPrepared = undefined> {
  name: string;
  input: TSchema;
  /**
   * Slow work that needs no database (hashing a password) runs here, before
   * the transaction opens, so it holds no connection or lock meanwhile.
   */
  prepare?(input: z.output<TSchema>): Promise<TPrepared>;
  run(
    ctx: CommandContext,
    input: z.output<TSchema>,
    prepared: TPrepared,
  ): Promise<CommandOutcome<TResult>>;
}

/** Every command defined so far, by name: server/audit/coverage.test.ts walks them. */
const definedCommands = new Map<string, Command<z.ZodType, unknown, unknown>>();

export function defineCommand<TSchema extends z.ZodType, TResult, TPrepared = undefined>(
  command: Command<TSchema, TResult, TPrepared>,
): Command<TSchema, TResult, TPrepared> {
  definedCommands.set(command.name, command as Command<z.ZodType, unknown, unknown>);

  return command;
}

export function commandsDefined(): string[] {
  return [...definedCommands.keys()];
}

export interface CommandRuntime {
  db: Db;
  clock: Clock;
  logger: Logger;
  /** Tells the relay that new events may be waiting. */
  wake(): void;
}

export interface CommandMeta {
  actor: Actor;
  requestId?: string | null;
  log?: Logger;
}

/**
 * Runs a command's rules inside a transaction someone else holds (a
 * reaction's), with the same validation and audit entry as execute(). The
 * events it causes are returned, not written: the reaction returns them, so
 * they carry its event as their cause.
 */
export async function executeInTransaction<TSchema extends z.ZodType, TResult>(
  tx: Tx,
  context: { clock: Clock; log: Logger },
  command: Command<TSchema, TResult, undefined>,
  rawInput: z.input<TSchema>,
  actor: Actor,
): Promise<{ result: TResult; events: EventDraft[] }> {
  const input = command.input.parse(rawInput);
  const log = context.log.child({ command: command.name, actor: actorRef(actor) });
  const outcome = await command.run(
    { tx, actor, clock: context.clock, log, requestId: null },
    input,
    undefined,
  );
  if (outcome.audit !== false) {
    const ref = actorRef(actor);
    await tx.insert(auditLog).values({
      workspaceId: outcome.workspaceId ?? null,
      actorType: ref.type,
      actorId: ref.id,
      command: command.name,
      summary: outcome.audit ?? (input as Record<string, unknown>),
      requestId: null,
      occurredAt: context.clock.now(),
    });
  }

  return { result: outcome.result, events: outcome.events ?? [] };
}

export async function execute<TSchema extends z.ZodType, TResult, TPrepared>(
  runtime: CommandRuntime,
  command: Command<TSchema, TResult, TPrepared>,
  rawInput: z.input<TSchema>,
  meta: CommandMeta,
): Promise<TResult> {
  const parsed = command.input.safeParse(rawInput);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError("invalid_request", issue?.message ?? "Invalid input", {
      field: issue?.path.join("."),
    });
  }
  const input = parsed.data;
  const unstorable = findUnstorableText(input);
  if (unstorable) {
    throw new AppError(
      "invalid_request",
      `${unstorable.path || "The input"} ${unstorable.message}`,
      {
        field: unstorable.path || undefined,
      },
    );
  }
  const requestId = meta.requestId ?? null;
  const log = (meta.log ?? runtime.logger).child({
    command: command.name,
    actor: actorRef(meta.actor),
  });

  const prepared = (command.prepare ? await command.prepare(input) : undefined) as TPrepared;
  let wrote = false;
  const result = await runtime.db.transaction(async (tx) => {
    const outcome = await command.run(
      { tx, actor: meta.actor, clock: runtime.clock, log, requestId },
      input,
      prepared,
    );
    const events = outcome.events ?? [];
    if (events.length > 0) {
      await writeEvents(tx, events, runtime.clock, { requestId });
      wrote = true;
    }
    if (outcome.audit === false && !Object.hasOwn(auditExemptions, command.name)) {
      // An invariant of the code, not of the input: caught by the tests before it ships.
      throw new Error(
        `${command.name} returned audit: false but is not in server/audit/exemptions.ts`,
      );
    }
    if (outcome.audit !== false) {
      const ref = actorRef(meta.actor);
      await tx.insert(auditLog).values({
        workspaceId: outcome.workspaceId ?? null,
        actorType: ref.type,
        actorId: ref.id,
        command: command.name,
        summary: outcome.audit ?? (input as Record<string, unknown>),
        requestId,
        occurredAt: runtime.clock.now(),
      });
    }

    return outcome.result;
  });

  if (wrote) runtime.wake();
  log.debug("command committed");

  return result;
}
