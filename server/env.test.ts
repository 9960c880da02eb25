import { describe, expect, it } from "vitest";

import { parseEnv } from "./env";

describe("parseEnv", () => {
  it("selects every embedded default when nothing is set", () => {
    const env = parseEnv({});
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.inngestEnabled).toBe(false);
    expect(env.STRIPE_SECRET_KEY).toBeUndefined();
    expect(env.SMTP_URL).toBeUndefined();
    expect(env.seedDemo).toBe(true);
  });

  it("treats empty strings as unset", () => {
    const env = parseEnv({ DATABASE_URL: "", INNGEST_DEV: " ", STRIPE_SECRET_KEY: "" });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.inngestEnabled).toBe(false);
  });

  it("switches modes on when configured; seeds no demo against a real database", () => {
    const env = parseEnv({
      DATABASE_URL: "postgres://u:p@db.internal:5432/tally",
      INNGEST_EVENT_KEY: "key",
      STRIPE_SECRET_KEY: "sk_test_x",
    });
    expect(env.inngestEnabled).toBe(true);
    expect(env.seedDemo).toBe(false);
    expect(
      parseEnv({ DATABASE_URL: "postgres://localhost/t", TALLY_SEED_DEMO: "1" }).seedDemo,
    ).toBe(true);
  });

  it("keeps demo accounts and the open mailbox out of production unless asked", () => {
    expect(parseEnv({ NODE_ENV: "production" })).toMatchObject({
      seedDemo: false,
      devMailbox: "admins",
    });
    expect(parseEnv({ NODE_ENV: "production", TALLY_DEV_MAILBOX: "open" }).devMailbox).toBe("open");
    expect(parseEnv({ NODE_ENV: "development" })).toMatchObject({
      seedDemo: true,
      devMailbox: "open",
    });
    expect(() => parseEnv({ TALLY_DEV_MAILBOX: "everyone" })).toThrow(/TALLY_DEV_MAILBOX/);
  });

  it("turns time travel on with the embedded database outside production, unless told", () => {
    expect(parseEnv({}).timeTravel).toBe(true);
    expect(parseEnv({ NODE_ENV: "production" }).timeTravel).toBe(false);
    expect(parseEnv({ DATABASE_URL: "postgres://localhost/t" }).timeTravel).toBe(false);
    expect(parseEnv({ TALLY_TIME_TRAVEL: "0" }).timeTravel).toBe(false);
    expect(parseEnv({ NODE_ENV: "production", TALLY_TIME_TRAVEL: "1" }).timeTravel).toBe(true);
  });

  it("names the variable when a value is invalid", () => {
    expect(() => parseEnv({ DATABASE_URL: "not a url" })).toThrow(/DATABASE_URL/);
    expect(() => parseEnv({ LOG_LEVEL: "loud" })).toThrow(/LOG_LEVEL/);
  });
});
