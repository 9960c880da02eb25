import { seatChanges } from "@/drizzle/schema";
import type { ReactionHandler } from "@/server/events/reactions";
import { seatsInUse } from "@/server/workspaces/members";

/**
 * workspace/collaborator-added or -removed → the workspace's seat count,
 * recorded for billing with the time of the change. The source event's id is
 * unique in seat_changes, so a redelivery records nothing twice; the count
 * is read when the reaction runs, so a late run records the current seats.
 *
 * TODO: subscriptions and invoices do not exist yet. When they do, billing
 * reads seat_changes to charge seats beyond the tier's included_seats at
 * seat_price_minor, prorated over the part of the period each count held.
 */
export const recordSeatCount: ReactionHandler<
  "workspace/collaborator-added" | "workspace/collaborator-removed"
> = async ({ tx, event, log }) => {
  const workspaceId = event.data.workspaceId;
  const seats = await seatsInUse(tx, workspaceId);
  await tx
    .insert(seatChanges)
    .values({ workspaceId, seats, occurredAt: event.occurredAt, sourceEventId: event.id })
    .onConflictDoNothing({ target: seatChanges.sourceEventId });
  log.info({ workspaceId, seats }, "seat count recorded");
};
