import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { uniqueSuffix } from "@/test/support/runtime";

import { parseEnv } from "./env";
import { loadSecrets } from "./secrets";

const dir = path.resolve(".data", `secrets-test-${uniqueSuffix()}`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("loadSecrets", () => {
  it("generates secrets once and keeps them across starts", () => {
    const env = parseEnv({ TALLY_DATA_DIR: path.join(dir, "a") });
    const first = loadSecrets(env);
    expect(first).toMatchObject({
      source: "generated",
      webhookSecret: expect.stringMatching(/^whsec_/),
    });
    expect(loadSecrets(env)).toEqual(first);
    expect(JSON.parse(readFileSync(path.join(dir, "a", "secrets.json"), "utf8")).authSecret).toBe(
      first.authSecret,
    );
  });

  it.each([
    ["{}"],
    [""],
    ["not json"],
    ['{"authSecret": 1}'],
    ['{"authSecret": "", "webhookSecret": ""}'],
  ])("stops with a clear message for a damaged file %j", (text) => {
    mkdirSync(path.join(dir, "b"), { recursive: true });
    writeFileSync(path.join(dir, "b", "secrets.json"), text);
    expect(() => loadSecrets(parseEnv({ TALLY_DATA_DIR: path.join(dir, "b") }))).toThrow(
      /is damaged\. Delete it/,
    );
  });

  it("takes secrets from the environment; requires them in production", () => {
    expect(loadSecrets(parseEnv({ AUTH_SECRET: "a", STRIPE_WEBHOOK_SECRET: "whsec_b" }))).toEqual({
      authSecret: "a",
      webhookSecret: "whsec_b",
      source: "environment",
    });
    expect(() =>
      loadSecrets(parseEnv({ NODE_ENV: "production", DATABASE_URL: "postgres://x@localhost/db" })),
    ).toThrow(/Set AUTH_SECRET/);
  });
});
