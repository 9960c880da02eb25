import { handleMeteringRequest } from "@/server/api/metering";
import { getRuntime } from "@/server/runtime";

/**
 * The metering API when Next serves it: only if Next runs by itself (`next
 * start`). `npm run dev` and `npm start` route /api/v1 to the same handler on
 * plain node:http before Next sees the request (server/serve.ts).
 */
async function handler(request: Request): Promise<Response> {
  return handleMeteringRequest(await getRuntime(), request);
}

export { handler as DELETE, handler as GET, handler as PATCH, handler as POST, handler as PUT };
