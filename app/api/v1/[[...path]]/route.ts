import { handleMeteringRequest } from "@/server/api/metering";
import { getRuntime } from "@/server/runtime";

async function handler(request: Request): Promise<Response> {
  return handleMeteringRequest(await getRuntime(), request);
}

export { handler as DELETE, handler as GET, handler as PATCH, handler as POST, handler as PUT };
