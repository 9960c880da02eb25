import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres, { type Sql } from "postgres";

import * as schema from "@/drizzle/schema";

export { schema };

/** The drizzle database, with the postgres.js client under it (`$client`). */
export type Db = PostgresJsDatabase<typeof schema> & { $client: Sql };
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
/**
 * Domain functions take either, so the same code runs inside a transaction, a reaction or a test.
 */
export type DbOrTx = Db | Tx;

export interface Database {
  db: Db;
  sql: Sql;
  url: string;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Pool size. Concurrent consumptions of one workspace queue on a row lock, not on the pool. */
  max?: number;
}

export function connect(url: string, options: ConnectOptions = {}): Database {
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => undefined,
    // Dates come back as Date for timestamptz; bigint columns we read are in mode "number".
    connection: { application_name: "tally" },
  });
  const db = drizzle({ client: sql, schema });

  return {
    db,
    sql,
    url,
    close: () => sql.end({ timeout: 5 }),
  };
}

/** Hides the password when a URL is logged. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable database URL)";
  }
}
