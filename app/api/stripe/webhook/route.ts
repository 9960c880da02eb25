import { handleStripeWebhook } from "@/server/payments/webhook-route";
import { getRuntime } from "@/server/runtime";

export async function POST(request: Request): Promise<Response> {
  return handleStripeWebhook(await getRuntime(), request);
}
