import { randomBytes } from "node:crypto";

import { sql } from "drizzle-orm";

import { users } from "@/drizzle/schema";
import { hashPassword } from "@/server/auth/password";
import type { Clock } from "@/server/clock";
import { execute } from "@/server/commands";
import { checkInvariant } from "@/server/credits/ledger";
import { parseEnv } from "@/server/env";
import { writeEvents } from "@/server/events/outbox";
import type { CronHandler } from "@/server/events/reactions";
import { retryDueDeliveries } from "@/server/notifications/reactions";
import type { PaymentGateway } from "@/server/payments/gateway";
import { createRuntime, type Runtime } from "@/server/runtime";
import { createContext } from "@/server/trpc/init";
import { createCaller } from "@/server/trpc/router";
import { createWorkspace } from "@/server/workspaces/commands";

import { freshDatabaseUrl } from "./database";

export const TEST_WEBHOOK_SECRET = "whsec_test_0123456789abcdef";

export interface TestRuntimeOptions {
  clock?: Clock;
  gateway?: PaymentGateway;
  pool?: number;
  /** Extra environment, e.g. SMTP_URL to send mail to a stand-in. */
  env?: Record<string, string>;
  /** Another runtime's database (`runtime.database.url`): a restart, or a second process. */
  databaseUrl?: string;
}

/**
 * A runtime on the file's own database, in the embedded default's modes
 * (in-process driver, simulated gateway, dev mailbox), with no background
 * loops: tests move events along with `drain()`.
 */
export async function testRuntime(options: TestRuntimeOptions = {}): Promise<Runtime> {
  const env = parseEnv({
    NODE_ENV: "test",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "fatal",
    TALLY_DATA_DIR: ".data",
    // The test's clock is the platform's; time-travel tests turn it on.
    TALLY_TIME_TRAVEL: "0",
    ...options.env,
  });

  return createRuntime({
    env,
    databaseUrl: options.databaseUrl ?? (await freshDatabaseUrl()),
    clock: options.clock,
    gateway: options.gateway,
    migrate: false,
    seedDemo: false,
    background: false,
    pool: options.pool ?? 8,
    secrets: {
      authSecret: "test-auth-secret",
      webhookSecret: TEST_WEBHOOK_SECRET,
      source: "environment",
    },
    driver: { backoffBaseMs: 1000 },
    webhookTimeoutMs: 2_000,
  });
}

/**
 * Relays the outbox and runs due reactions until neither has anything left.
 * Runs waiting out a retry backoff are not due and stay pending: advance the
 * clock and drain again to run them.
 */
export async function drain(runtime: Runtime, maxRounds = 100): Promise<void> {
  for (let round = 0; round < maxRounds; round++) {
    const published = await runtime.relay.drain();
    const ran = runtime.driver ? await runtime.driver.runDue() : 0;
    if (published === 0 && ran === 0) return;
  }
  throw new Error(`drain did not settle after ${maxRounds} rounds`);
}

export function uniqueSuffix(): string {
  return randomBytes(4).toString("hex");
}

export async function makeUser(
  runtime: Runtime,
  overrides: { email?: string; password?: string; isPlatformAdmin?: boolean } = {},
) {
  const email = overrides.email ?? `user-${uniqueSuffix()}@example.com`;
  const [user] = await runtime.db
    .insert(users)
    .values({
      email,
      name: email.split("@")[0],
      passwordHash: overrides.password ? await hashPassword(overrides.password) : null,
      isPlatformAdmin: overrides.isPlatformAdmin ?? false,
      emailVerified: runtime.clock.now(),
    })
    .returning();
  if (!user) throw new Error("user insert returned nothing");

  return user;
}

/** A user and a workspace of their own, with its initial reactions run. */
export async function makeWorkspace(
  runtime: Runtime,
  options: { tierCode?: string; userId?: string } = {},
) {
  const userId = options.userId ?? (await makeUser(runtime)).id;
  const slug = `ws-${uniqueSuffix()}`;
  const { workspaceId } = await execute(
    runtime,
    createWorkspace,
    { name: `Workspace ${slug}`, slug, tierCode: options.tierCode ?? "free" },
    { actor: { type: "user", userId } },
  );
  await drain(runtime);

  return { workspaceId, slug, userId };
}

export async function callerFor(runtime: Runtime, userId: string | null) {
  return createCaller(await createContext(runtime, userId));
}

/** Fails the test unless balance = sum of ledger entries = sum of grant remainders. */
export async function expectLedgerInvariant(runtime: Runtime, workspaceId: string) {
  const report = await checkInvariant(runtime.db, workspaceId);
  if (!report.holds) {
    throw new Error(
      `Ledger invariant broken: balance ${report.balance}, ledger ${report.ledgerSum}, grants ` +
        `${report.grantSum}`,
    );
  }

  return report;
}

export async function countRows(runtime: Runtime, table: string, where = "true"): Promise<number> {
  const rows = await runtime.db.execute<{ n: number }>(
    sql.raw(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`),
  );

  return rows[0]?.n ?? 0;
}

/**
 * One run of a cron reaction, now, outside the cron's minute-by-minute
 * inbox: writes the events it returns and reports how many. drain() then
 * runs their reactions.
 */
export async function runCron(runtime: Runtime, handler: CronHandler): Promise<number> {
  const count = await runtime.db.transaction(async (tx) => {
    const events =
      (await handler({
        tx,
        tick: { id: "test-sweep", name: "cron/tick", scheduledFor: runtime.clock.now() },
        deps: runtime.executeDeps,
        log: runtime.logger,
      })) ?? [];
    await writeEvents(tx, events, runtime.clock);

    return events.length;
  });
  runtime.wake();

  return count;
}

/** One run of the notifications-retry-due sweep: returns how many deliveries it handed out. */
export async function sweepRetries(runtime: Runtime): Promise<number> {
  return runCron(runtime, retryDueDeliveries);
}
