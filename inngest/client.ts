import { Inngest } from "inngest";

import type { Env } from "@/server/env";
import type { Transport } from "@/server/events/relay";
import type { WireEvent } from "@/server/events/reactions";
import type { Logger } from "@/server/logger";

export const INNGEST_APP_ID = "tally";

export function createInngest(env: Env, log: Logger): Inngest {
  return new Inngest({
    id: INNGEST_APP_ID,
    isDev: env.INNGEST_DEV !== undefined,
    eventKey: env.INNGEST_EVENT_KEY,
    signingKey: env.INNGEST_SIGNING_KEY,
    baseUrl:
      env.INNGEST_BASE_URL ?? (env.INNGEST_DEV?.startsWith("http") ? env.INNGEST_DEV : undefined),
    logger: log.child({ component: "inngest" }),
  });
}

/**
 * Sends relayed events to Inngest. The event id is the outbox id, so a batch
 * sent again after a crash between send and mark is deduplicated by Inngest.
 * `data` is the whole wire event; functions read it back with `fromInngest`.
 */
export function inngestTransport(inngest: Inngest): Transport {
  return {
    name: "inngest",
    async publish(_tx, events) {
      await inngest.send(
        events.map((event) => ({
          id: event.id,
          name: event.name,
          data: event as unknown as Record<string, unknown>,
          ts: new Date(event.occurredAt).getTime(),
          v: String(event.version),
        })),
      );
    },
  };
}

export function fromInngest(event: { data?: unknown }): WireEvent {
  return event.data as WireEvent;
}
