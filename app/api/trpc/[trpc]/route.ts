import { fetchRequestHandler } from "@trpc/server/adapters/fetch";

import { auth } from "@/server/auth/next-auth";
import { requestIdOf } from "@/server/api/http";
import { getRuntime } from "@/server/runtime";
import { createContext } from "@/server/trpc/init";
import { appRouter } from "@/server/trpc/router";

async function handler(request: Request): Promise<Response> {
  const runtime = await getRuntime();

  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req: request,
    router: appRouter,
    createContext: async () => {
      const session = await auth();
      return createContext(runtime, session?.user?.id ?? null, requestIdOf(request));
    },
  });
}

export { handler as GET, handler as POST };
