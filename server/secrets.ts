import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

import type { Env } from "./env";

export interface Secrets {
  authSecret: string;
  /** Verifies Stripe-Signature headers; the simulated gateway signs with it too. */
  webhookSecret: string;
  /** Where each came from, for the start-up log line. */
  source: "environment" | "generated";
}

/**
 * AUTH_SECRET and STRIPE_WEBHOOK_SECRET from the environment, or, in the
 * embedded default, random values generated once and kept in
 * `<data dir>/secrets.json` so sessions survive restarts. With DATABASE_URL
 * in production they must be set: instances behind one database must agree.
 */
export function loadSecrets(env: Env): Secrets {
  if (env.AUTH_SECRET && (env.STRIPE_WEBHOOK_SECRET || !env.STRIPE_SECRET_KEY)) {
    return {
      authSecret: env.AUTH_SECRET,
      webhookSecret: env.STRIPE_WEBHOOK_SECRET ?? generatedSecrets(env).webhookSecret,
      source: "environment",
    };
  }
  if (env.NODE_ENV === "production" && env.DATABASE_URL) {
    throw new Error(
      "Set AUTH_SECRET (and STRIPE_WEBHOOK_SECRET with STRIPE_SECRET_KEY) when DATABASE_URL is " +
        "set in production",
    );
  }
  const generated = generatedSecrets(env);

  return {
    authSecret: env.AUTH_SECRET ?? generated.authSecret,
    webhookSecret: env.STRIPE_WEBHOOK_SECRET ?? generated.webhookSecret,
    source: "generated",
  };
}

function readSecrets(file: string): { authSecret: string; webhookSecret: string } | undefined {
  if (!existsSync(file)) return undefined;
  let stored: { authSecret?: unknown; webhookSecret?: unknown } | undefined;
  try {
    stored = JSON.parse(readFileSync(file, "utf8")) as typeof stored;
  } catch {
    stored = undefined;
  }
  const usable = (value: unknown) => typeof value === "string" && value.length >= 16;
  if (!usable(stored?.authSecret) || !usable(stored?.webhookSecret)) {
    throw new Error(
      `${file} is damaged. Delete it and start again to generate new secrets (signed-in sessions ` +
        `will end).`,
    );
  }

  return { authSecret: String(stored?.authSecret), webhookSecret: String(stored?.webhookSecret) };
}

function generatedSecrets(env: Env): { authSecret: string; webhookSecret: string } {
  const file = path.resolve(env.TALLY_DATA_DIR, "secrets.json");
  const existing = readSecrets(file);
  if (existing) return existing;

  const secrets = {
    authSecret: randomBytes(32).toString("base64url"),
    webhookSecret: `whsec_${randomBytes(24).toString("base64url")}`,
  };
  mkdirSync(path.dirname(file), { recursive: true });
  try {
    // wx: if another process starting at the same moment wrote it first, keep theirs.
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return readSecrets(file) ?? secrets;
  }

  return secrets;
}
