import { createHash } from "node:crypto";

import { DrizzleAdapter } from "@auth/drizzle-adapter";
import { eq } from "drizzle-orm";
import NextAuth, { type NextAuthConfig } from "next-auth";
import Credentials from "next-auth/providers/credentials";
import GitHub from "next-auth/providers/github";
import Google from "next-auth/providers/google";
import { z } from "zod";

import { accounts, sessions, users, verificationTokens } from "@/drizzle/schema";
import { execute } from "@/server/commands";
import { sendNotification } from "@/server/notifications/commands";
import type { Runtime } from "@/server/runtime";
import { getRuntime } from "@/server/runtime";

import { verifyPassword } from "./password";

const credentialsInput = z.object({
  email: z
    .string()
    .trim()
    .toLowerCase()
    .max(254)
    .regex(/^[^\u0000]*$/),
  password: z.string().max(200),
});

export function buildAuthConfig(runtime: Runtime): NextAuthConfig {
  const { db, env } = runtime;
  const providers: NextAuthConfig["providers"] = [
    Credentials({
      id: "credentials",
      name: "Email and password",
      credentials: { email: { label: "Email" }, password: { label: "Password", type: "password" } },
      async authorize(raw) {
        const parsed = credentialsInput.safeParse(raw);
        if (!parsed.success) return null;
        const [user] = await db.select().from(users).where(eq(users.email, parsed.data.email));
        // Only proven addresses have accounts; an unverified one is refused like a wrong password.
        if (
          !user?.emailVerified ||
          !(await verifyPassword(parsed.data.password, user.passwordHash))
        ) {
          runtime.logger.warn({ email: parsed.data.email }, "password sign-in refused");
          return null;
        }

        return { id: user.id, email: user.email, name: user.name };
      },
    }),
    {
      id: "email",
      type: "email",
      name: "Magic link",
      maxAge: 15 * 60,
      async sendVerificationRequest({ identifier, url }) {
        await execute(
          runtime,
          sendNotification,
          {
            type: "account.magic_link",
            workspaceId: null,
            data: { url, host: new URL(url).host },
            to: identifier,
            dedupeKey: `account.magic_link:${createHash("sha256").update(url).digest("hex")}`,
          },
          { actor: { type: "system", reason: "magic link" } },
        );
      },
    },
  ];
  if (env.AUTH_GITHUB_ID && env.AUTH_GITHUB_SECRET) {
    providers.push(GitHub({ clientId: env.AUTH_GITHUB_ID, clientSecret: env.AUTH_GITHUB_SECRET }));
  }
  if (env.AUTH_GOOGLE_ID && env.AUTH_GOOGLE_SECRET) {
    providers.push(Google({ clientId: env.AUTH_GOOGLE_ID, clientSecret: env.AUTH_GOOGLE_SECRET }));
  }

  return {
    adapter: DrizzleAdapter(db, {
      usersTable: users,
      accountsTable: accounts,
      sessionsTable: sessions,
      verificationTokensTable: verificationTokens,
    }),
    // Credentials sign-in requires JWT sessions; the token carries only the user id.
    session: { strategy: "jwt" },
    secret: runtime.secrets.authSecret,
    trustHost: true,
    providers,
    pages: { signIn: "/sign-in", verifyRequest: "/sign-in/check-email", error: "/sign-in" },
    logger: authLogger(runtime),
    callbacks: {
      jwt({ token, user }) {
        if (user?.id) token.sub = user.id;
        return token;
      },
      session({ session, token }) {
        if (token.sub) session.user.id = token.sub;
        return session;
      },
    },
  };
}

/**
 * Auth.js logs through pino like the rest of Tally. A refused password or an
 * expired link is an expected outcome, logged at warn without a stack trace.
 */
function authLogger(runtime: Runtime): NonNullable<NextAuthConfig["logger"]> {
  const log = runtime.logger.child({ component: "auth" });
  const expected = new Set([
    "CredentialsSignin",
    "Verification",
    "AccessDenied",
    "OAuthAccountNotLinked",
  ]);

  return {
    error(error) {
      const type = (error as { type?: string }).type ?? error.name;
      if (expected.has(type)) log.warn({ type }, "sign-in refused");
      else log.error({ err: error, type }, "sign-in failed");
    },
    warn(code) {
      log.warn({ code }, "auth warning");
    },
    debug(message, metadata) {
      log.debug({ metadata }, message);
    },
  };
}

/** Names of the sign-in methods on, for the sign-in page. */
export function enabledOAuthProviders(runtime: Runtime): { id: string; name: string }[] {
  const enabled = [];
  if (runtime.env.AUTH_GITHUB_ID && runtime.env.AUTH_GITHUB_SECRET)
    enabled.push({ id: "github", name: "GitHub" });
  if (runtime.env.AUTH_GOOGLE_ID && runtime.env.AUTH_GOOGLE_SECRET)
    enabled.push({ id: "google", name: "Google" });

  return enabled;
}

export const { handlers, auth, signIn, signOut } = NextAuth(async () =>
  buildAuthConfig(await getRuntime()),
);
