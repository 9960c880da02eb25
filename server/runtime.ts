import type { Inngest } from "inngest";

import { bus } from "@/inngest/bus";
import { createInngest, inngestTransport } from "@/inngest/client";
import { LocalDriver, type LocalDriverOptions } from "@/inngest/local-driver";
import { executeReaction, type ExecuteDeps } from "@/inngest/reaction";

import { billingConfigFrom, type BillingConfig } from "./billing/config";
import { clockMode, followClockOffset, platformClock } from "./billing/time-travel";
import { isOffsetClock, systemClock, type Clock } from "./clock";
import type { CommandRuntime } from "./commands";
import { connect, redactUrl, type Database, type Db } from "./db/client";
import { startEmbeddedPostgres, type EmbeddedServer } from "./db/embedded";
import { runMigrations } from "./db/migrate";
import { ensureDemo, ensurePacks, ensureTiers } from "./db/seed";
import { loadEnv, type Env } from "./env";
import type { Outcome, WireEvent } from "./events/reactions";
import { Relay, type RelayOptions } from "./events/relay";
import { logger as rootLogger, type Logger } from "./logger";
import { createNotifier, type Notifier } from "./notifications/deliver";
import { createMailer, type Mailer } from "./notifications/mailer";
import type { PaymentGateway } from "./payments/gateway";
import { isSimulatedGateway, SimulatedGateway } from "./payments/simulated";
import { simulatedWebhookSink } from "./payments/simulated-webhooks";
import { createStripeClient, StripeGateway } from "./payments/stripe";
import { loadSecrets, type Secrets } from "./secrets";

/**
 * Everything a running Tally process holds: the database, the clock, the
 * gateway and mailer, the relay and the side-effect driver. Built once per
 * process by `getRuntime()` (the app) or `createRuntime()` (tests, scripts).
 */
export interface Runtime extends CommandRuntime {
  env: Env;
  database: Database;
  db: Db;
  clock: Clock;
  logger: Logger;
  secrets: Secrets;
  gateway: PaymentGateway;
  mailer: Mailer;
  notifier: Notifier;
  inngest: Inngest;
  relay: Relay;
  /** The in-process driver; null when Inngest runs the reactions. */
  driver: LocalDriver | null;
  modes: Modes;
  /**
   * Whether /dev/mailbox is open to anyone. It is outside production, where
   * it is how magic links reach a local user; a production build keeps it to
   * platform admins unless TALLY_DEV_MAILBOX=open, since it holds everyone's
   * sign-in links.
   */
  devMailboxOpen: boolean;
  executeDeps: ExecuteDeps;
  /** Runs one reaction of the bus table now (dead-letter replays). */
  runReaction(reactionId: string, event: WireEvent): Promise<Outcome>;
  stop(): Promise<void>;
}

export interface Modes {
  database: string;
  sideEffects: string;
  payments: string;
  email: string;
  /** "real time", or "time travel, +3d 4h" with the offset when the clock was built. */
  clock: string;
}

export interface RuntimeOptions {
  env?: Env;
  /** Overrides DATABASE_URL and skips the embedded server. */
  databaseUrl?: string;
  /**
   * Real time for this runtime (tests pass a ManualClock). With time travel on (TALLY_TIME_TRAVEL)
   * the runtime's clock is this plus the persisted offset.
   */
  clock?: Clock;
  /** Start the relay and driver loops (the app does; tests drain by hand). */
  background?: boolean;
  migrate?: boolean;
  seedDemo?: boolean;
  gateway?: PaymentGateway;
  secrets?: Secrets;
  pool?: number;
  webhookTimeoutMs?: number;
  relay?: RelayOptions;
  driver?: LocalDriverOptions;
  /** Overrides the invoicing configuration read from the environment (tax rates in tests). */
  billing?: BillingConfig;
}

export async function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const env = options.env ?? loadEnv();
  const logger = rootLogger;

  let embedded: EmbeddedServer | undefined;
  let url = options.databaseUrl ?? env.DATABASE_URL;
  let databaseMode: string;
  if (url) {
    databaseMode = `PostgreSQL at ${redactUrl(url)}`;
  } else {
    embedded = await startEmbeddedPostgres({ dataDir: env.TALLY_DATA_DIR, persistent: true });
    url = embedded.url;
    const where = `127.0.0.1:${embedded.port}, data in ${env.TALLY_DATA_DIR}/pg`;
    databaseMode = `embedded PostgreSQL on ${where}`;
  }

  const database = connect(url, { max: options.pool });
  if (options.migrate ?? true) await runMigrations(database);
  await ensureTiers(database.db);
  await ensurePacks(database.db);
  const clock = await platformClock(database.db, options.clock ?? systemClock, env.timeTravel);
  if (isOffsetClock(clock)) await followClockOffset(database.sql, database.db, clock);

  const secrets = options.secrets ?? loadSecrets(env);
  const gateway =
    options.gateway ??
    (env.STRIPE_SECRET_KEY
      ? new StripeGateway(
          createStripeClient({ secretKey: env.STRIPE_SECRET_KEY, apiBase: env.STRIPE_API_BASE }),
        )
      : new SimulatedGateway(database.db, { appUrl: env.APP_URL, clock }));
  const mailer = createMailer({ smtpUrl: env.SMTP_URL, from: env.EMAIL_FROM, clock });
  const inngest = createInngest(env, logger);
  let relay: Relay | undefined;
  const notifier = createNotifier({
    db: database.db,
    clock,
    mailer,
    appUrl: env.APP_URL,
    logger: logger.child({ component: "notifications" }),
    webhooks: {
      allowPrivateAddresses: env.webhookTargets === "any",
      timeoutMs: options.webhookTimeoutMs ?? 10_000,
    },
    wake: () => relay?.wake(),
  });

  const executeDeps: ExecuteDeps = {
    db: database.db,
    logger,
    clock,
    gateway,
    notifier,
    appUrl: env.APP_URL,
    billing: options.billing ?? billingConfigFrom(env),
    wake: () => relay?.wake(),
  };
  const driver = env.inngestEnabled ? null : new LocalDriver(executeDeps, bus, options.driver);
  const transport = driver ? driver.transport : inngestTransport(inngest);
  relay = new Relay(database.db, transport, clock, logger.child({ component: "relay" }), {
    ...options.relay,
    onPublished: () => driver?.wake(),
  });

  const reactions = new Map(bus.map((reaction) => [reaction.id, reaction]));
  const runtime: Runtime = {
    env,
    database,
    db: database.db,
    clock,
    logger,
    secrets,
    gateway,
    mailer,
    notifier,
    inngest,
    relay,
    driver,
    executeDeps,
    devMailboxOpen: mailer.mode === "mailbox" && env.devMailbox === "open",
    modes: {
      database: databaseMode,
      sideEffects: env.inngestEnabled
        ? `Inngest (${env.INNGEST_DEV !== undefined ? "dev server" : "cloud"}) at /api/inngest`
        : "in-process driver",
      payments: gateway.kind === "stripe" ? "Stripe" : "simulated gateway",
      email: mailer.mode === "smtp" ? "SMTP" : "dev mailbox at /dev/mailbox",
      clock: clockMode(clock),
    },
    wake: () => relay.wake(),
    runReaction: async (reactionId, event) => {
      const reaction = reactions.get(reactionId);
      if (!reaction) throw new Error(`No reaction ${reactionId} in the event bus table`);

      return executeReaction(executeDeps, reaction, event);
    },
    stop: async () => {
      await relay.stop();
      await driver?.stop();
      await database.close();
      await embedded?.stop();
    },
  };

  // The simulated gateway reports payments the way Stripe does: signed events to the webhook route.
  if (isSimulatedGateway(gateway) && !gateway.delivering) {
    gateway.deliverTo(simulatedWebhookSink(runtime));
  }
  if (options.seedDemo ?? env.seedDemo) await ensureDemo(runtime);
  if (options.background) {
    relay.start();
    driver?.start();
  }

  return runtime;
}

const globalForRuntime = globalThis as unknown as { tallyRuntime?: Promise<Runtime> };

/**
 * The app's runtime, created on first use and shared by every module of the
 * process through globalThis (Next bundles route handlers and
 * instrumentation separately, and dev reloads re-evaluate modules).
 */
export function getRuntime(): Promise<Runtime> {
  if (process.env.NEXT_PHASE === "phase-production-build") {
    // A page that reaches this while `next build` prerenders it must be dynamic instead.
    return Promise.reject(new Error("Tally's runtime does not start during next build"));
  }
  if (!globalForRuntime.tallyRuntime) {
    globalForRuntime.tallyRuntime = bootApp().catch((error: unknown) => {
      globalForRuntime.tallyRuntime = undefined;
      throw error;
    });
  }

  return globalForRuntime.tallyRuntime;
}

async function bootApp(): Promise<Runtime> {
  const runtime = await createRuntime({ background: true });
  // Auth.js builds sign-in links from AUTH_URL when set, and from the request's (forwardable)
  // Host and X-Forwarded-* headers otherwise; Tally's links all come from APP_URL.
  process.env.AUTH_URL ??= runtime.env.APP_URL;
  runtime.logger.info({ ...runtime.modes, url: runtime.env.APP_URL }, "Tally started");
  if (runtime.mailer.mode === "mailbox" && runtime.env.NODE_ENV === "production") {
    runtime.logger.warn(
      { devMailbox: runtime.env.devMailbox },
      "no SMTP_URL in production: emails, sign-in links included, only reach the dev mailbox",
    );
  }

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    runtime.logger.info({ signal }, "stopping Tally");
    runtime.stop().finally(() => process.exit(0));
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);

  return runtime;
}
