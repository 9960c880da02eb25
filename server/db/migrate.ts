import path from "node:path";

import { migrate } from "drizzle-orm/postgres-js/migrator";

import type { Database } from "./client";

export const migrationsFolder = path.resolve(process.cwd(), "drizzle/migrations");

/**
 * Applies the committed drizzle-kit migrations. An advisory lock keeps two
 * processes starting at once from racing through the same migration.
 */
export async function runMigrations(database: Database): Promise<void> {
  const lock = await database.sql.reserve();
  try {
    await lock`SELECT pg_advisory_lock(hashtext('tally:migrations'))`;
    await migrate(database.db, { migrationsFolder });
  } finally {
    await lock`SELECT pg_advisory_unlock(hashtext('tally:migrations'))`;
    lock.release();
  }
}
