/**
 * Starts an embedded server on the data directory given as argument, prints
 * its port and waits to be killed: a stand-in for `npm run dev` dying with
 * kill -9, or exiting on SIGTERM the way Next does, with process.exit and no
 * time for asynchronous cleanup (server/db/embedded.test.ts).
 */
import { startEmbeddedPostgres } from "@/server/db/embedded";

const server = await startEmbeddedPostgres({
  dataDir: process.argv[2] ?? ".data/orphan",
  persistent: true,
});
process.stdout.write(`${server.port}\n`);
process.on("SIGTERM", () => process.exit(143));
setInterval(() => undefined, 1000);
