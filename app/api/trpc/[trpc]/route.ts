import { fetchRequestHandler } from "@trpc/server/adapters/fetch";

import { auth } from "@/server/auth/next-auth";
import { errorResponse, readText, requestIdOf } from "@/server/api/http";
import { isAppError } from "@/server/errors";
import { getRuntime } from "@/server/runtime";
import { createContext } from "@/server/trpc/init";
import { appRouter } from "@/server/trpc/router";

/** Forms send a few KiB; anything near this is not a form. */
const MAX_BODY_BYTES = 1024 * 1024;

async function handler(request: Request): Promise<Response> {
  const runtime = await getRuntime();
  let req = request;
  if (request.method === "POST") {
    try {
      const body = await readText(request, MAX_BODY_BYTES);
      req = new Request(request.url, { method: "POST", headers: request.headers, body });
    } catch (error) {
      if (isAppError(error)) return errorResponse(error, requestIdOf(request));
      throw error;
    }
  }

  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    // The portal's client batches at most this many calls (components/providers.tsx).
    maxBatchSize: 16,
    createContext: async () => {
      const session = await auth();
      return createContext(runtime, session?.user?.id ?? null, requestIdOf(request));
    },
  });
}

export { handler as GET, handler as POST };
