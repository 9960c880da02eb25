import { serve } from "inngest/next";

import { bus } from "@/inngest/bus";
import { createInngest } from "@/inngest/client";
import { buildInngestFunctions } from "@/inngest/functions";
import { json } from "@/server/api/http";
import { loadEnv } from "@/server/env";
import { logger } from "@/server/logger";
import { getRuntime } from "@/server/runtime";

/**
 * The Inngest functions built from the event bus table, served when an
 * Inngest server is configured (INNGEST_DEV or INNGEST_EVENT_KEY). Without
 * one, the in-process driver runs the same reactions and this route says so.
 */
const env = loadEnv();
const inngest = createInngest(env, logger);
const served = env.inngestEnabled
  ? serve({
      client: inngest,
      functions: buildInngestFunctions(inngest, bus, async () => (await getRuntime()).executeDeps),
    })
  : undefined;

function inProcess(): Response {
  return json(
    {
      error: {
        code: "not_found",
        message:
          "Side effects run in-process; set INNGEST_DEV=1 (or INNGEST_EVENT_KEY) to serve " +
          "Inngest functions here",
      },
    },
    404,
  );
}

type Handler = (request: Request, context: unknown) => Promise<Response>;
const route = (method: "GET" | "POST" | "PUT"): Handler =>
  served ? (served[method] as unknown as Handler) : async () => inProcess();

export const GET = route("GET");
export const POST = route("POST");
export const PUT = route("PUT");
