/**
 * Database commands for the npm scripts, in the same modes as the app:
 * DATABASE_URL when set, otherwise the embedded server on <data dir>/pg
 * (started for the command, or reused if `npm run dev` is running).
 *
 *   npm run db:migrate   apply committed migrations
 *   npm run db:studio    open drizzle-kit studio on the database
 */
import { spawn } from "node:child_process";

import { loadEnv } from "@/server/env";
import { logger } from "@/server/logger";

import { connect } from "./client";
import { startEmbeddedPostgres } from "./embedded";
import { runMigrations } from "./migrate";

async function main(command: string | undefined): Promise<number> {
  if (command !== "migrate" && command !== "studio") {
    logger.error({ command }, "usage: tsx server/db/cli.ts migrate|studio");
    return 2;
  }
  const env = loadEnv();
  const embedded = env.DATABASE_URL
    ? undefined
    : await startEmbeddedPostgres({ dataDir: env.TALLY_DATA_DIR, persistent: true });
  const url = env.DATABASE_URL ?? embedded!.url;

  try {
    if (command === "migrate") {
      const database = connect(url, { max: 2 });
      await runMigrations(database);
      await database.close();
      logger.info("migrations applied");
      return 0;
    }

    // studio: drizzle-kit reads DATABASE_URL through drizzle.config.ts; it runs until Ctrl-C.
    return await new Promise<number>((resolve) => {
      const child = spawn("npx", ["drizzle-kit", "studio"], {
        stdio: "inherit",
        env: { ...process.env, DATABASE_URL: url },
      });
      const forward = (signal: NodeJS.Signals) => child.kill(signal);
      process.on("SIGINT", forward);
      process.on("SIGTERM", forward);
      child.on("exit", (code) => resolve(code ?? 0));
    });
  } finally {
    await embedded?.stop();
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (error: unknown) => {
    logger.error({ err: error }, "database command failed");
    process.exit(1);
  },
);
