import { z } from "zod";

/**
 * Every environment variable Tally reads, validated once. Nothing else in the
 * project reads process.env for configuration; it imports `loadEnv()`.
 *
 * Unset variables select the embedded default of each part (see README,
 * "Runtime modes"). Empty strings count as unset, so `FOO=` in a shell or an
 * .env file does not switch a mode on by accident.
 */
const optional = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === "" ? undefined : value.trim()));

const flag = optional.transform(
  (value) => value !== undefined && !["0", "false", "no"].includes(value),
);

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  APP_URL: z.url().default("http://localhost:3000"),
  TALLY_DATA_DIR: z.string().default(".data"),

  DATABASE_URL: optional.pipe(
    z.url({ message: "DATABASE_URL must be a postgres:// URL" }).optional(),
  ),

  INNGEST_DEV: optional,
  INNGEST_EVENT_KEY: optional,
  INNGEST_SIGNING_KEY: optional,
  INNGEST_BASE_URL: optional,

  STRIPE_SECRET_KEY: optional,
  STRIPE_WEBHOOK_SECRET: optional,
  /** Points the Stripe SDK at another API host, e.g. a local stand-in in tests. */
  STRIPE_API_BASE: optional.pipe(z.url().optional()),

  SMTP_URL: optional,
  EMAIL_FROM: z.string().default("Tally <no-reply@tally.localhost>"),

  AUTH_SECRET: optional,
  AUTH_GITHUB_ID: optional,
  AUTH_GITHUB_SECRET: optional,
  AUTH_GOOGLE_ID: optional,
  AUTH_GOOGLE_SECRET: optional,

  /**
   * Seeds the demo admin, customer and API key. Defaults to on with the embedded database outside
   * production.
   */
  TALLY_SEED_DEMO: flag,
  /**
   * Time travel: platform admins move the clock forward from /admin/clock to watch renewals,
   * rollovers and expiries. On by default with the embedded database outside production.
   */
  TALLY_TIME_TRAVEL: flag,
  /**
   * Who may read /dev/mailbox while no SMTP server is configured: `open` (anyone, the default
   * outside production) or `admins` (platform admins, the default in production).
   */
  TALLY_DEV_MAILBOX: optional.pipe(z.enum(["open", "admins"]).optional()),
  /**
   * Where workspaces' webhook endpoints may point: `public` (https to public addresses only, the
   * default in production) or `any` (also http, localhost and private networks; the default
   * elsewhere, so a receiver on your machine works).
   */
  TALLY_WEBHOOK_TARGETS: optional.pipe(z.enum(["public", "any"]).optional()),
  /**
   * The metering API's rate limit per API key: requests a second (a batch counts as one), and
   * how many may come at once after a quiet spell.
   */
  TALLY_API_RATE_PER_SECOND: optional
    .pipe(
      z.coerce.number<string>().positive("TALLY_API_RATE_PER_SECOND must be above 0").optional(),
    )
    .transform((value) => value ?? 100),
  TALLY_API_RATE_BURST: optional
    .pipe(z.coerce.number<string>().int().min(1, "TALLY_API_RATE_BURST is at least 1").optional())
    .transform((value) => value ?? 200),

  /**
   * Tax added to invoices, per currency, in percent: `EUR=20,GBP=20,USD=0`, up to two decimals
   * (`7.25`). A currency not listed is invoiced without tax.
   */
  TALLY_TAX_RATES: optional,
  /** The seller printed on invoices: name, postal address lines separated by `|`, email, tax id. */
  TALLY_SELLER_NAME: z.string().default("Tally"),
  TALLY_SELLER_ADDRESS: optional,
  TALLY_SELLER_EMAIL: optional,
  TALLY_SELLER_TAX_ID: optional,
  /** Days between an invoice's finalization and its due date. */
  TALLY_INVOICE_DUE_DAYS: optional
    .pipe(z.coerce.number<string>().int().min(0).max(365).optional())
    .transform((value) => value ?? 14),
  /** Days after a cycle payment first fails on which dunning retries it: `1,3,5,7` (4 retries). */
  TALLY_DUNNING_RETRY_DAYS: optional,
});

export type Env = z.infer<typeof envSchema> & {
  inngestEnabled: boolean;
  seedDemo: boolean;
  devMailbox: "open" | "admins";
  webhookTargets: "public" | "any";
  timeTravel: boolean;
};

export function parseEnv(source: Record<string, string | undefined>): Env {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join(".")}: ${issue.message}`,
    );
    throw new Error(`Invalid environment configuration:\n  ${problems.join("\n  ")}`);
  }
  const env = parsed.data;
  const isSet = (name: string) => source[name] !== undefined && source[name].trim() !== "";
  const embeddedOutsideProduction = env.DATABASE_URL === undefined && env.NODE_ENV !== "production";

  return {
    ...env,
    inngestEnabled: env.INNGEST_DEV !== undefined || env.INNGEST_EVENT_KEY !== undefined,
    // The demo admin's password is in the README: never seed it into a production deployment
    // unasked.
    seedDemo: isSet("TALLY_SEED_DEMO") ? env.TALLY_SEED_DEMO : embeddedOutsideProduction,
    // A moved clock in production would bill real customers early: only when asked for there.
    timeTravel: isSet("TALLY_TIME_TRAVEL") ? env.TALLY_TIME_TRAVEL : embeddedOutsideProduction,
    devMailbox: env.TALLY_DEV_MAILBOX ?? (env.NODE_ENV === "production" ? "admins" : "open"),
    webhookTargets: env.TALLY_WEBHOOK_TARGETS ?? (env.NODE_ENV === "production" ? "public" : "any"),
  };
}

let cached: Env | undefined;

export function loadEnv(): Env {
  cached ??= parseEnv(process.env);
  return cached;
}
