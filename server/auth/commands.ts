import { createHash, randomBytes } from "node:crypto";

import { and, eq, gt, isNull } from "drizzle-orm";
import { z } from "zod";

import { pendingSignUps, users } from "@/drizzle/schema";
import { defineCommand } from "@/server/commands";
import { AppError } from "@/server/errors";
import { event } from "@/server/events/catalogue";
import type { ReactionHandler } from "@/server/events/reactions";
import { createNotification } from "@/server/notifications/notify";

import { hashPassword } from "./password";

export const emailSchema = z
  .string({ message: "Enter your email address" })
  .trim()
  .toLowerCase()
  .pipe(z.email({ message: "Enter a valid email address" }).max(254, "Email addresses are at most 254 characters"));

export const passwordSchema = z
  .string()
  .min(8, "Use at least 8 characters")
  .max(200, "Use at most 200 characters");

export const signUpInput = z.object({
  name: z.string().trim().min(1, "Tell us your name").max(100, "Names are at most 100 characters"),
  email: emailSchema,
  password: passwordSchema,
});

/** How long a confirmation link works. */
export const CONFIRMATION_TTL_MS = 24 * 60 * 60 * 1000;

function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/**
 * Starts a sign-up with email and password. The account is created only when
 * the emailed link is followed (confirmSignUp), so an address is always
 * proven before an account exists for it.
 */
export const signUp = defineCommand({
  name: "auth.signUp",
  input: signUpInput,
  async run({ tx, clock }, input) {
    const [existing] = await tx.select({ id: users.id }).from(users).where(eq(users.email, input.email));
    if (existing) {
      throw new AppError("conflict", "An account with this email already exists; sign in instead", {
        field: "email",
      });
    }
    const [pending] = await tx
      .insert(pendingSignUps)
      .values({
        email: input.email,
        name: input.name,
        passwordHash: await hashPassword(input.password),
        createdAt: clock.now(),
      })
      .returning({ id: pendingSignUps.id });
    if (!pending) throw new Error("pending sign-up insert returned nothing");

    return {
      result: { email: input.email },
      events: [event("auth/sign-up-requested", { pendingSignUpId: pending.id })],
      audit: { pendingSignUpId: pending.id, email: input.email },
    };
  },
});

/**
 * auth/sign-up-requested → the confirmation email. The token is made here,
 * in the reaction, so it never sits in the outbox; only its hash is kept.
 */
export const sendSignUpConfirmation: ReactionHandler<"auth/sign-up-requested"> = async ({ tx, event, deps }) => {
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
    data: { name: pending.name, url: `${deps.appUrl}/sign-up/confirm?token=${token}` },
    to: pending.email,
    dedupeKey: `account.sign_up_confirmation:${event.id}`,
  });

  return events;
};

export const confirmSignUpInput = z.object({ token: z.string().min(1).max(200) });

/** Creates the account of a pending sign-up from its emailed token. */
export const confirmSignUp = defineCommand({
  name: "auth.confirmSignUp",
  input: confirmSignUpInput,
  async run({ tx, clock }, input) {
    const now = clock.now();
    const [pending] = await tx
      .select()
      .from(pendingSignUps)
      .where(
        and(
          eq(pendingSignUps.tokenHash, tokenHash(input.token)),
          isNull(pendingSignUps.confirmedAt),
          gt(pendingSignUps.expiresAt, now),
        ),
      )
      .for("update");
    if (!pending) {
      throw new AppError("invalid_request", "This confirmation link has expired or was already used; sign up again", {
        field: "token",
      });
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
      throw new AppError("conflict", "This email already has an account; sign in instead", { field: "token" });
    }
    await tx.update(pendingSignUps).set({ confirmedAt: now }).where(eq(pendingSignUps.id, pending.id));

    return { result: { email: pending.email }, audit: { userId: user.id, email: pending.email } };
  },
});
