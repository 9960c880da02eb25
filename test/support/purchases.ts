import { eq } from "drizzle-orm";

import { billingCustomers, creditPurchases } from "@/drizzle/schema";
import { isSimulatedGateway, type SimulatedGateway } from "@/server/payments/simulated";
import type { Runtime } from "@/server/runtime";

import { callerFor, drain } from "./runtime";

export function simulatedGatewayOf(runtime: Runtime): SimulatedGateway {
  if (!isSimulatedGateway(runtime.gateway)) throw new Error("Not the simulated gateway");

  return runtime.gateway;
}

/** Buys a pack as the workspace's owner through the simulated checkout, paid with 4242…. */
export async function buyPaidPack(
  runtime: Runtime,
  workspace: { workspaceId: string; userId: string },
  packId: string,
) {
  const caller = await callerFor(runtime, workspace.userId);
  const { purchaseId } = await caller.credits.purchases.start({
    workspaceId: workspace.workspaceId,
    packId,
  });
  const [purchase] = await runtime.db
    .select()
    .from(creditPurchases)
    .where(eq(creditPurchases.id, purchaseId));
  await simulatedGatewayOf(runtime).payCheckoutSession(
    purchase!.checkoutSessionId!,
    "4242424242424242",
  );
  await drain(runtime);
  const [paid] = await runtime.db
    .select()
    .from(creditPurchases)
    .where(eq(creditPurchases.id, purchaseId));
  if (paid?.status !== "paid") throw new Error(`Purchase ${purchaseId} is ${paid?.status}`);

  return paid;
}

export async function gatewayCustomerOf(runtime: Runtime, workspaceId: string): Promise<string> {
  const [row] = await runtime.db
    .select({ customerId: billingCustomers.customerId })
    .from(billingCustomers)
    .where(eq(billingCustomers.workspaceId, workspaceId));
  if (!row) throw new Error(`Workspace ${workspaceId} has no gateway customer`);

  return row.customerId;
}
