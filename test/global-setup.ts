import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import path from "node:path";

import postgres from "postgres";
import type { TestProject } from "vitest/node";

import { connect } from "@/server/db/client";
import { startEmbeddedPostgres, type EmbeddedServer } from "@/server/db/embedded";
import { runMigrations } from "@/server/db/migrate";

/**
 * One PostgreSQL server for the whole run: the machine's DATABASE_URL when
 * set, otherwise a throwaway embedded server. A template database is
 * migrated once; every test file clones its own database from it
 * (test/support/database.ts), so files run in parallel without sharing rows.
 */
declare module "vitest" {
  export interface ProvidedContext {
    adminUrl: string;
    templateDatabase: string;
    runId: string;
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;

  return parsed.toString();
}

export default async function setup(project: TestProject) {
  const runId = randomBytes(4).toString("hex");
  let embedded: EmbeddedServer | undefined;
  let adminUrl = process.env.DATABASE_URL;
  const dataDir = path.resolve(".data", `test-${runId}`);
  if (!adminUrl) {
    embedded = await startEmbeddedPostgres({ dataDir, persistent: false });
    adminUrl = embedded.url;
  }

  const template = `tally_test_${runId}_template`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`CREATE DATABASE ${template}`);
  const database = connect(withDatabase(adminUrl, template), { max: 2 });
  await runMigrations(database);
  await database.close();

  project.provide("adminUrl", adminUrl);
  project.provide("templateDatabase", template);
  project.provide("runId", runId);

  return async () => {
    const databases = await admin<{ datname: string }[]>`
      SELECT datname FROM pg_database WHERE datname LIKE ${`tally_test_${runId}_%`}`;
    for (const { datname } of databases) {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    }
    await admin.end();
    await embedded?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
