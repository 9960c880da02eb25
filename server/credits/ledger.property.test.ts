import { eq, sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { creditHolds, workspaces } from "@/drizzle/schema";
import type { Actor } from "@/server/actor";
import { sweepBillingCycles } from "@/server/billing/cycles";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import { isAppError } from "@/server/errors";
import { writeEvents } from "@/server/events/outbox";
import type { Runtime } from "@/server/runtime";
import { bytesCosting } from "@/test/support/credits";
import { drain, makeUser, makeWorkspace, runCron, testRuntime } from "@/test/support/runtime";
import { makeTier } from "@/test/support/tiers";

import { transferCredits } from "./adjustments";
import { consumeBatch, consumeCredits, type ConsumeResult } from "./consume";
import { expireHolds, finalizeHold, placeHold, releaseHold } from "./holds";
import { checkInvariant, drawCredits, grantCredits } from "./ledger";
import { IDEMPOTENCY_KEY_DAYS } from "./retention";
import { expireDueGrants } from "./reactions";

/**
 * Random sequences of everything that moves credits (grants, consumption,
 * batches, holds and their settlement, refund-like draws from one purchase,
 * transfers, and the expiry, hold and period crons while the clock moves),
 * some steps run concurrently, against two workspaces of one owner. After
 * every step it checks, for both workspaces:
 *
 * - the invariant: balance = sum of ledger entries = sum of grant remainders;
 * - no overdraft: every consumption drew exactly its credits less its
 *   overage, every hold holds exactly what its state says, overage stays
 *   within the tier's cap (none under a hard stop);
 * - the low-balance flag says whether the balance is below the threshold;
 * - idempotent replays: one charge per key, replays equal the first answer,
 *   a conflict only for other parameters.
 *
 * The seed is fixed so every run checks the same sequences. To explore, set
 * LEDGER_PROPERTY_SEED to another integer (or "random") and
 * LEDGER_PROPERTY_RUNS to a count; LEDGER_PROPERTY_SHRINK=1 shrinks a
 * failure to a minimal sequence (slow: each attempt runs against the
 * database). fast-check prints the seed and path of a failure.
 */
const SEED =
  process.env.LEDGER_PROPERTY_SEED === "random"
    ? Math.floor(Math.random() * 2 ** 31)
    : Number(process.env.LEDGER_PROPERTY_SEED ?? 20_270_101);
const RUNS = Number(process.env.LEDGER_PROPERTY_RUNS ?? 30);

/** How often each outcome came up; LEDGER_PROPERTY_STATS=1 prints it, to tune the generators. */
const outcomes = new Map<string, number>();
const tally = (outcome: string) => outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
const answerOf = (result: ConsumeResult) =>
  result.replayed
    ? "replayed"
    : !result.allowed
      ? "refused"
      : result.overageCredits > 0
        ? "overage"
        : "consumed";

const clock = new ManualClock("2027-01-04T06:00:00Z");
let runtime: Runtime;

beforeAll(async () => {
  runtime = await testRuntime({ clock, pool: 12 });
});
afterAll(async () => {
  await runtime.stop();
  if (process.env.LEDGER_PROPERTY_STATS) console.table(Object.fromEntries([...outcomes].sort()));
});

// ---------------------------------------------------------------------------
// The commands a sequence is made of: plain data, so a failure prints them.

type Side = 0 | 1;
type CronName = "holds" | "grants" | "periods";
type Command =
  | {
      op: "grant";
      ws: Side;
      credits: number;
      source: "purchase" | "promotion";
      expiresInHours: number | null;
    }
  | { op: "consume"; ws: Side; credits: number; key: string | null }
  | { op: "batch"; ws: Side; items: { credits: number; key: string }[] }
  | { op: "hold"; ws: Side; credits: number; seconds: number; key: string | null }
  | { op: "finalize"; hold: number; credits: number }
  | { op: "release"; hold: number }
  | { op: "refund"; grant: number; credits: number }
  | { op: "transfer"; from: Side; credits: number }
  | { op: "cron"; cron: CronName }
  | { op: "advance"; minutes: number };

const side = fc.constantFrom<Side>(0, 1);
const credits = fc.integer({ min: 1, max: 60 });

/**
 * Most uses of a key ask for its own amount, so they replay; a few ask for
 * another, so they conflict (unless they happen to match).
 */
const KEYED_CREDITS: Record<string, number> = { k1: 7, k2: 20, k3: 45, k5: 3, k6: 18 };
const keyedCall = (keys: string[]) =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constantFrom(...keys).map((key) => ({ key, credits: KEYED_CREDITS[key] ?? 1 })),
    },
    { weight: 1, arbitrary: fc.record({ key: fc.constantFrom(...keys), credits }) },
  );
const consumeCall = fc.oneof(
  { weight: 2, arbitrary: fc.record({ key: fc.constant(null), credits }) },
  { weight: 3, arbitrary: keyedCall(["k1", "k2", "k3"]) },
);

const HOLD_KEYS: Record<string, { credits: number; seconds: number }> = {
  h1: { credits: 12, seconds: 600 },
  h2: { credits: 5, seconds: 60 },
};
const holdCall = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      key: fc.constant(null),
      credits,
      seconds: fc.constantFrom(60, 600, 7_200, 3 * 86_400),
    }),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom("h1", "h2")
      .map((key) => ({ key, ...(HOLD_KEYS[key] ?? { credits: 1, seconds: 60 }) })),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      key: fc.constantFrom("h1", "h2"),
      credits,
      seconds: fc.constantFrom(60, 600),
    }),
  },
);

const concurrentCommand: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("grant" as const),
      ws: side,
      credits: fc.integer({ min: 1, max: 40 }),
      source: fc.constantFrom("purchase" as const, "promotion" as const),
      expiresInHours: fc.option(fc.integer({ min: 1, max: 1_500 }), { nil: null }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc
      .tuple(side, consumeCall)
      .map(([ws, call]) => ({ op: "consume" as const, ws, ...call })),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("batch" as const),
      ws: side,
      items: fc.array(keyedCall(["k1", "k2", "k5", "k6"]), { minLength: 1, maxLength: 4 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.tuple(side, holdCall).map(([ws, call]) => ({ op: "hold" as const, ws, ...call })),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("finalize" as const),
      hold: fc.nat(20),
      credits: fc.integer({ min: 0, max: 65 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("release" as const), hold: fc.nat(20) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("refund" as const),
      grant: fc.nat(10),
      credits: fc.integer({ min: 1, max: 60 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("transfer" as const),
      from: side,
      credits: fc.integer({ min: 1, max: 80 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("cron" as const),
      cron: fc.constantFrom<CronName>("holds", "grants", "periods"),
    }),
  },
);

const advance: fc.Arbitrary<Command> = fc.record({
  op: fc.constant("advance" as const),
  // A minute, hours (holds and short grants lapse), days, a month (a period ends).
  minutes: fc.constantFrom(1, 90, 26 * 60, 9 * 1_440, 31 * 1_440),
});

/** A step is one command, a few run at once, or the clock moving on. */
const step = fc.oneof(
  { weight: 6, arbitrary: concurrentCommand.map((command) => [command]) },
  { weight: 3, arbitrary: fc.array(concurrentCommand, { minLength: 2, maxLength: 4 }) },
  { weight: 2, arbitrary: advance.map((command) => [command]) },
);

const scenario = fc.record({
  overage: fc.constantFrom("hard_stop" as const, "soft_cap" as const),
  rollover: fc.constantFrom(
    { rolloverCapCredits: 80, rolloverCapPercent: null },
    { rolloverCapCredits: null, rolloverCapPercent: 40 },
    { rolloverCapCredits: null, rolloverCapPercent: null },
  ),
  rolloverExpiryPeriods: fc.integer({ min: 1, max: 2 }),
  steps: fc.array(step, { minLength: 6, maxLength: 22 }),
});

// ---------------------------------------------------------------------------
// Running a sequence.

const OVERAGE_CAP = 40;
const THRESHOLD = 30;
/** Holds name a priced feature no consumption step uses, so their usage records stand apart. */
const HOLD_FEATURE = "image-generate";

interface World {
  ws: [string, string];
  actor: Actor;
  holds: { ws: string; holdId: string }[];
  purchaseGrants: { ws: string; grantId: string }[];
  /** Every answer to a consumption with a key, in the order they came back, and when (ms). */
  consumeAnswers: { ws: string; key: string; credits: number; result: ConsumeResult; at: number }[];
  consumeConflicts: { ws: string; key: string; credits: number; at: number }[];
  holdAnswers: { ws: string; key: string; params: string; holdId: string; replayed: boolean }[];
  holdConflicts: { ws: string; key: string; params: string }[];
  grants: number;
}

/** The errors each command may answer with; anything else fails the property. */
const expectedErrors: Record<Command["op"], string[]> = {
  grant: [],
  consume: ["idempotency_conflict"],
  batch: [],
  hold: ["insufficient_credits", "idempotency_conflict"],
  finalize: ["conflict", "invalid_request"],
  release: ["conflict"],
  refund: [],
  transfer: ["insufficient_credits"],
  cron: [],
  advance: [],
};

/** The period cron is the billing cycle sweep; its cycles close the credit periods. */
const crons = { holds: expireHolds, grants: expireDueGrants, periods: sweepBillingCycles };

async function run(world: World, command: Command): Promise<void> {
  const ws = (side: Side) => world.ws[side];
  const meta = { actor: world.actor };
  switch (command.op) {
    case "grant": {
      const workspaceId = ws(command.ws);
      const index = world.grants++;
      const granted = await runtime.db.transaction(async (tx) => {
        const result = await grantCredits(tx, clock, {
          workspaceId,
          source: command.source,
          amount: command.credits,
          idempotencyKey: `property-grant-${index}`,
          reason: "Property test grant",
          actor: { type: "system", reason: "property test" },
          priority: command.source === "purchase" ? 200 : 100,
          expiresAt:
            command.expiresInHours === null
              ? null
              : new Date(clock.now().getTime() + command.expiresInHours * 3_600_000),
          lowBalanceThreshold: THRESHOLD,
        });
        await writeEvents(tx, result.events, clock);

        return result;
      });
      if (command.source === "purchase") {
        world.purchaseGrants.push({ ws: workspaceId, grantId: granted.grantId });
      }
      return;
    }
    case "consume": {
      const workspaceId = ws(command.ws);
      try {
        const result = await execute(
          runtime,
          consumeCredits,
          {
            workspaceId,
            featureCode: "summarize",
            inputBytes: bytesCosting(command.credits),
            idempotencyKey: command.key,
          },
          meta,
        );
        tally(`consume:${answerOf(result)}`);
        if (command.key) {
          world.consumeAnswers.push({
            ws: workspaceId,
            key: command.key,
            credits: command.credits,
            result,
            at: clock.now().getTime(),
          });
        }
      } catch (error) {
        if (isAppError(error) && error.code === "idempotency_conflict" && command.key) {
          world.consumeConflicts.push({
            ws: workspaceId,
            key: command.key,
            credits: command.credits,
            at: clock.now().getTime(),
          });
        }
        throw error;
      }
      return;
    }
    case "batch": {
      const workspaceId = ws(command.ws);
      const results = await execute(
        runtime,
        consumeBatch,
        {
          workspaceId,
          items: command.items.map((item) => ({
            featureCode: "summarize",
            inputBytes: bytesCosting(item.credits),
            idempotencyKey: item.key,
          })),
        },
        meta,
      );
      results.forEach((result, i) => {
        const item = command.items[i];
        if (!item) throw new Error("A batch answered more items than it was sent");
        if (result.status === "error") {
          if (result.error.code !== "idempotency_conflict") {
            throw new Error(`Unexpected batch item error ${result.error.code}`);
          }
          world.consumeConflicts.push({
            ws: workspaceId,
            key: item.key,
            credits: item.credits,
            at: clock.now().getTime(),
          });
          return;
        }
        const { status, ...answer } = result;
        tally(`batch:${answerOf(answer)}`);
        expect(status === "duplicate").toBe(answer.replayed);
        world.consumeAnswers.push({
          ws: workspaceId,
          key: item.key,
          credits: item.credits,
          result: answer,
          at: clock.now().getTime(),
        });
      });
      return;
    }
    case "hold": {
      const workspaceId = ws(command.ws);
      const params = `${command.credits}/${command.seconds}`;
      try {
        const hold = await execute(
          runtime,
          placeHold,
          {
            workspaceId,
            credits: command.credits,
            expiresInSeconds: command.seconds,
            featureCode: HOLD_FEATURE,
            idempotencyKey: command.key,
          },
          meta,
        );
        tally(hold.replayed ? "hold:replayed" : "hold:placed");
        if (!hold.replayed) world.holds.push({ ws: workspaceId, holdId: hold.holdId });
        if (command.key) {
          world.holdAnswers.push({
            ws: workspaceId,
            key: command.key,
            params,
            holdId: hold.holdId,
            replayed: hold.replayed,
          });
        }
      } catch (error) {
        if (isAppError(error) && error.code === "idempotency_conflict" && command.key) {
          world.holdConflicts.push({ ws: workspaceId, key: command.key, params });
        }
        throw error;
      }
      return;
    }
    case "finalize":
    case "release": {
      const hold = world.holds[command.hold % Math.max(1, world.holds.length)];
      if (!hold) return;
      if (command.op === "finalize") {
        await execute(
          runtime,
          finalizeHold,
          { workspaceId: hold.ws, holdId: hold.holdId, credits: command.credits },
          meta,
        );
      } else {
        await execute(runtime, releaseHold, { workspaceId: hold.ws, holdId: hold.holdId }, meta);
      }
      return;
    }
    case "refund": {
      const grant = world.purchaseGrants[command.grant % Math.max(1, world.purchaseGrants.length)];
      if (!grant) return;
      await runtime.db.transaction(async (tx) => {
        const drawn = await drawCredits(tx, clock, {
          workspaceId: grant.ws,
          amount: command.credits,
          actor: { type: "system", reason: "property test refund" },
          reason: "Refund of unused purchased credits",
          idempotencyKey: null,
          usageRecordId: null,
          lowBalanceThreshold: THRESHOLD,
          kind: "refund",
          grantIds: [grant.grantId],
        });
        await writeEvents(tx, drawn.events, clock);
      });
      return;
    }
    case "transfer": {
      await execute(
        runtime,
        transferCredits,
        {
          fromWorkspaceId: ws(command.from),
          toWorkspaceId: ws(command.from === 0 ? 1 : 0),
          credits: command.credits,
          reason: "Property test transfer",
        },
        meta,
      );
      return;
    }
    case "cron":
      await runCron(runtime, crons[command.cron]);
      if (command.cron === "periods") await drain(runtime);
      return;
    case "advance":
      clock.advance(command.minutes * 60_000);
      return;
  }
}

/** Runs a step's commands at once; expected refusals are answers, anything else fails. */
async function runStep(world: World, commands: Command[]) {
  const settled = await Promise.allSettled(commands.map((command) => run(world, command)));
  settled.forEach((outcome, i) => {
    const command = commands[i];
    if (outcome.status === "fulfilled") {
      if (command && ["finalize", "release", "transfer", "refund"].includes(command.op)) {
        tally(`${command.op}:ok`);
      }
      return;
    }
    const error = outcome.reason as unknown;
    if (command && isAppError(error) && expectedErrors[command.op].includes(error.code)) {
      tally(`${command.op}:${error.code}`);
      return;
    }
    throw new Error(
      `${JSON.stringify(command)} failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  });
}

// ---------------------------------------------------------------------------
// What must hold after every step.

async function checkWorkspace(workspaceId: string, overage: "hard_stop" | "soft_cap") {
  const invariant = await checkInvariant(runtime.db, workspaceId);
  expect(invariant, "balance = entries = grants").toMatchObject({ holds: true });
  expect(invariant.balance).toBeGreaterThanOrEqual(0);

  const [flags] = await runtime.db.execute<{ below: boolean; balance: number }>(sql`
    SELECT below_threshold AS below, balance FROM credit_balances WHERE workspace_id = ${workspaceId}`);
  expect(flags?.below, "low-balance flag").toBe((flags?.balance ?? 0) < THRESHOLD);

  // Each consumption drew exactly its credits less its overage; a refusal drew nothing.
  const consumptions = await runtime.db.execute<{
    id: string;
    expected: number;
    drawn: number;
  }>(sql`
    SELECT u.id,
      CASE WHEN u.outcome = 'consumed'
        THEN u.credits - coalesce((SELECT sum(o.credits) FROM overage_records o
          WHERE o.usage_record_id = u.id), 0)
        ELSE 0 END::int AS expected,
      coalesce((SELECT -sum(e.amount) FROM credit_ledger_entries e
        WHERE e.usage_record_id = u.id AND e.kind = 'consume'), 0)::int AS drawn
    FROM usage_records u
    WHERE u.workspace_id = ${workspaceId} AND u.feature_code <> ${HOLD_FEATURE}`);
  for (const row of consumptions) expect(row.drawn, `usage ${row.id}`).toBe(row.expected);

  // Each hold holds what its state says: all of it while active, what it kept once finalized.
  const holds = await runtime.db.execute<{ id: string; expected: number; held: number }>(sql`
    SELECT h.id,
      CASE h.status WHEN 'active' THEN h.amount WHEN 'finalized' THEN h.final_amount ELSE 0
        END::int AS expected,
      coalesce((SELECT -sum(e.amount) FROM credit_ledger_entries e
        WHERE e.hold_id = h.id AND e.kind IN ('hold', 'release')), 0)::int AS held
    FROM credit_holds h WHERE h.workspace_id = ${workspaceId}`);
  for (const row of holds) expect(row.held, `hold ${row.id}`).toBe(row.expected);

  // Kept credits of finalized holds are recorded as usage.
  const [kept] = await runtime.db.execute<{ kept: number; recorded: number }>(sql`
    SELECT
      coalesce((SELECT sum(final_amount) FROM credit_holds WHERE workspace_id = ${workspaceId}
        AND status = 'finalized'), 0)::int AS kept,
      coalesce((SELECT sum(credits) FROM usage_records WHERE workspace_id = ${workspaceId}
        AND feature_code = ${HOLD_FEATURE}), 0)::int AS recorded`);
  expect(kept?.recorded).toBe(kept?.kept);

  const overageByMonth = await runtime.db.execute<{ credits: number }>(sql`
    SELECT sum(credits)::int AS credits FROM overage_records
    WHERE workspace_id = ${workspaceId} GROUP BY period_start`);
  for (const month of overageByMonth) {
    expect(month.credits).toBeLessThanOrEqual(overage === "soft_cap" ? OVERAGE_CAP : 0);
  }
}

/**
 * One charge per key while the key is remembered (IDEMPOTENCY_KEY_DAYS after its first answer),
 * replays equal to that answer, conflicts only for other parameters; a key older than that is a
 * new request.
 */
function checkReplays(world: World) {
  const lifetime = IDEMPOTENCY_KEY_DAYS * 86_400_000;
  const current = new Map<string, World["consumeAnswers"][number]>();
  const live = (id: string, at: number) => {
    const first = current.get(id);
    return first && at - first.at < lifetime ? first : undefined;
  };
  // Answers given at the same moment (one step) came back in any order; the charge came first.
  const answers = [...world.consumeAnswers].sort(
    (x, y) => x.at - y.at || Number(x.result.replayed) - Number(y.result.replayed),
  );
  const events = [
    ...answers.map((answer) => ({ answer, conflict: undefined })),
    ...world.consumeConflicts.map((conflict) => ({ answer: undefined, conflict })),
  ].sort((x, y) => (x.answer ?? x.conflict)!.at - (y.answer ?? y.conflict)!.at);
  for (const { answer, conflict } of events) {
    if (conflict) {
      const first = live(`${conflict.ws}/${conflict.key}`, conflict.at);
      expect(first?.credits, `conflict on key ${conflict.key}`).not.toBe(conflict.credits);
      continue;
    }
    const id = `${answer!.ws}/${answer!.key}`;
    const first = live(id, answer!.at);
    if (!answer!.result.replayed) {
      expect(first, `one charge for key ${answer!.key}`).toBeUndefined();
      current.set(id, answer!);
      continue;
    }
    expect(first, `a first answer for key ${answer!.key}`).toBeDefined();
    expect(answer!.credits).toBe(first?.credits);
    expect({ ...answer!.result, replayed: false }).toEqual(first?.result);
  }

  const placed = new Map<string, { params: string; holdId: string }>();
  for (const answer of world.holdAnswers.filter((one) => !one.replayed)) {
    const id = `${answer.ws}/${answer.key}`;
    expect(placed.has(id), `one hold for key ${answer.key}`).toBe(false);
    placed.set(id, answer);
  }
  for (const answer of world.holdAnswers) {
    const first = placed.get(`${answer.ws}/${answer.key}`);
    expect(answer.holdId).toBe(first?.holdId);
    expect(answer.params).toBe(first?.params);
  }
  for (const conflict of world.holdConflicts) {
    expect(placed.get(`${conflict.ws}/${conflict.key}`)?.params).not.toBe(conflict.params);
  }
}

describe("the ledger under random sequences", () => {
  it("keeps the invariant, never overdraws and replays idempotently", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ overage, rollover, rolloverExpiryPeriods, steps }) => {
        const { code } = await makeTier(runtime, {
          monthlyCredits: 100,
          signupBonusCredits: 20,
          lowBalanceThreshold: THRESHOLD,
          overagePolicy: overage,
          overageCapCredits: OVERAGE_CAP,
          rolloverExpiryPeriods,
          ...rollover,
        });
        const owner = await makeUser(runtime);
        const a = await makeWorkspace(runtime, { tierCode: code, userId: owner.id });
        const b = await makeWorkspace(runtime, { tierCode: code, userId: owner.id });
        const world: World = {
          ws: [a.workspaceId, b.workspaceId],
          actor: { type: "user", userId: owner.id },
          holds: [],
          purchaseGrants: [],
          consumeAnswers: [],
          consumeConflicts: [],
          holdAnswers: [],
          holdConflicts: [],
          grants: 0,
        };

        try {
          for (const commands of steps) {
            await runStep(world, commands);
            for (const workspaceId of world.ws) await checkWorkspace(workspaceId, overage);
          }
          checkReplays(world);

          // Past every hold's limit, the hold sweep leaves none active and all is still whole.
          clock.advance(8 * 86_400_000);
          await runStep(world, [{ op: "cron", cron: "holds" }]);
          for (const workspaceId of world.ws) {
            await checkWorkspace(workspaceId, overage);
            const active = await runtime.db
              .select({ id: creditHolds.id })
              .from(creditHolds)
              .where(sql`${creditHolds.workspaceId} = ${workspaceId} AND status = 'active'`);
            expect(active).toEqual([]);
          }
        } finally {
          // Later sequences move the clock on; their sweeps leave this pair alone.
          for (const workspaceId of world.ws) {
            await runtime.db
              .update(workspaces)
              .set({ status: "cancelled" })
              .where(eq(workspaces.id, workspaceId));
          }
        }
      }),
      {
        seed: SEED,
        numRuns: RUNS,
        endOnFailure: !process.env.LEDGER_PROPERTY_SHRINK,
      },
    );
  }, 240_000);
});
