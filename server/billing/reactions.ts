import { eq } from "drizzle-orm";

import { billingCustomers, users } from "@/drizzle/schema";
import type { ReactionHandler } from "@/server/events/reactions";

/**
 * workspace/created → a customer at the payment gateway. The idempotency key
 * is derived from the workspace, so a retry after a crash between the
 * gateway call and the commit gets the same customer back.
 */
export const setUpBillingCustomer: ReactionHandler<"workspace/created"> = async ({
  tx,
  event,
  deps,
  log,
}) => {
  const [existing] = await tx
    .select({ customerId: billingCustomers.customerId })
    .from(billingCustomers)
    .where(eq(billingCustomers.workspaceId, event.data.workspaceId));
  if (existing) return;

  const [owner] = await tx
    .select({ email: users.email })
    .from(users)
    .where(eq(users.id, event.data.ownerUserId));
  const { customerId } = await deps.gateway.createCustomer(
    { workspaceId: event.data.workspaceId, email: owner?.email ?? null, name: event.data.name },
    `tally:customer:${event.data.workspaceId}`,
  );
  await tx
    .insert(billingCustomers)
    .values({
      workspaceId: event.data.workspaceId,
      gateway: deps.gateway.kind,
      customerId,
      createdAt: deps.clock.now(),
    })
    .onConflictDoNothing();
  log.info({ customerId, gateway: deps.gateway.kind }, "gateway customer recorded");
};
