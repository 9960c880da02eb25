/**
 * Tally's server process: one HTTP server on one port. Requests under
 * /api/v1 go straight to the metering API on node:http (server/api); every
 * other request goes to Next. Both share one runtime (database pool, relay,
 * side-effect driver), since Next's instrumentation finds the runtime this
 * process created on globalThis.
 *
 *   tsx server/serve.ts                 development: next dev (npm run dev)
 *   tsx server/serve.ts start           production: the `next build` output (npm start)
 *   tsx server/serve.ts --api-only      the metering API alone, no Next (another process may
 *                                       serve the portal on the same database)
 *
 * Options: --port <n> (default PORT or 3000), --hostname <host> (default
 * localhost in development, HOSTNAME or 0.0.0.0 in production, 127.0.0.1
 * with --api-only), --no-background (no relay or driver: benchmarks).
 */
import path from "node:path";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: "string" },
    hostname: { type: "string" },
    "api-only": { type: "boolean", default: false },
    "no-background": { type: "boolean", default: false },
  },
});

const production = positionals[0] === "start";
if (positionals.length > 1 || (positionals[0] !== undefined && !production)) {
  console.error("usage: tsx server/serve.ts [start] [--api-only] [--port n] [--hostname h]");
  process.exit(2);
}
// Before anything reads the environment: Next and env.ts both decide on NODE_ENV.
const env = process.env as Record<string, string | undefined>;
if (production) env.NODE_ENV = "production";
else env.NODE_ENV ??= "development";
env.NEXT_TELEMETRY_DISABLED ??= "1";

const apiOnly = values["api-only"];
const port = Number(values.port ?? process.env.PORT ?? 3000);
const hostname =
  values.hostname ??
  (apiOnly ? "127.0.0.1" : production ? (process.env.HOSTNAME ?? "0.0.0.0") : "localhost");
// Links in emails and redirects come from APP_URL: unset, it follows the port served on.
env.APP_URL ||= `http://localhost:${port}`;

async function main(): Promise<void> {
  const { logger } = await import("./logger");
  const { meteringApiFor } = await import("./api/metering");
  const { listen } = await import("./api/server");

  if (apiOnly) {
    const { createRuntime } = await import("./runtime");
    const runtime = await createRuntime({ background: !values["no-background"] });
    const api = await meteringApiFor(runtime);
    const running = await listen(api, { port, hostname });
    logger.info({ ...runtime.modes, url: running.url }, "Tally metering API started");

    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "stopping the metering API");
      // Stop taking requests, let queued consumptions commit, then close the database.
      void running
        .close()
        .then(() => api.stop())
        .then(() => runtime.stop())
        .finally(() => process.exit(0));
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    return;
  }

  // The runtime logs its start and stops itself on SIGINT/SIGTERM (server/runtime.ts).
  // TODO: that shutdown closes the database while the HTTP server still accepts requests; a
  // consumption arriving in those few seconds gets a 500 instead of waiting for the next start.
  const { getRuntime } = await import("./runtime");
  const runtime = await getRuntime();
  const api = await meteringApiFor(runtime);
  const { default: next } = await import("next");
  const app = next({
    dev: !production,
    dir: path.resolve(import.meta.dirname, ".."),
    hostname,
    port,
  });
  await app.prepare();
  const handle = app.getRequestHandler();
  const running = await listen(api, { port, hostname, fallback: (req, res) => handle(req, res) });
  logger.info(
    {
      url: running.url,
      api: `${running.url}/api/v1`,
      mode: production ? "production" : "development",
    },
    "listening",
  );
}

main().catch(async (error: unknown) => {
  const { logger } = await import("./logger");
  logger.fatal({ err: error }, "Tally could not start");
  process.exit(1);
});
