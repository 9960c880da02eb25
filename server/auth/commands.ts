import { createHash, randomBytes } from "node:crypto";

import { and, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import { z } from "zod";

import { pendingSignUps, users } from "@/drizzle/schema";
import { defineCommand } from "@/server/commands";
import { AppError } from "@/server/errors";
import { event } from "@/server/events/catalogue";
import type { CronHandler, ReactionHandler } from "@/server/events/reactions";
import { createNotification } from "@/server/notifications/notify";
import { displayNameSchema } from "@/server/text";

import { hashPassword, verifyPassword } from "./password";

export const emailSchema = z
  .string({ message: "Enter your email address" })
  .trim()
  .toLowerCase()
  .pipe(
    z
      .email({ message: "Enter a valid email address" })
      .max(254, "Email addresses are at most 254 characters"),
  );

export const passwordSchema = z
  .string()
  .min(8, "Use at least 8 characters")
  .max(200, "Use at most 200 characters");

/**
 * Where to go after signing in, when a page sent the visitor to sign up (an
 * invitation): a path on this site, or nothing. Anything else is dropped, not
 * refused, so a bad link never blocks signing up.
 */
const returnPath = z
  .string()
  .max(500)
  .optional()
  .transform((path) => (path && /^\/(?![\/\\])[\x21-\x7e]*$/.test(path) ? path : undefined));

export const signUpInput = z.object({
  name: displayNameSchema({
    empty: "Tell us your name",
    max: 100,
    tooLong: "Names are at most 100 characters",
  }),
  email: emailSchema,
  password: passwordSchema,
  callbackUrl: returnPath,
});

/** How long a confirmation link works. */
export const CONFIRMATION_TTL_MS = 24 * 60 * 60 * 1000;
/** Sign-ups one address may start in an hour: enough for typos, too few to flood its inbox. */
export const SIGN_UPS_PER_ADDRESS_PER_HOUR = 3;

function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/**
 * Starts a sign-up with email and password. The account is created only when
 * the emailed link is followed and the same password is given again
 * (confirmSignUp): the link proves the address, the password proves that
 * whoever follows it made this sign-up, not someone else who used the same
 * address.
 */
export const signUp = defineCommand({
  name: "auth.signUp",
  input: signUpInput,
  prepare: (input) => hashPassword(input.password),
  async run({ tx, clock }, input, passwordHash) {
    const now = clock.now();
    // One address at a time, so the hourly limit holds under concurrent requests.
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`sign-up:${input.email}`}))`);
    const [existing] = await tx
      .select({ id: users.id })
      .from(users)
      .where(eq(users.email, input.email));
    if (existing) {
      throw new AppError("conflict", "An account with this email already exists; sign in instead", {
        field: "email",
      });
    }
    const [recent] = await tx
      .select({ count: sql<number>`count(*)::int` })
      .from(pendingSignUps)
      .where(
        and(
          eq(pendingSignUps.email, input.email),
          gt(pendingSignUps.createdAt, new Date(now.getTime() - 3_600_000)),
        ),
      );
    if ((recent?.count ?? 0) >= SIGN_UPS_PER_ADDRESS_PER_HOUR) {
      throw new AppError(
        "rate_limited",
        "Too many sign-ups for this address in the last hour; use the link already sent, or try " +
          "again later",
        { field: "email" },
      );
    }
    const [pending] = await tx
      .insert(pendingSignUps)
      .values({ email: input.email, name: input.name, passwordHash, createdAt: now })
      .returning({ id: pendingSignUps.id });
    if (!pending) throw new Error("pending sign-up insert returned nothing");

    return {
      result: { email: input.email },
      events: [
        event("auth/sign-up-requested", {
          pendingSignUpId: pending.id,
          ...(input.callbackUrl ? { callbackUrl: input.callbackUrl } : {}),
        }),
      ],
      audit: { pendingSignUpId: pending.id, email: input.email },
    };
  },
});

/**
 * auth/sign-up-requested → the confirmation email. The token is made here,
 * in the reaction, so it never sits in the outbox; only its hash is kept.
 * The email quotes nothing the person signing up typed: it may go to an
 * address that is not theirs.
 */
export const sendSignUpConfirmation: ReactionHandler<"auth/sign-up-requested"> = async ({
  tx,
  event,
  deps,
}) => {
  const [pending] = await tx
    .select()
    .from(pendingSignUps)
    .where(eq(pendingSignUps.id, event.data.pendingSignUpId));
  if (!pending || pending.confirmedAt) return;

  const token = randomBytes(32).toString("base64url");
  await tx
    .update(pendingSignUps)
    .set({
      tokenHash: tokenHash(token),
      expiresAt: new Date(deps.clock.now().getTime() + CONFIRMATION_TTL_MS),
    })
    .where(eq(pendingSignUps.id, pending.id));
  const { events } = await createNotification(tx, deps, {
    type: "account.sign_up_confirmation",
    workspaceId: null,
    data: { url: confirmationUrl(deps.appUrl, token, event.data.callbackUrl) },
    to: pending.email,
    dedupeKey: `account.sign_up_confirmation:${event.id}`,
  });

  return events;
};

/** The emailed link; it carries the page to come back to after signing in, if any. */
function confirmationUrl(appUrl: string, token: string, callbackUrl: string | undefined): string {
  const url = `${appUrl}/sign-up/confirm?token=${token}`;

  return callbackUrl ? `${url}&callbackUrl=${encodeURIComponent(callbackUrl)}` : url;
}

export const confirmSignUpInput = z.object({
  token: z.string().min(1).max(200),
  password: z.string().max(200),
});

/** Creates the account of a pending sign-up from its emailed token and its password. */
export const confirmSignUp = defineCommand({
  name: "auth.confirmSignUp",
  input: confirmSignUpInput,
  async run({ tx, clock }, input) {
    const now = clock.now();
    const [pending] = await tx
      .select()
      .from(pendingSignUps)
      .where(eq(pendingSignUps.tokenHash, tokenHash(input.token)))
      .for("update");
    if (pending?.confirmedAt) {
      throw new AppError(
        "conflict",
        "This email is already confirmed; sign in with your password",
        {
          field: "token",
        },
      );
    }
    if (!pending || !pending.expiresAt || pending.expiresAt <= now) {
      throw new AppError("invalid_request", "This confirmation link has expired; sign up again", {
        field: "token",
      });
    }
    if (!(await verifyPassword(input.password, pending.passwordHash))) {
      throw new AppError(
        "invalid_request",
        "That is not the password chosen when this link was requested. If you signed up more " +
          "than once, " +
          "use the link from the sign-up whose password you know, or sign up again.",
        { field: "password" },
      );
    }
    const [user] = await tx
      .insert(users)
      .values({
        email: pending.email,
        name: pending.name,
        passwordHash: pending.passwordHash,
        emailVerified: now,
        createdAt: now,
      })
      .onConflictDoNothing({ target: users.email })
      .returning({ id: users.id });
    if (!user) {
      throw new AppError("conflict", "This email already has an account; sign in instead", {
        field: "token",
      });
    }
    await tx
      .update(pendingSignUps)
      .set({ confirmedAt: now })
      .where(eq(pendingSignUps.id, pending.id));
    // The address's other pending sign-ups are void now.
    await tx
      .delete(pendingSignUps)
      .where(and(eq(pendingSignUps.email, pending.email), isNull(pendingSignUps.confirmedAt)));

    return { result: { email: pending.email }, audit: { userId: user.id, email: pending.email } };
  },
});

/** Hourly: deletes pending sign-ups a day after their link expired or was used. */
export const prunePendingSignUps: CronHandler = async ({ tx, tick }) => {
  const before = new Date(tick.scheduledFor.getTime() - CONFIRMATION_TTL_MS);
  await tx
    .delete(pendingSignUps)
    .where(
      or(
        lt(pendingSignUps.expiresAt, before),
        lt(pendingSignUps.confirmedAt, before),
        and(isNull(pendingSignUps.expiresAt), lt(pendingSignUps.createdAt, before)),
      ),
    );
};
