import { randomBytes } from "node:crypto";

import postgres from "postgres";
import { inject } from "vitest";

/** A fresh database for the calling test file, cloned from the migrated template. */
export async function freshDatabaseUrl(): Promise<string> {
  const adminUrl = inject("adminUrl");
  const name = `tally_test_${inject("runId")}_${randomBytes(4).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`CREATE DATABASE ${name} TEMPLATE ${inject("templateDatabase")}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;

  return url.toString();
}
