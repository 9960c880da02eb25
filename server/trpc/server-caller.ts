import { auth } from "@/server/auth/next-auth";
import { getRuntime } from "@/server/runtime";
import { createContext } from "@/server/trpc/init";
import { createCaller } from "@/server/trpc/router";

/**
 * The tRPC router called from a Server Component for the signed-in user, so
 * server-side redirects and gates go through the same procedures (and the
 * same rights checks) as the browser. Server Components only.
 */
export async function serverCaller() {
  // auth() first: it reads the request's cookies, which makes the page dynamic, so `next build`
  // never gets as far as starting the runtime (and a database) while prerendering.
  const session = await auth();
  const runtime = await getRuntime();

  return createCaller(await createContext(runtime, session?.user?.id ?? null));
}
