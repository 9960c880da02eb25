import { logger } from "./logger";
import { getRuntime } from "./runtime";

/**
 * Starts the app's runtime when the Next server starts (instrumentation.ts).
 * Serving every request a 500 would hide why it could not start, so a boot
 * failure (a damaged secrets file, an unreachable DATABASE_URL) stops the
 * server with the cause in the log.
 */
export async function boot(): Promise<void> {
  try {
    await getRuntime();
  } catch (error) {
    logger.fatal({ err: error }, "Tally could not start");
    process.exit(1);
  }
}
