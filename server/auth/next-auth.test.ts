import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Runtime } from "@/server/runtime";
import { callerFor, drain, makeUser, testRuntime } from "@/test/support/runtime";

import { buildAuthConfig } from "./next-auth";

let runtime: Runtime;
beforeAll(async () => {
  runtime = await testRuntime();
});
afterAll(async () => {
  await runtime.stop();
});

type Authorize = (credentials: Record<string, unknown>, request: Request) => Promise<unknown>;

function credentialsAuthorize(): Authorize {
  const provider = buildAuthConfig(runtime).providers.find(
    (p) => typeof p === "object" && "id" in p && p.id === "credentials",
  ) as { authorize?: Authorize; options?: { authorize?: Authorize } } | undefined;
  const authorize = provider?.options?.authorize ?? provider?.authorize;
  if (!authorize) throw new Error("credentials provider has no authorize");

  return authorize;
}

describe("sign-in configuration", () => {
  it("signs in with the right password (email in any case) and refuses others", async () => {
    const user = await makeUser(runtime, { email: "pat@example.com", password: "a long password" });
    const authorize = credentialsAuthorize();
    const request = new Request("http://localhost/api/auth/callback/credentials");

    expect(
      await authorize({ email: "PAT@example.com", password: "a long password" }, request),
    ).toMatchObject({
      id: user.id,
    });
    expect(
      await authorize({ email: "pat@example.com", password: "wrong password" }, request),
    ).toBeNull();
    expect(
      await authorize({ email: "nobody@example.com", password: "a long password" }, request),
    ).toBeNull();
    expect(await authorize({ email: ["not", "a", "string"] }, request)).toBeNull();
  });

  it("sends magic links to the dev mailbox", async () => {
    const config = buildAuthConfig(runtime);
    const email = config.providers.find(
      (p) => typeof p === "object" && "id" in p && p.id === "email",
    ) as unknown as {
      sendVerificationRequest: (params: { identifier: string; url: string }) => Promise<void>;
    };
    const url = "http://localhost:3000/api/auth/callback/email?token=abc&email=link%40example.com";
    await email.sendVerificationRequest({ identifier: "link@example.com", url });
    await drain(runtime);

    const caller = await callerFor(runtime, null);
    const [message] = await caller.notifications.mailbox({ to: "link@example.com" });
    expect(message).toMatchObject({ type: "account.magic_link", subject: "Sign in to Tally" });
    expect(message?.text).toContain(url);
    expect(config.session?.strategy).toBe("jwt");
  });

  it("turns on OAuth providers only when their variables are set", async () => {
    expect(
      buildAuthConfig(runtime).providers.map((p) => (typeof p === "function" ? p().id : p.id)),
    ).toEqual(["credentials", "email"]);
    const withGitHub = {
      ...runtime,
      env: { ...runtime.env, AUTH_GITHUB_ID: "id", AUTH_GITHUB_SECRET: "secret" },
    };
    expect(
      buildAuthConfig(withGitHub).providers.map((p) => (typeof p === "function" ? p().id : p.id)),
    ).toContain("github");
  });
});
