import { boolean, integer, pgTable, primaryKey, text, uuid } from "drizzle-orm/pg-core";

import { createdAt, timestamptz } from "./columns";

/**
 * Tables of next-auth's drizzle adapter. The adapter addresses columns by
 * their TypeScript keys (`emailVerified`, `providerAccountId`, ...), so those
 * keys keep the adapter's names while the SQL columns are snake_case.
 */
export const users = pgTable("users", {
  id: uuid("id").primaryKey().defaultRandom(),
  name: text("name"),
  /** Stored lower-cased; unique. */
  email: text("email").unique(),
  emailVerified: timestamptz("email_verified"),
  image: text("image"),
  /** scrypt hash (see server/auth/password.ts); null for magic-link and OAuth users. */
  passwordHash: text("password_hash"),
  isPlatformAdmin: boolean("is_platform_admin").notNull().default(false),
  createdAt: createdAt(),
});

export const accounts = pgTable(
  "accounts",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    type: text("type").$type<"oauth" | "oidc" | "email" | "webauthn">().notNull(),
    provider: text("provider").notNull(),
    providerAccountId: text("provider_account_id").notNull(),
    refresh_token: text("refresh_token"),
    access_token: text("access_token"),
    expires_at: integer("expires_at"),
    token_type: text("token_type"),
    scope: text("scope"),
    id_token: text("id_token"),
    session_state: text("session_state"),
  },
  (table) => [primaryKey({ columns: [table.provider, table.providerAccountId] })],
);

export const sessions = pgTable("sessions", {
  sessionToken: text("session_token").primaryKey(),
  userId: uuid("user_id")
    .notNull()
    .references(() => users.id, { onDelete: "cascade" }),
  expires: timestamptz("expires").notNull(),
});

export const verificationTokens = pgTable(
  "verification_tokens",
  {
    identifier: text("identifier").notNull(),
    /** The adapter stores a hash of the magic-link token, never the token. */
    token: text("token").notNull(),
    expires: timestamptz("expires").notNull(),
  },
  (table) => [primaryKey({ columns: [table.identifier, table.token] })],
);

/**
 * Sign-ups waiting for their email to be confirmed. No user exists until the
 * link is followed, so nobody can create an account for an address they do
 * not control and wait for its owner to sign in to it.
 */
export const pendingSignUps = pgTable("pending_sign_ups", {
  id: uuid("id").primaryKey().defaultRandom(),
  email: text("email").notNull(),
  name: text("name").notNull(),
  passwordHash: text("password_hash").notNull(),
  /**
   * SHA-256 of the emailed token, set when the email goes out; the token itself is never stored.
   */
  tokenHash: text("token_hash").unique(),
  expiresAt: timestamptz("expires_at"),
  confirmedAt: timestamptz("confirmed_at"),
  createdAt: createdAt(),
});
