import { asc, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";

import { creditPacks } from "@/drizzle/schema";
import { defineCommand } from "@/server/commands";
import type { Db } from "@/server/db/client";
import { AppError } from "@/server/errors";

import { MAX_CREDITS } from "./ledger";

/**
 * Credit packs: what customers can buy, defined by platform admins. A
 * purchase copies the pack's credits and price, so editing or archiving a
 * pack changes nothing already sold; archived packs are no longer offered.
 */

const currencies = new Set(Intl.supportedValuesOf("currency"));

/** The largest amount the integer price column holds. */
const MAX_PRICE_MINOR = 2_147_483_647;

const packFields = {
  name: z
    .string({ error: "Name the pack" })
    .trim()
    .min(1, "Name the pack")
    .max(60, "Names are at most 60 characters"),
  credits: z
    .number({ error: "Enter a whole number of credits" })
    .int("Enter a whole number of credits")
    .min(1, "A pack holds at least 1 credit")
    .max(MAX_CREDITS, "That is more credits than a balance can hold"),
  priceMinor: z
    .number({ error: "Enter the price in minor units (cents)" })
    .int("Enter the price in whole minor units (cents)")
    .min(1, "The price is at least 1 minor unit")
    .max(MAX_PRICE_MINOR, "That price is too large"),
  currency: z
    .string({ error: "Enter an ISO 4217 currency code" })
    .trim()
    .toUpperCase()
    .regex(/^[A-Z]{3}$/, "Use a three-letter ISO 4217 code such as USD")
    .refine((code) => currencies.has(code), "That is not an ISO 4217 currency code"),
};

export const createPackInput = z.object(packFields);

export const updatePackInput = z.object({ packId: z.uuid(), ...packFields });

export const createPack = defineCommand({
  name: "credits.createPack",
  input: createPackInput,
  async run({ tx, clock }, input) {
    const [pack] = await tx
      .insert(creditPacks)
      .values({ ...input, createdAt: clock.now() })
      .returning();
    if (!pack) throw new Error("Pack insert returned nothing");

    return { result: pack };
  },
});

export const updatePack = defineCommand({
  name: "credits.updatePack",
  input: updatePackInput,
  async run({ tx }, { packId, ...fields }) {
    const [pack] = await tx
      .update(creditPacks)
      .set(fields)
      .where(eq(creditPacks.id, packId))
      .returning();
    if (!pack) throw new AppError("not_found", "No such pack", { field: "packId" });

    return { result: pack };
  },
});

/** Stops offering a pack (or offers it again). Purchases and settings keep pointing at it. */
export const archivePack = defineCommand({
  name: "credits.archivePack",
  input: z.object({ packId: z.uuid(), archived: z.boolean().default(true) }),
  async run({ tx, clock }, input) {
    const [pack] = await tx
      .update(creditPacks)
      .set({ archivedAt: input.archived ? clock.now() : null })
      .where(eq(creditPacks.id, input.packId))
      .returning();
    if (!pack) throw new AppError("not_found", "No such pack", { field: "packId" });

    return { result: pack };
  },
});

/** Packs on offer, cheapest first (within a currency). */
export async function listActivePacks(db: Db) {
  return db
    .select({
      id: creditPacks.id,
      name: creditPacks.name,
      credits: creditPacks.credits,
      priceMinor: creditPacks.priceMinor,
      currency: creditPacks.currency,
    })
    .from(creditPacks)
    .where(isNull(creditPacks.archivedAt))
    .orderBy(asc(creditPacks.currency), asc(creditPacks.priceMinor), asc(creditPacks.name));
}

/** Every pack, archived ones included, for the admin's editor. */
export async function listAllPacks(db: Db) {
  return db
    .select()
    .from(creditPacks)
    .orderBy(
      sql`${creditPacks.archivedAt} ASC NULLS FIRST`,
      asc(creditPacks.currency),
      asc(creditPacks.priceMinor),
    );
}
