import { requestIdOf } from "@/server/api/http";
import { auth } from "@/server/auth/next-auth";
import { invoicePdfResponse } from "@/server/billing/pdf-route";
import { getRuntime } from "@/server/runtime";

export async function GET(
  request: Request,
  { params }: { params: Promise<{ invoiceId: string }> },
): Promise<Response> {
  const [{ invoiceId }, session, runtime] = await Promise.all([params, auth(), getRuntime()]);

  return invoicePdfResponse(runtime, session?.user?.id ?? null, invoiceId, requestIdOf(request));
}
