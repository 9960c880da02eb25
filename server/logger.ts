import pino, { type Logger } from "pino";

import { loadEnv } from "./env";

export type { Logger };

/**
 * The one logger. Code that works on behalf of a request, a command or a
 * reaction takes a child of it with `logger.child({ requestId, userId,
 * workspaceId, eventId })`; messages stay constant and data goes in the object.
 */
const globalForLogger = globalThis as unknown as { tallyLogger?: Logger };

export const logger: Logger =
  globalForLogger.tallyLogger ??
  (globalForLogger.tallyLogger = pino({
    name: "tally",
    level: loadEnv().LOG_LEVEL,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ["password", "*.password", "apiKey", "*.apiKey", "authorization"],
      remove: true,
    },
  }));
