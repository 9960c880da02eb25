/**
 * Next calls register() once per server process before serving requests:
 * the place to start the embedded database, apply migrations, seed the demo
 * and start the relay and the in-process driver. Not during `next build`.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  if (process.env.NEXT_PHASE === "phase-production-build") return;

  const { getRuntime } = await import("./server/runtime");
  const { logger } = await import("./server/logger");
  try {
    await getRuntime();
  } catch (error) {
    // Serving every request a 500 would hide the cause; stop with it instead.
    logger.fatal({ err: error }, "Tally could not start");
    process.exit(1);
  }
}
