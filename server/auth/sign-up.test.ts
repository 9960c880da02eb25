import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { users } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import type { Runtime } from "@/server/runtime";
import { callerFor, drain, testRuntime, uniqueSuffix } from "@/test/support/runtime";

import { buildAuthConfig } from "./next-auth";

const clock = new ManualClock("2027-03-01T08:00:00Z");
let runtime: Runtime;
beforeAll(async () => {
  runtime = await testRuntime({ clock });
});
afterAll(async () => {
  await runtime.stop();
});

type Authorize = (credentials: Record<string, unknown>, request: Request) => Promise<unknown>;

async function passwordSignIn(email: string, password: string) {
  const provider = buildAuthConfig(runtime).providers.find(
    (p) => typeof p === "object" && "id" in p && p.id === "credentials",
  ) as unknown as { options?: { authorize?: Authorize }; authorize?: Authorize };
  const authorize = provider.options?.authorize ?? provider.authorize;

  return authorize!(
    { email, password },
    new Request("http://localhost/api/auth/callback/credentials"),
  );
}

/** The token in the newest confirmation email to an address. */
async function confirmationToken(email: string): Promise<string> {
  await drain(runtime);
  const mailbox = await (await callerFor(runtime, null)).notifications.mailbox({ to: email });
  const message = mailbox.find((m) => m.type === "account.sign_up_confirmation");
  const token = message?.text.match(/\/sign-up\/confirm\?token=([\w-]+)/)?.[1];
  if (!token) throw new Error(`no confirmation email to ${email}`);

  return token;
}

describe("signing up with email and password", () => {
  it("creates the account only when the emailed link is followed", async () => {
    const email = `new-${uniqueSuffix()}@example.com`;
    const anonymous = await callerFor(runtime, null);
    expect(
      await anonymous.auth.signUp({
        name: "New Person",
        email: ` ${email.toUpperCase()} `,
        password: "a long password",
      }),
    ).toEqual({ email });
    // A user's name follows the same rule as a workspace's.
    await expect(
      anonymous.auth.signUp({ name: "Eve\u202E", email, password: "a long password" }),
    ).rejects.toMatchObject({ code: "BAD_REQUEST" });

    expect(await runtime.db.select().from(users).where(eq(users.email, email))).toEqual([]);
    expect(await passwordSignIn(email, "a long password")).toBeNull();

    const token = await confirmationToken(email);
    await expect(
      anonymous.auth.confirmSignUp({ token, password: "not the password" }),
    ).rejects.toMatchObject({
      cause: { code: "invalid_request", field: "password" },
    });
    expect(await anonymous.auth.confirmSignUp({ token, password: "a long password" })).toEqual({
      email,
    });
    const [user] = await runtime.db.select().from(users).where(eq(users.email, email));
    expect(user).toMatchObject({ name: "New Person", emailVerified: clock.now() });
    expect(await passwordSignIn(email, "a long password")).toMatchObject({ id: user!.id });

    await expect(
      anonymous.auth.confirmSignUp({ token, password: "a long password" }),
    ).rejects.toMatchObject({
      cause: {
        code: "conflict",
        field: "token",
        message: expect.stringContaining("already confirmed"),
      },
    });
  });

  it("carries a same-site page to return to in the link, and drops any other", async () => {
    const anonymous = await callerFor(runtime, null);
    const mailOf = async (email: string) => {
      await drain(runtime);
      const mailbox = await anonymous.notifications.mailbox({ to: email });

      return mailbox.find((m) => m.type === "account.sign_up_confirmation")?.text ?? "";
    };

    const invited = `invited-${uniqueSuffix()}@example.com`;
    await anonymous.auth.signUp({
      name: "Invited",
      email: invited,
      password: "a long password",
      callbackUrl: "/invite/abc_DEF-123",
    });
    expect(await mailOf(invited)).toMatch(
      /\/sign-up\/confirm\?token=[\w-]+&callbackUrl=%2Finvite%2Fabc_DEF-123/,
    );

    for (const elsewhere of ["https://evil.example/", "//evil.example", "/\\evil.example"]) {
      const email = `other-${uniqueSuffix()}@example.com`;
      await anonymous.auth.signUp({
        name: "Other",
        email,
        password: "a long password",
        callbackUrl: elsewhere,
      });
      const text = await mailOf(email);
      expect(text).toMatch(/\/sign-up\/confirm\?token=/);
      expect(text).not.toContain("callbackUrl");
    }
  });

  it("refuses a link older than a day", async () => {
    const email = `late-${uniqueSuffix()}@example.com`;
    const anonymous = await callerFor(runtime, null);
    await anonymous.auth.signUp({ name: "Late", email, password: "a long password" });
    const token = await confirmationToken(email);
    clock.advance(24 * 60 * 60 * 1000 + 1);

    await expect(
      anonymous.auth.confirmSignUp({ token, password: "a long password" }),
    ).rejects.toMatchObject({
      cause: { code: "invalid_request", field: "token" },
    });
  });

  it("gives someone who signs up with another person's address nothing to sign in to", async () => {
    const victim = `victim-${uniqueSuffix()}@example.com`;
    const anonymous = await callerFor(runtime, null);
    await anonymous.auth.signUp({ name: "Attacker", email: victim, password: "attacker password" });
    await drain(runtime);

    expect(await passwordSignIn(victim, "attacker password")).toBeNull();
    expect(await runtime.db.select().from(users).where(eq(users.email, victim))).toEqual([]);

    // The owner signs up too and, with two identical emails, follows the attacker's link: it needs
    // the attacker's password, so the owner cannot confirm it by mistake.
    const attackerToken = await confirmationToken(victim);
    await anonymous.auth.signUp({ name: "Owner", email: victim, password: "owner password!" });
    await expect(
      anonymous.auth.confirmSignUp({ token: attackerToken, password: "owner password!" }),
    ).rejects.toMatchObject({ cause: { field: "password" } });
    const ownerToken = await confirmationToken(victim);
    await anonymous.auth.confirmSignUp({ token: ownerToken, password: "owner password!" });
    expect(await passwordSignIn(victim, "attacker password")).toBeNull();
    expect(await passwordSignIn(victim, "owner password!")).toBeTruthy();
    // Its other pending sign-ups are void: the attacker's link no longer leads anywhere.
    await expect(
      anonymous.auth.confirmSignUp({ token: attackerToken, password: "attacker password" }),
    ).rejects.toMatchObject({ cause: { code: "invalid_request", field: "token" } });
  });

  it("limits sign-ups per address so nobody can flood an inbox", async () => {
    const email = `flood-${uniqueSuffix()}@example.com`;
    const anonymous = await callerFor(runtime, null);
    const attempts = await Promise.allSettled(
      Array.from({ length: 8 }, () =>
        anonymous.auth.signUp({ name: "Flood", email, password: "a long password" }),
      ),
    );

    expect(attempts.filter((attempt) => attempt.status === "fulfilled")).toHaveLength(3);
    for (const attempt of attempts.filter((a) => a.status === "rejected")) {
      expect((attempt as PromiseRejectedResult).reason).toMatchObject({
        code: "TOO_MANY_REQUESTS",
        cause: { field: "email" },
      });
    }
  });
});
