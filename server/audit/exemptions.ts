/**
 * The commands that may finish without an audit entry (`audit: false` in
 * their outcome), each with the reason. Every other command writes one: the
 * pipeline (server/commands.ts) refuses an unlisted command's `audit: false`,
 * and server/audit/coverage.test.ts fails when a command's source can return
 * it without being listed here.
 */
const meteredByTheirOwnRows =
  "A metering API call: audited by its usage record (idempotency key, feature, credits, API " +
  "key) and its ledger entries, which name the actor; an entry per call would double the hot " +
  "path's writes.";
const holdRows =
  "A metering API call: the hold row (key, amount, status, final amount) and the ledger entries " +
  "of its draw and settlement, which name the actor, are its record.";
const noChange =
  "Only a call that changes nothing (the same values again) skips the entry: there is no change " +
  "to record.";
const replayOnly =
  "Only a replay of the same idempotency key skips the entry: the first call wrote it, and the " +
  "replay changed nothing.";

export const auditExemptions: Readonly<Record<string, string>> = {
  "credits.consume": meteredByTheirOwnRows,
  "credits.consumeBatch": meteredByTheirOwnRows,
  "credits.placeHold": holdRows,
  "credits.finalizeHold": holdRows,
  "credits.releaseHold": holdRows,
  "credits.adjust": replayOnly,
  "credits.allocate": replayOnly,
  "credits.transfer": replayOnly,
  "credits.requestRefund": replayOnly,
  "payments.receiveStripeEvent":
    "Only a duplicate delivery skips the entry: the event is stored once by its Stripe id, and " +
    "the first delivery wrote the entry.",
  "workspaces.rename": noChange,
  "workspaces.members.changeRole": noChange,
  "notifications.markRead":
    "Marking one's own notices read changes only the reader's view of them; the read time is on " +
    "the delivery rows.",
};
