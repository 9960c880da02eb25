import { prunePendingSignUps, sendSignUpConfirmation } from "@/server/auth/commands";
import {
  closeCycleCredits,
  collectCycleUsage,
  invoiceCycle,
  markCyclePaymentRequested,
  sweepBillingCycles,
} from "@/server/billing/cycles";
import { invoiceFirstPeriod } from "@/server/billing/first-invoice";
import { collectInvoice } from "@/server/billing/collection";
import {
  retryInvoicePayment,
  retryWithNewCard,
  stopDunningOnCancel,
  stopDunningOnVoid,
  stopDunningOnWriteOff,
  sweepDunningCases,
} from "@/server/billing/dunning";
import { setUpBillingCustomer } from "@/server/billing/reactions";
import { autoPurchaseOnOverage } from "@/server/billing/overage-charges";
import { issuePurchaseInvoice } from "@/server/billing/purchase-invoices";
import { recordSeatCount } from "@/server/billing/seats";
import { expireHolds } from "@/server/credits/holds";
import { runAutoTopUp } from "@/server/credits/auto-top-up";
import { allocateInitialCredits, expireDueGrants } from "@/server/credits/reactions";
import { sendRefundToGateway } from "@/server/credits/refunds";
import { pruneIdempotencyKeys } from "@/server/credits/retention";
import { notifyOn } from "@/server/notifications/notify";
import { retryDueDeliveries, scheduleRetry, sendDelivery } from "@/server/notifications/reactions";
import { notificationTypes } from "@/server/notifications/types";
import { pruneEventTables } from "@/server/events/retention";
import { processStripeEvent, redeliverSimulatedEvents } from "@/server/payments/reactions";
import { reconcileWithGateway } from "@/server/payments/reconciliation";
import { refundCancelledCredit } from "@/server/payments/refunds";
import { countConsumption, countSignup } from "@/server/usage/reactions";
import {
  deleteExpiredCancelledWorkspaces,
  grantUpgradeCredits,
  purgeDeletedWorkspace,
  recordCancellationRefund,
  recordTierChangeProration,
} from "@/server/workspaces/reactions";
import { sendInvitation } from "@/server/workspaces/members";
import { checkQuotas } from "@/server/workspaces/tiers";

import { onCron, onEvent, type Reaction } from "./reaction";

/**
 * The event bus table: which reaction runs on which event (or cron
 * schedule), how often it is retried, and what it is serialised on. The
 * Inngest functions at /api/inngest and the in-process driver are both built
 * from this list, so the tests exercise exactly what production runs.
 *
 * Each reaction does one side effect. Ids are stable: they name the Inngest
 * function and key the inbox, so renaming one would run it again for old
 * events.
 */
export const bus: readonly Reaction[] = [
  onEvent("auth/sign-up-requested", {
    id: "auth-sign-up-confirmation",
    description: "Email a one-time link that confirms a sign-up",
    handle: sendSignUpConfirmation,
    concurrency: "none",
  }),
  onEvent("workspace/created", {
    id: "credits-initial-allocation",
    description: "Grant the tier allowance and the signup bonus",
    handle: allocateInitialCredits,
  }),
  onEvent("workspace/created", {
    id: "billing-setup-customer",
    description: "Create the workspace's customer at the payment gateway",
    handle: setUpBillingCustomer,
    retries: 6,
  }),
  onEvent("workspace/created", {
    id: "billing-first-period-invoice",
    description: "Invoice the first period's fee and extra seats in advance",
    handle: invoiceFirstPeriod,
  }),
  onEvent("workspace/created", {
    id: "analytics-count-signup",
    description: "Count the new workspace in daily metrics",
    handle: countSignup,
    concurrency: "none",
  }),
  onEvent("workspace/tier-changed", {
    id: "credits-upgrade-allocation",
    description: "Grant an upgrade's prorated difference of the monthly allowance",
    handle: grantUpgradeCredits,
  }),
  onEvent("workspace/tier-changed", {
    id: "billing-tier-change-proration",
    description: "Record the prorated credit and charge of a tier change for the next invoice",
    handle: recordTierChangeProration,
  }),
  onEvent("workspace/cancelled", {
    id: "billing-cancellation-refund",
    description: "Record the refund of a cancellation now and issue the final invoice",
    handle: recordCancellationRefund,
  }),
  onEvent("workspace/deleted", {
    id: "workspaces-purge-data",
    description: "Purge a deleted workspace's data, keeping legal records",
    handle: purgeDeletedWorkspace,
    retries: 6,
  }),
  onEvent("workspace/collaborator-invited", {
    id: "workspace-send-invitation",
    description: "Email the invited address a one-time link to join the workspace",
    handle: sendInvitation,
  }),
  onEvent("workspace/collaborator-added", {
    id: "billing-seats-on-add",
    description: "Record the seat count and prorate extra seats after someone joins",
    handle: recordSeatCount,
  }),
  onEvent("workspace/collaborator-removed", {
    id: "billing-seats-on-remove",
    description: "Record the seat count and prorate extra seats after someone leaves",
    handle: recordSeatCount,
  }),
  onEvent("credits/purchased", {
    id: "billing-purchase-invoice",
    description: "Issue the paid invoice of a credit pack purchase",
    handle: issuePurchaseInvoice,
  }),
  onEvent("billing/overage-charged", {
    id: "billing-overage-auto-purchase",
    description:
      "Buy the auto top-up pack after overage was charged, when tier and workspace allow it",
    handle: autoPurchaseOnOverage,
  }),
  onEvent("credits/top-up-due", {
    id: "credits-auto-top-up",
    description: "Buy the chosen pack off session when the balance falls below the threshold",
    handle: runAutoTopUp,
  }),
  onEvent("credits/refunded", {
    id: "credits-refund-payment",
    description: "Give a refund's money back at the payment gateway",
    handle: sendRefundToGateway,
    retries: 8,
  }),
  onEvent("billing/invoice-generated", {
    id: "payments-refund-cancelled-credit",
    description: "Pay a cancelled workspace's remaining credit back against its invoice payments",
    handle: refundCancelledCredit,
    retries: 8,
  }),
  onEvent("credits/consumed", {
    id: "analytics-count-consumption",
    description: "Add consumed credits to daily metrics",
    handle: countConsumption,
    concurrency: "none",
  }),
  onEvent("credits/consumed", {
    id: "usage-check-quotas",
    description: "Emit usage/quota-exceeded once per period when a feature goes over its quota",
    handle: checkQuotas,
  }),
  // One reaction per notification type that an event triggers (server/notifications/types/):
  // e.g. notify-credits.low_balance on credits/low-balance, notify-account.welcome on
  // workspace/created.
  ...notificationTypes.flatMap((definition) =>
    definition.trigger
      ? [
          onEvent(definition.trigger.event, {
            id: `notify-${definition.type}`,
            description: `Create the ${definition.label} notification`,
            handle: notifyOn(definition),
          }),
        ]
      : [],
  ),
  onEvent("notifications/delivery-due", {
    id: "notifications-send",
    description: "Attempt one email or webhook delivery",
    handle: sendDelivery,
    concurrency: "none",
  }),
  onEvent("notifications/failed", {
    id: "notifications-schedule-retry",
    description: "Schedule the next attempt of a failed delivery, or fail it for good",
    handle: scheduleRetry,
    concurrency: "none",
  }),
  onCron("* * * * *", {
    id: "notifications-retry-due",
    description: "Hand out the deliveries whose retry is due",
    handle: retryDueDeliveries,
  }),
  onEvent("payments/webhook-received", {
    id: "payments-process-webhook",
    description: "Apply a stored gateway webhook event",
    handle: processStripeEvent,
    retries: 8,
    concurrency: "none",
  }),
  onCron("29 * * * *", {
    id: "auth-prune-pending-sign-ups",
    description: "Delete pending sign-ups a day after their link expired or was used",
    handle: prunePendingSignUps,
  }),
  onCron("* * * * *", {
    id: "payments-redeliver-simulated-events",
    description: "Send again the simulated gateway's webhook events the route has not taken",
    handle: redeliverSimulatedEvents,
  }),
  onCron("0 3 * * *", {
    id: "payments-reconcile",
    description:
      "Compare the gateway's payments, refunds and disputes with Tally's and record drift",
    handle: reconcileWithGateway,
    retries: 4,
  }),
  onCron("* * * * *", {
    id: "credits-expire-grants",
    description: "Expire grants past their expiry",
    handle: expireDueGrants,
  }),
  onCron("* * * * *", {
    id: "credits-expire-holds",
    description: "Release holds past their time limit",
    handle: expireHolds,
  }),
  // A billing cycle is a chain of these five rows (server/billing/cycles.ts); the credits of a
  // period turn over at its last step, so credits and invoices move together.
  onCron("* * * * *", {
    id: "billing-start-cycles",
    description: "Start the billing cycles of ended periods and resume stalled ones",
    handle: sweepBillingCycles,
  }),
  onEvent("billing/cycle-started", {
    id: "billing-collect-usage",
    description: "Collect the ended period's overage and the seats onto the cycle",
    handle: collectCycleUsage,
  }),
  onEvent("billing/usage-collected", {
    id: "billing-invoice-cycle",
    description: "Issue the cycle's invoice: next period's fee and seats, overage, adjustments",
    handle: invoiceCycle,
  }),
  onEvent("billing/payment-requested", {
    id: "billing-cycle-payment-requested",
    description: "Mark the cycle's invoice handed to collection and complete the cycle",
    handle: markCyclePaymentRequested,
  }),
  // Collecting invoices and dunning (server/billing/collection.ts, dunning.ts): a failed charge
  // opens the invoice's case; the sweep asks for each retry on its day; a new card retries now.
  onEvent("billing/payment-requested", {
    id: "billing-collect-invoice",
    description: "Charge an issued invoice's amount due to the workspace's saved card",
    handle: collectInvoice,
    retries: 6,
  }),
  onCron("* * * * *", {
    id: "billing-dunning-sweep",
    description: "Ask for the retries of unpaid invoices whose day has come",
    handle: sweepDunningCases,
  }),
  onEvent("billing/payment-retry-due", {
    id: "billing-dunning-retry",
    description: "Charge an unpaid invoice again; suspend the workspace after the last retry",
    handle: retryInvoicePayment,
    retries: 6,
  }),
  onEvent("billing/payment-method-updated", {
    id: "billing-dunning-card-updated",
    description: "Retry the workspace's unpaid invoices at once with its new card",
    handle: retryWithNewCard,
  }),
  onEvent("workspace/cancelled", {
    id: "billing-dunning-stop-on-cancel",
    description: "Stop chasing a cancelled workspace's unpaid invoices",
    handle: stopDunningOnCancel,
  }),
  onEvent("billing/invoice-voided", {
    id: "billing-dunning-stop-on-void",
    description: "Stop chasing a voided invoice; reactivate a workspace its dunning suspended",
    handle: stopDunningOnVoid,
  }),
  onEvent("billing/invoice-uncollectible", {
    id: "billing-dunning-stop-on-write-off",
    description: "Stop chasing a written-off invoice; reactivate a workspace its dunning suspended",
    handle: stopDunningOnWriteOff,
  }),
  onEvent("billing/cycle-completed", {
    id: "billing-close-cycle-credits",
    description: "Close the cycle's credit period: rollover, expiry, next allowance",
    handle: closeCycleCredits,
  }),
  onCron("53 * * * *", {
    id: "workspaces-delete-expired",
    description: "Delete cancelled workspaces past their purge date",
    handle: deleteExpiredCancelledWorkspaces,
  }),
  onCron("41 * * * *", {
    id: "credits-prune-idempotency-keys",
    description: "Forget idempotency keys older than 30 days",
    handle: pruneIdempotencyKeys,
  }),
  onCron("17 * * * *", {
    id: "events-prune",
    description: "Delete finished reaction runs and old published events and inbox rows",
    handle: pruneEventTables,
  }),
];
