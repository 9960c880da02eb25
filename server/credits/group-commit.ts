import { randomUUID } from "node:crypto";

import { and, eq, sql, type SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import { drizzle } from "drizzle-orm/postgres-js";
import type { Sql } from "postgres";

import { creditBalances, creditGrants, overageRecords, tiers, workspaces } from "@/drizzle/schema";
import { actorRef, type Actor } from "@/server/actor";
import type { Clock } from "@/server/clock";
import { execute, type CommandRuntime } from "@/server/commands";
import type { Tx } from "@/server/db/client";
import { inactiveWorkspaceError } from "@/server/auth/access";
import { AppError, isAppError } from "@/server/errors";
import { event, type EventDraft } from "@/server/events/catalogue";
import { eventsStatement } from "@/server/events/outbox";
import type { Logger } from "@/server/logger";

import {
  consumeCredits,
  consumptionEvents,
  replayOf,
  storedConsumptions,
  storedKey,
  type ConsumeResult,
  type ConsumptionTerms,
  type StoredConsumption,
} from "./consume";
import { drawOrder, expireGrants, MAX_CREDITS, settleSnapshot, type LockedBalance } from "./ledger";
import { overagePeriodStart } from "./overage";
import { findFeature, priceCall } from "./pricing";

/**
 * Group commit: many consumptions, of one workspace or of several, in one
 * transaction. A transaction per consumption makes a busy workspace's
 * balance row the bottleneck (each waits for the previous commit); here the
 * row is locked once per group, every draw is planned in memory in arrival
 * order, and each kind of row is written with one statement for the whole
 * group.
 *
 * Each consumption keeps the meaning of `consumeOne` (consume.ts): priced
 * from the tier's table, drawn by priority, then soonest expiry, then age;
 * a soft overage policy lets it go past zero up to the period's cap; a
 * refusal is stored as an answer; low-balance and top-up events fire once
 * per downward crossing; every attempt writes a usage record, which stores
 * its answer; the same idempotency key (whichever path answered it first)
 * replays that answer or, with other parameters, is an idempotency_conflict. Items fail one by
 * one (an unknown feature, a suspended workspace), never the group.
 *
 * If the group's transaction fails for a reason no item explains (a
 * deadlock, a constraint the plan broke), it is retried, and then every item
 * runs alone through `consumeCredits`, so one bad item costs only itself.
 * Both paths lock the balance row before they look up an idempotency key, so
 * the same key sent twice at once is charged once: the second finds the
 * first's usage record.
 */

export interface ConsumptionRequest {
  workspaceId: string;
  /** Trimmed and validated against consumeInput by the caller. */
  featureCode: string;
  inputBytes: number;
  idempotencyKey: string | null;
  actor: Actor;
  requestId: string | null;
}

export type ConsumptionOutcome =
  { ok: true; result: ConsumeResult } | { ok: false; error: unknown };

interface LiveGrant {
  id: string;
  remaining: number;
  expiresAt: Date | null;
}

interface WorkspaceState {
  locked: LockedBalance;
  terms: ConsumptionTerms;
  grants: LiveGrant[];
  /** Overage already recorded this period, and the period's start; read when first needed. */
  overageUsed: number | null;
  overagePeriodStart: Date | null;
  /** Whether any draw settled the balance, so its row must be written. */
  settled: boolean;
}

interface LedgerRow {
  workspace_id: string;
  grant_id: string;
  amount: number;
  balance_after: number;
  reason: string;
  actor_type: string;
  actor_id: string | null;
  idempotency_key: string | null;
  usage_record_id: string;
}

interface UsageRow {
  id: string;
  workspace_id: string;
  feature_code: string;
  input_bytes: number;
  units: number;
  credits: number;
  outcome: "consumed" | "rejected";
  api_key_id: string | null;
  user_id: string | null;
  idempotency_key: string | null;
  balance_after: number;
  overage_credits: number;
}

/** The group's workspace ids as one JSON parameter, for `IN (...)`. */
function idList(ids: string[]) {
  return sql`(SELECT value::uuid FROM json_array_elements_text(${JSON.stringify(ids)}::json))`;
}

type LockedRow = {
  workspace_id: string;
  balance: number;
  below_threshold: boolean;
  top_up_threshold: number | null;
  below_top_up: boolean;
  status: ConsumptionTerms["status"];
  price_table: ConsumptionTerms["priceTable"];
  low_balance_threshold: number;
  overage_policy: ConsumptionTerms["overagePolicy"];
  overage_cap_credits: number;
};

/**
 * Locks the balance rows of the group's workspaces, in id order, with their consumption terms.
 * The terms are read by the statement after the lock, whose snapshot is taken once the locks are
 * held: a status change takes the same lock (workspaces/commands.ts), so it falls wholly before or
 * after the group. Read in the locking statement, they would be as they were when it began to wait.
 * Plain SQL here and in liveGrants: these run for every group, and building them with the query
 * builder cost more than running them.
 */
async function lockWorkspaces(tx: Tx, workspaceIds: string[]): Promise<LockedRow[]> {
  type Balance = Pick<
    LockedRow,
    "workspace_id" | "balance" | "below_threshold" | "top_up_threshold" | "below_top_up"
  >;
  const [balances, terms] = await Promise.all([
    tx.execute<Balance>(sql`
      SELECT workspace_id, balance, below_threshold, top_up_threshold, below_top_up
      FROM ${creditBalances}
      WHERE workspace_id IN ${idList(workspaceIds)}
      ORDER BY workspace_id
      FOR UPDATE`),
    tx.execute<Omit<LockedRow, Exclude<keyof Balance, "workspace_id">>>(sql`
      SELECT w.id AS workspace_id, w.status, t.price_table, t.low_balance_threshold,
        t.overage_policy, t.overage_cap_credits
      FROM ${workspaces} AS w JOIN ${tiers} AS t ON t.id = w.tier_id
      WHERE w.id IN ${idList(workspaceIds)}`),
  ]);
  const termsOf = new Map(terms.map((row) => [row.workspace_id, row]));

  return balances.flatMap((balance) => {
    const row = termsOf.get(balance.workspace_id);
    return row ? [{ ...row, ...balance }] : [];
  });
}

async function liveGrants(tx: Tx, workspaceIds: string[]) {
  const rows = await tx.execute<{
    id: string;
    workspace_id: string;
    remaining: number;
    expires_ms: number | null;
  }>(sql`
    SELECT ${creditGrants.id} AS id, ${creditGrants.workspaceId} AS workspace_id,
      ${creditGrants.remaining} AS remaining,
      (extract(epoch FROM ${creditGrants.expiresAt}) * 1000)::float8 AS expires_ms
    FROM ${creditGrants}
    WHERE ${creditGrants.workspaceId} IN ${idList(workspaceIds)} AND ${creditGrants.remaining} > 0
    ORDER BY ${creditGrants.workspaceId}, ${sql.join(drawOrder, sql`, `)}`);
  const byWorkspace = new Map<string, LiveGrant[]>();
  for (const row of rows) {
    const list = byWorkspace.get(row.workspace_id) ?? [];
    list.push({
      id: row.id,
      remaining: row.remaining,
      expiresAt: row.expires_ms === null ? null : new Date(row.expires_ms),
    });
    byWorkspace.set(row.workspace_id, list);
  }

  return byWorkspace;
}

async function overageUsedThisPeriod(tx: Tx, workspaceId: string, periodStart: Date) {
  const [used] = await tx
    .select({ credits: sql<number>`coalesce(sum(${overageRecords.credits}), 0)::int` })
    .from(overageRecords)
    .where(
      and(eq(overageRecords.workspaceId, workspaceId), eq(overageRecords.periodStart, periodStart)),
    );

  return used?.credits ?? 0;
}

/** Takes `amount` from the live grants in draw order; the caller checked they hold enough. */
function takeFromGrants(grants: LiveGrant[], amount: number) {
  const draws: { grantId: string; amount: number }[] = [];
  let left = amount;
  for (const grant of grants) {
    if (left === 0) break;
    if (grant.remaining === 0) continue;
    const take = Math.min(left, grant.remaining);
    grant.remaining -= take;
    left -= take;
    draws.push({ grantId: grant.id, amount: take });
  }
  if (left !== 0) {
    throw new Error(`Ledger invariant broken: the grants are short by ${left} of the balance`);
  }

  return draws;
}

export interface GroupResult {
  outcomes: ConsumptionOutcome[];
  /** The events written to the outbox with the rows. */
  events: EventDraft[];
}

/** A group read and planned under its locks, with the statements that write it. */
interface PlannedGroup extends GroupResult {
  writes: SQL[];
}

/**
 * A group of one workspace whose consumptions are chosen once its balance is
 * locked: whatever arrives while it waits for the lock joins it.
 */
export interface LateGroup {
  workspaceId: string;
  take(): readonly ConsumptionRequest[];
}

export type GroupSource = readonly ConsumptionRequest[] | LateGroup;

const isLate = (source: GroupSource): source is LateGroup => !Array.isArray(source);

const keysOf = (requests: readonly ConsumptionRequest[]) =>
  requests.flatMap((request) =>
    request.idempotencyKey === null
      ? []
      : [{ workspaceId: request.workspaceId, key: request.idempotencyKey }],
  );

/**
 * Locks, reads and plans a group of consumptions in the caller's transaction
 * and returns each one's outcome, in the order of the requests (a late
 * group's, in the order its `take` returned them), with the statements that
 * write their rows and their events (checked against the catalogue, each
 * with its request's id). commitGroup sends those with the COMMIT.
 */
async function planGroup(tx: Tx, clock: Clock, source: GroupSource): Promise<PlannedGroup> {
  let now = clock.now();
  let requests: readonly ConsumptionRequest[];
  let locked: LockedRow[];
  let grants: Map<string, LiveGrant[]>;
  let stored: Map<string, StoredConsumption>;
  if (isLate(source)) {
    [locked, grants] = await Promise.all([
      lockWorkspaces(tx, [source.workspaceId]),
      liveGrants(tx, [source.workspaceId]),
    ]);
    requests = source.take();
    if (requests.length === 0) return { outcomes: [], events: [], writes: [] };
    now = clock.now();
    stored = await storedConsumptions(tx, keysOf(requests), now);
  } else {
    requests = source;
    const ids = [...new Set(requests.map((request) => request.workspaceId))].sort();
    // Sent together: the server runs them in order, and each later statement reads what was
    // committed once the locks were granted (read committed takes a snapshot per statement).
    [locked, grants, stored] = await Promise.all([
      lockWorkspaces(tx, ids),
      liveGrants(tx, ids),
      storedConsumptions(tx, keysOf(requests), now),
    ]);
    // The records' time is when the group held its locks, not when it began to wait for them.
    now = clock.now();
  }
  const workspaceIds = [...new Set(requests.map((request) => request.workspaceId))].sort();
  const states = new Map<string, WorkspaceState>();
  for (const row of locked) {
    states.set(row.workspace_id, {
      locked: {
        workspaceId: row.workspace_id,
        balance: row.balance,
        belowThreshold: row.below_threshold,
        topUpThreshold: row.top_up_threshold,
        belowTopUp: row.below_top_up,
      },
      terms: {
        status: row.status,
        priceTable: row.price_table,
        lowBalanceThreshold: row.low_balance_threshold,
        overagePolicy: row.overage_policy,
        overageCapCredits: row.overage_cap_credits,
      },
      grants: [],
      overageUsed: null,
      overagePeriodStart: null,
      settled: false,
    });
  }
  const active = workspaceIds.filter((id) => states.get(id)?.terms.status === "active");

  const events: EventDraft[] = [];
  const eventRequestIds: (string | null)[] = [];
  const emit = (request: ConsumptionRequest, drafts: EventDraft[]) => {
    for (const draft of drafts) {
      events.push(draft);
      eventRequestIds.push(request.requestId);
    }
  };

  // Grants past their expiry are expired first, as drawCredits does; this reuses the ledger's
  // own expiry (it writes the balance row) and re-reads what it changed. Rare: once per grant.
  for (const workspaceId of active) {
    const state = states.get(workspaceId)!;
    const live = grants.get(workspaceId) ?? [];
    const due = live.some((grant) => grant.expiresAt && grant.expiresAt.getTime() <= now.getTime());
    if (due) {
      const expired = await expireGrants(tx, clock, workspaceId, state.terms.lowBalanceThreshold);
      if (expired.length > 0) {
        const first = requests.find((request) => request.workspaceId === workspaceId)!;
        emit(first, expired);
        const [row] = await tx
          .select({
            balance: creditBalances.balance,
            belowThreshold: creditBalances.belowThreshold,
            belowTopUp: creditBalances.belowTopUp,
          })
          .from(creditBalances)
          .where(eq(creditBalances.workspaceId, workspaceId));
        Object.assign(state.locked, row);
        grants.set(workspaceId, (await liveGrants(tx, [workspaceId])).get(workspaceId) ?? []);
      }
    }
    state.grants = grants.get(workspaceId) ?? [];
  }

  const outcomes: ConsumptionOutcome[] = [];
  /** Keys answered earlier in this group: a second item with the same key replays the first. */
  const answered = new Map<string, StoredConsumption>();
  const ledgerRows: LedgerRow[] = [];
  const usageRows: UsageRow[] = [];
  const overageRows: (typeof overageRecords.$inferInsert)[] = [];
  const takes = new Map<string, number>();
  /** The usage records written, by workspace. */
  const loggedBy = new Map<string, ConsumeResult[]>();

  for (const request of requests) {
    const state = states.get(request.workspaceId);
    if (!state) {
      outcomes.push({ ok: false, error: new AppError("not_found", "Workspace not found") });
      continue;
    }
    const { terms, locked: balance } = state;
    if (terms.status !== "active") {
      outcomes.push({
        ok: false,
        error: inactiveWorkspaceError(terms.status, "it cannot consume credits"),
      });
      continue;
    }
    const feature = findFeature(terms.priceTable, request.featureCode);
    if (!feature) {
      outcomes.push({
        ok: false,
        error: new AppError(
          "invalid_request",
          `Unknown feature "${request.featureCode}" for this workspace's tier`,
          {
            field: "featureCode",
            details: { features: terms.priceTable.map((price) => price.featureCode) },
          },
        ),
      });
      continue;
    }
    const quote = priceCall(feature, request.inputBytes);
    if (quote.credits > MAX_CREDITS) {
      outcomes.push({
        ok: false,
        error: new AppError("invalid_request", "This input is too large to price in one call", {
          field: "inputBytes",
        }),
      });
      continue;
    }

    const pair = request.idempotencyKey && storedKey(request.workspaceId, request.idempotencyKey);
    const earlier = pair ? (answered.get(pair) ?? stored.get(pair)) : undefined;
    if (earlier) {
      try {
        outcomes.push({
          ok: true,
          result: { ...replayOf(earlier, quote.featureCode, request.inputBytes), replayed: true },
        });
      } catch (error) {
        outcomes.push({ ok: false, error });
      }
      continue;
    }

    const usageRecordId = randomUUID();
    const ref = actorRef(request.actor);
    const own: EventDraft[] = [];
    const draw = (amount: number) => {
      for (const taken of takeFromGrants(state.grants, amount)) {
        balance.balance -= taken.amount;
        takes.set(taken.grantId, (takes.get(taken.grantId) ?? 0) + taken.amount);
        ledgerRows.push({
          workspace_id: request.workspaceId,
          grant_id: taken.grantId,
          amount: -taken.amount,
          balance_after: balance.balance,
          reason: `Feature ${quote.featureCode}`,
          actor_type: ref.type,
          actor_id: ref.id,
          idempotency_key: request.idempotencyKey,
          usage_record_id: usageRecordId,
        });
      }
      state.settled = true;
      own.push(...settleSnapshot(balance, balance.balance, terms.lowBalanceThreshold));
    };

    let allowed = false;
    let overageCredits = 0;
    if (quote.credits <= balance.balance) {
      draw(quote.credits);
      allowed = true;
    } else if (terms.overagePolicy === "soft_cap") {
      state.overagePeriodStart ??= await overagePeriodStart(tx, request.workspaceId, now);
      const periodStart = state.overagePeriodStart;
      state.overageUsed ??= await overageUsedThisPeriod(tx, request.workspaceId, periodStart);
      const shortfall = quote.credits - balance.balance;
      if (state.overageUsed + shortfall <= terms.overageCapCredits) {
        draw(balance.balance);
        allowed = true;
        overageCredits = shortfall;
        state.overageUsed += shortfall;
        overageRows.push({
          workspaceId: request.workspaceId,
          usageRecordId,
          credits: shortfall,
          periodStart,
          createdAt: now,
        });
        own.unshift(
          event("credits/overage", {
            workspaceId: request.workspaceId,
            usageRecordId,
            overageCredits: shortfall,
          }),
        );
      }
    }
    const outcome = allowed ? "consumed" : "rejected";

    usageRows.push({
      id: usageRecordId,
      workspace_id: request.workspaceId,
      feature_code: quote.featureCode,
      input_bytes: request.inputBytes,
      units: quote.units,
      credits: quote.credits,
      outcome,
      api_key_id: request.actor.type === "api_key" ? request.actor.apiKeyId : null,
      user_id: request.actor.type === "user" ? request.actor.userId : null,
      idempotency_key: request.idempotencyKey,
      balance_after: balance.balance,
      overage_credits: overageCredits,
    });
    const result: ConsumeResult = {
      allowed,
      usageRecordId,
      featureCode: quote.featureCode,
      units: quote.units,
      credits: quote.credits,
      overageCredits,
      balance: balance.balance,
      replayed: false,
    };
    if (pair) {
      answered.set(pair, {
        featureCode: quote.featureCode,
        inputBytes: request.inputBytes,
        result: { ...result, replayed: true },
      });
    }

    // The same events, in the same order, as consumeOne.
    const overage = own.filter((draft) => draft.name === "credits/overage");
    const crossings = own.filter((draft) => draft.name !== "credits/overage");
    emit(request, [...overage, ...crossings]);
    const logged = loggedBy.get(request.workspaceId);
    if (logged) logged.push(result);
    else loggedBy.set(request.workspaceId, [result]);
    outcomes.push({ ok: true, result });
  }
  // One credits/consumed and one usage/logged per workspace for the group, as one transaction
  // of consumeCredits writes.
  for (const [workspaceId, logged] of loggedBy) {
    for (const draft of consumptionEvents(workspaceId, logged)) {
      events.push(draft);
      eventRequestIds.push(null);
    }
  }

  const writes = [
    writePlan(now, {
      takes,
      ledgerRows,
      usageRows,
      overageRows,
      balances: [...states.values()].filter((state) => state.settled).map((state) => state.locked),
    }),
  ];
  const written = eventsStatement(events, clock, { requestIds: eventRequestIds });
  if (written) writes.push(written.statement);

  return { outcomes, events, writes };
}

/**
 * All of the group's rows in one statement (data-modifying CTEs, each fed one
 * JSON parameter): one round trip and one executor start whatever the
 * group's size, rather than one per kind of row.
 */
function writePlan(
  now: Date,
  plan: {
    takes: Map<string, number>;
    ledgerRows: LedgerRow[];
    usageRows: UsageRow[];
    overageRows: (typeof overageRecords.$inferInsert)[];
    balances: LockedBalance[];
  },
) {
  const at = now.toISOString();
  const rows = (value: unknown) => sql`${JSON.stringify(value)}::json`;
  const takes = [...plan.takes].map(([id, take]) => ({ id, take }));
  const balances = plan.balances.map((locked) => ({
    workspace_id: locked.workspaceId,
    balance: locked.balance,
    below_threshold: locked.belowThreshold,
    below_top_up: locked.belowTopUp,
  }));
  const overage = plan.overageRows.map((row) => ({
    workspace_id: row.workspaceId,
    usage_record_id: row.usageRecordId,
    credits: row.credits,
    period_start: row.periodStart.toISOString(),
  }));

  return sql`
    WITH grants AS (
      UPDATE credit_grants AS g SET remaining = g.remaining - d.take
      FROM json_to_recordset(${rows(takes)}) AS d(id uuid, take int)
      WHERE g.id = d.id
      RETURNING 1
    ), ledger AS (
      INSERT INTO credit_ledger_entries (workspace_id, grant_id, kind, amount, balance_after,
        reason, actor_type, actor_id, idempotency_key, usage_record_id, created_at)
      SELECT r.workspace_id, r.grant_id, 'consume', r.amount, r.balance_after, r.reason,
        r.actor_type, r.actor_id, r.idempotency_key, r.usage_record_id, ${at}::timestamptz
      FROM json_to_recordset(${rows(plan.ledgerRows)}) AS r(workspace_id uuid, grant_id uuid,
        amount int, balance_after int, reason text, actor_type text, actor_id text,
        idempotency_key text, usage_record_id uuid)
      RETURNING 1
    ), usage AS (
      INSERT INTO usage_records (id, workspace_id, feature_code, input_bytes, units, credits,
        outcome, api_key_id, user_id, idempotency_key, balance_after, overage_credits, created_at)
      SELECT r.id, r.workspace_id, r.feature_code, r.input_bytes, r.units, r.credits,
        r.outcome::usage_outcome, r.api_key_id, r.user_id, r.idempotency_key, r.balance_after,
        r.overage_credits, ${at}::timestamptz
      FROM json_to_recordset(${rows(plan.usageRows)}) AS r(id uuid, workspace_id uuid,
        feature_code text, input_bytes bigint, units int, credits int, outcome text,
        api_key_id uuid, user_id uuid, idempotency_key text, balance_after int,
        overage_credits int)
      RETURNING 1
    ), overage AS (
      INSERT INTO overage_records (workspace_id, usage_record_id, credits, period_start, created_at)
      SELECT r.workspace_id, r.usage_record_id, r.credits, r.period_start, ${at}::timestamptz
      FROM json_to_recordset(${rows(overage)}) AS r(workspace_id uuid, usage_record_id uuid,
        credits int, period_start timestamptz)
      RETURNING 1
    ), balances AS (
      UPDATE credit_balances AS b SET balance = d.balance, below_threshold = d.below_threshold,
        below_top_up = d.below_top_up, updated_at = ${at}::timestamptz
      FROM json_to_recordset(${rows(balances)}) AS d(workspace_id uuid, balance int,
        below_threshold boolean, below_top_up boolean)
      WHERE b.workspace_id = d.workspace_id
      RETURNING 1
    )
    SELECT 1`;
}

const RETRYABLE_CODES = new Set(["40P01", "40001"]);
const MAX_ATTEMPTS = 3;

function retryable(error: unknown): boolean {
  // drizzle wraps the driver's error; the SQLSTATE is on it or on its cause.
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && RETRYABLE_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }

  return false;
}

/**
 * One group in one transaction of two round trips: BEGIN goes out with the
 * locks and reads, and the writes go out with COMMIT. Sending COMMIT behind
 * the writes is safe because they were built, and the events checked against
 * the catalogue, before anything was sent: if a write fails, the server turns
 * the COMMIT into a rollback, which is an error here. The connection is
 * reserved from the pool for the transaction, as a `db.transaction` would.
 */
const dialect = new PgDialect();

async function commitGroup(runtime: CommandRuntime, source: GroupSource): Promise<GroupResult> {
  const connection = await runtime.db.$client.reserve();
  // The group's statements run on this connection inside the BEGIN below, as named prepared
  // statements with generic plans: their text never changes (the rows travel as parameters), so
  // the server parses and plans each once per connection instead of for every group. drizzle
  // needs only `unsafe` and the pool's type parsers (`options`) from its client.
  const run = (text: string, params: unknown[] = []) =>
    connection.unsafe(text, params as never[], { prepare: true });
  const client = { options: runtime.db.$client.options, unsafe: run };
  const tx = drizzle({ client: client as unknown as Sql }) as unknown as Tx;
  const rollback = () =>
    connection.unsafe("ROLLBACK").then(
      () => undefined,
      () => undefined,
    );
  try {
    let planned: PlannedGroup;
    try {
      [, , planned] = await Promise.all([
        connection.unsafe("BEGIN").execute(),
        run("SET LOCAL plan_cache_mode = force_generic_plan").execute(),
        planGroup(tx, runtime.clock, source),
      ]);
    } catch (error) {
      await rollback();
      throw error;
    }
    const { writes, ...group } = planned;
    // Handed to the connection in this order, here and now: through drizzle's own execute the
    // writes would reach it a few ticks later, after the COMMIT.
    const sent = await Promise.allSettled([
      ...writes.map((statement) => {
        const query = dialect.sqlToQuery(statement);
        return run(query.sql, query.params).execute();
      }),
      connection.unsafe("COMMIT").execute(),
    ]);
    const failed = sent.find((outcome) => outcome.status === "rejected");
    if (failed) {
      await rollback();
      throw failed.reason;
    }
    const committed = sent.at(-1) as PromiseFulfilledResult<{ command: string }>;
    if (committed.value.command !== "COMMIT") {
      throw new Error("The server rolled back the consumption group instead of committing it");
    }

    return group;
  } finally {
    connection.release();
  }
}

/**
 * Commits a group of consumptions in one transaction with their events, and
 * wakes the relay. What the group cannot commit is run item by item.
 */
export async function commitConsumptions(
  runtime: CommandRuntime,
  source: GroupSource,
  log: Logger = runtime.logger,
): Promise<ConsumptionOutcome[]> {
  // A late group takes its consumptions once; a retry or the fallback runs the same ones.
  let taken: readonly ConsumptionRequest[] | undefined = isLate(source) ? undefined : source;
  const once: GroupSource = isLate(source)
    ? { workspaceId: source.workspaceId, take: () => (taken ??= source.take()) }
    : source;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    try {
      const group = await commitGroup(runtime, once);
      if (group.events.length > 0) runtime.wake();

      return group.outcomes;
    } catch (error) {
      if (retryable(error) && attempt < MAX_ATTEMPTS) continue;
      log.warn(
        { err: error, items: taken?.length ?? 0, attempt },
        "consumption group failed; running its items one by one",
      );
      break;
    }
  }
  const requests = isLate(once) ? once.take() : once;

  return Promise.all(requests.map((request) => consumeAlone(runtime, request, log)));
}

async function consumeAlone(
  runtime: CommandRuntime,
  request: ConsumptionRequest,
  log: Logger,
): Promise<ConsumptionOutcome> {
  try {
    const result = await execute(
      runtime,
      consumeCredits,
      {
        workspaceId: request.workspaceId,
        featureCode: request.featureCode,
        inputBytes: request.inputBytes,
        idempotencyKey: request.idempotencyKey,
      },
      { actor: request.actor, requestId: request.requestId, log },
    );

    return { ok: true, result };
  } catch (error) {
    if (!isAppError(error)) log.error({ err: error }, "consumption failed");

    return { ok: false, error };
  }
}

export interface GroupCommitOptions {
  /** Most consumptions in one transaction. */
  maxItems?: number;
  /**
   * Most group transactions committing at once, and as many late ones waiting for a balance lock;
   * each holds one pooled connection.
   */
  maxConcurrent?: number;
}

interface Waiting {
  request: ConsumptionRequest;
  resolve(result: ConsumeResult): void;
  reject(error: unknown): void;
}

/**
 * The queue in front of commitConsumptions. Consumptions that arrive while
 * a workspace's group is committing wait for the next group, so the busier
 * a workspace, the larger its groups, and one transaction carries what many
 * would. A workspace is in at most two open groups at a time: the second
 * is late (LateGroup): it waits on the balance row lock inside the database
 * and takes its consumptions only once it holds it, so it starts the moment
 * the first commits, with everything that arrived meanwhile (every read of a
 * group follows its lock, so it plans from committed state). Groups of
 * workspaces no group holds run side by side, up to `maxConcurrent`.
 *
 * TODO: the queue is per process; several server processes each group their
 * own requests and meet on the balance row lock, which stays correct but
 * groups less.
 */
/** One committing, one waiting for its lock; a third would only queue behind them. */
const OPEN_GROUPS_PER_WORKSPACE = 2;

export class GroupCommit {
  private readonly pending = new Map<string, Waiting[]>();
  /** Open groups per workspace. */
  private readonly busy = new Map<string, number>();
  private readonly maxItems: number;
  private readonly maxConcurrent: number;
  private running = 0;
  /** Of `running`, the late groups: they wait for a lock, so they do not count against the limit. */
  private late = 0;
  /** Workspaces with a late group that has not taken its consumptions yet: one is enough. */
  private readonly lateWaiting = new Set<string>();
  private scheduled = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly runtime: CommandRuntime,
    options: GroupCommitOptions = {},
  ) {
    this.maxItems = options.maxItems ?? 1_000;
    this.maxConcurrent = options.maxConcurrent ?? 3;
  }

  /** Consumes credits; rejects with the item's own error (an AppError for the caller's mistakes). */
  consume(request: ConsumptionRequest): Promise<ConsumeResult> {
    return new Promise<ConsumeResult>((resolve, reject) => {
      const queue = this.pending.get(request.workspaceId);
      if (queue) queue.push({ request, resolve, reject });
      else this.pending.set(request.workspaceId, [{ request, resolve, reject }]);
      this.schedule();
    });
  }

  /** Resolves once nothing is queued or committing. */
  settled(): Promise<void> {
    if (this.running === 0 && this.pending.size === 0) return Promise.resolve();

    return new Promise((resolve) => this.idle.push(resolve));
  }

  private schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    // Requests whose bodies arrive in the same turn of the event loop join one group.
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump() {
    for (;;) {
      const next = this.next(
        this.running - this.late < this.maxConcurrent,
        this.late < this.maxConcurrent,
      );
      if (!next) break;
      this.running++;
      const { workspaceIds } = next;
      const late = next.group === null;
      if (late) {
        this.late++;
        this.lateWaiting.add(workspaceIds[0]!);
      }
      for (const id of workspaceIds) this.busy.set(id, (this.busy.get(id) ?? 0) + 1);
      let group = next.group ?? [];
      const source: GroupSource = next.group
        ? next.group.map((waiting) => waiting.request)
        : {
            workspaceId: workspaceIds[0]!,
            take: () => {
              this.lateWaiting.delete(workspaceIds[0]!);
              group = this.takeFrom(workspaceIds[0]!);
              return group.map((waiting) => waiting.request);
            },
          };
      const done = () => {
        this.running--;
        if (late) {
          this.late--;
          this.lateWaiting.delete(workspaceIds[0]!);
        }
        for (const id of workspaceIds) {
          const open = (this.busy.get(id) ?? 1) - 1;
          if (open === 0) this.busy.delete(id);
          else this.busy.set(id, open);
        }
        // The next group goes to the database before this one's answers are written.
        this.pump();
      };

      commitConsumptions(this.runtime, source).then(
        (outcomes) => {
          done();
          outcomes.forEach((outcome, index) => {
            const waiting = group[index]!;
            if (outcome.ok) waiting.resolve(outcome.result);
            else waiting.reject(outcome.error);
          });
        },
        (error: unknown) => {
          done();
          group.forEach((waiting) => waiting.reject(error));
        },
      );
    }
    if (this.running === 0 && this.pending.size === 0) {
      for (const resolve of this.idle.splice(0)) resolve();
    }
  }

  /**
   * The next group to open. First, the waiting consumptions, oldest first, of every workspace no
   * open group holds. Failing that, a late group for one held workspace: it waits for the balance
   * lock and then takes what its workspace has waiting, so while one group commits the next grows;
   * mixing that workspace with others would make them all wait behind its lock.
   */
  private next(
    groupAllowed: boolean,
    lateAllowed: boolean,
  ): { group: Waiting[] | null; workspaceIds: string[] } | null {
    const group: Waiting[] = [];
    const workspaceIds: string[] = [];
    for (const [workspaceId, queue] of groupAllowed ? this.pending : []) {
      if (group.length >= this.maxItems) break;
      if (this.busy.has(workspaceId)) continue;
      group.push(...queue.splice(0, this.maxItems - group.length));
      workspaceIds.push(workspaceId);
      if (queue.length === 0) this.pending.delete(workspaceId);
    }
    if (group.length > 0) return { group, workspaceIds };

    for (const workspaceId of lateAllowed ? this.pending.keys() : []) {
      if ((this.busy.get(workspaceId) ?? 0) >= OPEN_GROUPS_PER_WORKSPACE) continue;
      if (this.lateWaiting.has(workspaceId)) continue;
      return { group: null, workspaceIds: [workspaceId] };
    }

    return null;
  }

  private takeFrom(workspaceId: string): Waiting[] {
    const queue = this.pending.get(workspaceId);
    if (!queue) return [];
    const taken = queue.splice(0, this.maxItems);
    if (queue.length === 0) this.pending.delete(workspaceId);

    return taken;
  }
}
