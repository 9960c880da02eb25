import { z } from "zod";

import { users } from "@/drizzle/schema";
import { defineCommand } from "@/server/commands";
import { AppError } from "@/server/errors";

import { hashPassword } from "./password";

export const emailSchema = z
  .email({ message: "Enter a valid email address" })
  .max(254, "Email addresses are at most 254 characters")
  .transform((email) => email.toLowerCase());

export const passwordSchema = z
  .string()
  .min(8, "Use at least 8 characters")
  .max(200, "Use at most 200 characters");

export const signUpInput = z.object({
  name: z.string().trim().min(1, "Tell us your name").max(100, "Names are at most 100 characters"),
  email: emailSchema,
  password: passwordSchema,
});

/** Creates a user who signs in with email and password. */
export const signUp = defineCommand({
  name: "auth.signUp",
  input: signUpInput,
  async run({ tx }, input) {
    const [user] = await tx
      .insert(users)
      .values({ name: input.name, email: input.email, passwordHash: await hashPassword(input.password) })
      .onConflictDoNothing({ target: users.email })
      .returning({ id: users.id });
    if (!user) {
      throw new AppError("conflict", "An account with this email already exists; sign in instead", {
        field: "email",
      });
    }

    return { result: { userId: user.id }, audit: { userId: user.id, email: input.email } };
  },
});
