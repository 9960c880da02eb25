import { z } from "zod";

/**
 * The event catalogue: every domain event Tally knows, with its schema and
 * version, including events no feature emits yet. An event's `data` is
 * validated against its schema when it is written to the outbox and again
 * before a reaction runs. Names are `area/name`; a breaking change to a
 * schema gets a new version, and reactions say which versions they accept.
 *
 * Events carry ids, not whole objects: reactions read the current state in
 * their own transaction.
 */

const id = z.string().min(1);
const workspaceId = z.uuid();
const credits = z.number().int();
const minor = z.number().int();
const currency = z.string().regex(/^[A-Z]{3}$/);
const instant = z.iso.datetime({ offset: true });
const actor = z.object({
  type: z.enum(["user", "api_key", "system"]),
  id: z.string().nullable(),
});

/**
 * The thing an event is about. Webhook payloads carry, beside the event's
 * position in its workspace's stream, the position of the previous event
 * about the same object, so receivers can order events and spot stale ones.
 */
export interface ObjectRef {
  type: string;
  id: string;
}

interface Definition<TSchema extends z.ZodObject> {
  version: number;
  description: string;
  schema: TSchema;
  object: (data: z.infer<TSchema>) => ObjectRef;
}

function define<TSchema extends z.ZodObject>(
  version: number,
  description: string,
  schema: TSchema,
  object: (data: z.infer<TSchema>) => ObjectRef,
): Definition<TSchema> {
  return { version, description, schema, object };
}

export const catalogue = {
  // Credits
  "credits/consumed": define(
    2,
    "Credits were drawn for feature calls: one event per workspace per transaction, summed by " +
      "feature (each call's usage record holds its detail). → usage rollups, quota check",
    z.object({
      workspaceId,
      /** Consumptions the transaction made that drew credits. */
      consumptions: z.number().int().min(1),
      credits,
      /** The balance after the transaction's last consumption. */
      balanceAfter: credits,
      features: z
        .array(
          z.object({
            featureCode: z.string(),
            consumptions: z.number().int().min(1),
            credits,
          }),
        )
        .min(1),
    }),
    (d) => ({ type: "credit_balance", id: d.workspaceId }),
  ),
  "credits/low-balance": define(
    1,
    "The balance fell below the low-balance threshold (once per crossing). → notification, auto " +
      "top-up",
    z.object({ workspaceId, balance: credits, threshold: credits }),
    (d) => ({ type: "credit_balance", id: d.workspaceId }),
  ),
  "credits/overage": define(
    1,
    "A consumption went past the balance under a soft overage policy. → overage for the cycle's " +
      "invoice",
    z.object({ workspaceId, usageRecordId: id, overageCredits: credits }),
    (d) => ({ type: "credit_balance", id: d.workspaceId }),
  ),
  "credits/purchased": define(
    1,
    "A credit pack was paid for and granted. → invoice for the purchase, confirmation email",
    z.object({
      workspaceId,
      purchaseId: id,
      grantId: id,
      packId: id,
      credits,
      amountMinor: minor,
      currency,
      paymentId: id,
      origin: z.enum(["checkout", "auto_top_up"]),
    }),
    (d) => ({ type: "credit_purchase", id: d.purchaseId }),
  ),
  "credits/allocated": define(
    1,
    "Credits were granted from the tier, a bonus or an adjustment. → quota update",
    z.object({
      workspaceId,
      grantId: id,
      source: z.string(),
      credits,
      balanceAfter: credits,
      expiresAt: instant.nullable(),
    }),
    (d) => ({ type: "credit_grant", id: d.grantId }),
  ),
  "credits/rolled-over": define(
    1,
    "Unused allocated credits carried into the next period. → period transition recorded",
    z.object({
      workspaceId,
      periodId: id,
      /** The rollover grant, or null when nothing carried over. */
      grantId: id.nullable(),
      credits,
      /** Unused allowance of the period that ended that did not carry over. */
      forfeitedCredits: credits,
      periodStart: instant,
      periodEnd: instant,
    }),
    (d) => ({ type: "credit_period", id: d.periodId }),
  ),
  "credits/refunded": define(
    1,
    "Unused purchased credits were refunded. → payment reversal at the gateway",
    z.object({
      workspaceId,
      purchaseId: id,
      grantId: id,
      credits,
      amountMinor: minor,
      currency,
      refundId: id,
    }),
    (d) => ({ type: "credit_refund", id: d.refundId }),
  ),
  "credits/expired": define(
    1,
    "A grant passed its expiry with credits left. → notification, cleanup",
    z.object({ workspaceId, grantId: id, credits, balanceAfter: credits }),
    (d) => ({ type: "credit_grant", id: d.grantId }),
  ),
  "credits/held": define(
    1,
    "Credits were reserved for work whose cost is known later. → analytics",
    z.object({ workspaceId, holdId: id, credits, expiresAt: instant, balanceAfter: credits }),
    (d) => ({ type: "credit_hold", id: d.holdId }),
  ),
  "credits/hold-settled": define(
    1,
    "A hold was finalized, released or expired; what it did not keep went back. → analytics",
    z.object({
      workspaceId,
      holdId: id,
      outcome: z.enum(["finalized", "released", "expired"]),
      heldCredits: credits,
      keptCredits: credits,
      balanceAfter: credits,
    }),
    (d) => ({ type: "credit_hold", id: d.holdId }),
  ),
  "credits/adjusted": define(
    1,
    "A platform admin added or removed credits, with a reason. → audit, notification",
    z.object({ workspaceId, credits, reason: z.string(), balanceAfter: credits, actor }),
    (d) => ({ type: "credit_balance", id: d.workspaceId }),
  ),
  "credits/transferred": define(
    1,
    "Credits moved between two workspaces of one owner; one event on each side. → analytics",
    z.object({
      workspaceId,
      transferId: id,
      counterpartWorkspaceId: workspaceId,
      /** Negative on the sending side, positive on the receiving side. */
      credits,
      balanceAfter: credits,
    }),
    (d) => ({ type: "credit_transfer", id: d.transferId }),
  ),
  "credits/top-up-due": define(
    1,
    "The balance fell below the workspace's auto top-up threshold (once per crossing). → buy " +
      "the chosen pack off session",
    z.object({ workspaceId, balance: credits, threshold: credits }),
    (d) => ({ type: "credit_balance", id: d.workspaceId }),
  ),
  "credits/top-up-failed": define(
    1,
    "An auto top-up could not buy credits. → notification",
    z.object({ workspaceId, purchaseId: id.nullable(), reason: z.string() }),
    (d) => ({ type: "credit_balance", id: d.workspaceId }),
  ),

  // Workspaces
  "workspace/created": define(
    1,
    "A workspace was created. → initial allocation, billing setup, first invoice, welcome email, analytics",
    z.object({
      workspaceId,
      slug: z.string(),
      name: z.string(),
      tierId: id,
      tierCode: z.string(),
      ownerUserId: id,
    }),
    (d) => ({ type: "workspace", id: d.workspaceId }),
  ),
  "workspace/tier-changed": define(
    1,
    "The workspace moved to another tier. → reallocation, quotas, prorated billing, confirmation",
    z.object({
      workspaceId,
      fromTierId: id,
      toTierId: id,
      effectiveAt: instant,
      /** By monthly price: higher is an upgrade, anything else a downgrade. */
      direction: z.enum(["upgrade", "downgrade"]),
      /**
       * True for a change within a period (prorated lines, an upgrade's credits); false for a
       * downgrade applied at the period's end, which the next period simply bills and allocates.
       */
      prorated: z.boolean(),
      /** The period the change falls in: the one it prorates. */
      periodStart: instant,
      periodEnd: instant,
    }),
    (d) => ({ type: "workspace", id: d.workspaceId }),
  ),
  "workspace/suspended": define(
    1,
    "The workspace was suspended. → API access revoked, billing paused, notification",
    z.object({ workspaceId, reason: z.string() }),
    (d) => ({ type: "workspace", id: d.workspaceId }),
  ),
  "workspace/reactivated": define(
    1,
    "A suspended workspace was reactivated. → access restored",
    z.object({ workspaceId }),
    (d) => ({ type: "workspace", id: d.workspaceId }),
  ),
  "workspace/cancelled": define(
    1,
    "The workspace was cancelled. → prorated refund, cleanup scheduled, notification",
    z.object({
      workspaceId,
      effectiveAt: instant,
      /** Now (with a prorated refund of the unused fee and seats) rather than at the period's end. */
      immediate: z.boolean(),
      /** The period the cancellation falls in; an immediate one refunds its unused part. */
      periodStart: instant,
      periodEnd: instant,
    }),
    (d) => ({ type: "workspace", id: d.workspaceId }),
  ),
  "workspace/deleted": define(
    1,
    "A cancelled workspace was deleted. → data purge, audit entry",
    z.object({ workspaceId, slug: z.string() }),
    (d) => ({ type: "workspace", id: d.workspaceId }),
  ),
  "workspace/collaborator-invited": define(
    1,
    "Someone was invited to the workspace by email. → the invitation email with its link",
    z.object({ workspaceId, inviteId: id, role: z.string() }),
    (d) => ({ type: "invitation", id: d.inviteId }),
  ),
  "workspace/collaborator-added": define(
    1,
    "Someone joined the workspace. → permission sync, seat count on billing, audit entry",
    z.object({ workspaceId, userId: id, role: z.string() }),
    (d) => ({ type: "workspace_member", id: `${d.workspaceId}:${d.userId}` }),
  ),
  "workspace/collaborator-removed": define(
    1,
    "Someone left or was removed. → permission sync, seat count on billing, audit entry",
    z.object({ workspaceId, userId: id }),
    (d) => ({ type: "workspace_member", id: `${d.workspaceId}:${d.userId}` }),
  ),

  // Billing
  "billing/cycle-started": define(
    1,
    "A billing period ended and its cycle began; changes due at the period's end are applied. → " +
      "usage collection",
    z.object({
      workspaceId,
      subscriptionId: id,
      cycleId: id,
      periodStart: instant,
      periodEnd: instant,
    }),
    (d) => ({ type: "billing_cycle", id: d.cycleId }),
  ),
  "billing/usage-collected": define(
    1,
    "The ended period's overage and the next period's seats were collected. → invoice generation",
    z.object({ workspaceId, subscriptionId: id, cycleId: id, overageCredits: credits }),
    (d) => ({ type: "billing_cycle", id: d.cycleId }),
  ),
  "billing/cycle-completed": define(
    1,
    "A billing cycle finished. → credit rollover, next allocation",
    z.object({
      workspaceId,
      subscriptionId: id,
      cycleId: id,
      periodStart: instant,
      periodEnd: instant,
    }),
    (d) => ({ type: "billing_cycle", id: d.cycleId }),
  ),
  "billing/invoice-generated": define(
    1,
    "An invoice was finalized: it has its number and is open (or paid when nothing is due). → " +
      "invoice email with PDF, payment request",
    z.object({
      workspaceId,
      invoiceId: id,
      number: z.string(),
      kind: z.enum(["subscription", "purchase", "proration"]),
      /** The cycle it bills, for a subscription invoice. */
      cycleId: id.nullable(),
      totalMinor: minor,
      amountDueMinor: minor,
      currency,
    }),
    (d) => ({ type: "invoice", id: d.invoiceId }),
  ),
  "billing/payment-requested": define(
    1,
    "An invoice's amount due was handed to collection. → off-session charge at the gateway",
    z.object({
      workspaceId,
      invoiceId: id,
      cycleId: id.nullable(),
      amountMinor: minor,
      currency,
    }),
    (d) => ({ type: "invoice", id: d.invoiceId }),
  ),
  "billing/invoice-voided": define(
    1,
    "An open invoice was voided; nothing more is collected for it. → notification",
    z.object({ workspaceId, invoiceId: id, number: z.string(), reason: z.string() }),
    (d) => ({ type: "invoice", id: d.invoiceId }),
  ),
  "billing/invoice-uncollectible": define(
    1,
    "An open invoice was marked uncollectible: written off, its number kept.",
    z.object({ workspaceId, invoiceId: id, number: z.string() }),
    (d) => ({ type: "invoice", id: d.invoiceId }),
  ),
  "billing/payment-succeeded": define(
    1,
    "A payment went through. → credit allocation, subscription update, confirmation email",
    z.object({
      workspaceId,
      paymentId: id,
      invoiceId: id.nullable(),
      amountMinor: minor,
      currency,
    }),
    (d) => ({ type: "payment", id: d.paymentId }),
  ),
  "billing/payment-failed": define(
    1,
    "A payment failed. → dunning: retries, notices, suspension warning, suspension, admin alert",
    z.object({
      workspaceId,
      paymentId: id,
      invoiceId: id.nullable(),
      amountMinor: minor,
      currency,
      failureCode: z.string().nullable(),
      attempt: z.number().int().positive(),
      /** What started the charge; "customer" is Pay now, whose page shows the decline. */
      trigger: z.enum(["invoice_issued", "dunning_retry", "card_updated", "customer"]).optional(),
    }),
    (d) => ({ type: "payment", id: d.paymentId }),
  ),
  "billing/overage-charged": define(
    1,
    "Overage was put on an invoice. → credit purchase when auto top-up is on",
    z.object({ workspaceId, invoiceId: id, credits, amountMinor: minor, currency }),
    (d) => ({ type: "invoice", id: d.invoiceId }),
  ),
  "billing/payment-method-updated": define(
    1,
    "The workspace saved a new card for its invoices. → an open dunning case retries at once",
    z.object({
      workspaceId,
      /** The gateway's payment method id (pm_…). */
      paymentMethodRef: z.string(),
      /** How it is shown, e.g. "Visa ending 4242". */
      label: z.string(),
    }),
    (d) => ({ type: "workspace", id: d.workspaceId }),
  ),
  "billing/payment-retry-due": define(
    1,
    "A dunning case's next attempt has come (or a new card asks for one now). → off-session charge",
    z.object({
      workspaceId,
      caseId: id,
      invoiceId: id,
      /** The attempt to make: 2 for the first retry. */
      attempt: z.number().int().min(2),
      trigger: z.enum(["dunning_retry", "card_updated", "customer"]),
    }),
    (d) => ({ type: "dunning_case", id: d.caseId }),
  ),
  "billing/dunning-warning": define(
    1,
    "The last retry of an unpaid invoice is next. → suspension warning email",
    z.object({
      workspaceId,
      caseId: id,
      invoiceId: id,
      amountMinor: minor,
      currency,
      /** When the last retry runs; the workspace is suspended if it fails. */
      suspendsAt: instant,
    }),
    (d) => ({ type: "dunning_case", id: d.caseId }),
  ),
  "billing/dunning-exhausted": define(
    1,
    "Every retry of an unpaid invoice failed; the workspace is suspended. → admin alert",
    z.object({
      workspaceId,
      caseId: id,
      invoiceId: id,
      amountMinor: minor,
      currency,
      attempts: z.number().int().positive(),
    }),
    (d) => ({ type: "dunning_case", id: d.caseId }),
  ),
  "billing/dunning-closed": define(
    1,
    "A dunning case ended: the invoice was paid, or collection stopped. → analytics",
    z.object({
      workspaceId,
      caseId: id,
      invoiceId: id,
      outcome: z.enum(["recovered", "stopped"]),
      reason: z.string(),
    }),
    (d) => ({ type: "dunning_case", id: d.caseId }),
  ),
  "billing/subscription-updated": define(
    1,
    "The subscription's tier, seats or status changed. → quota adjustment",
    z.object({ workspaceId, subscriptionId: id, status: z.string(), tierId: id }),
    (d) => ({ type: "subscription", id: d.subscriptionId }),
  ),

  // Promotions
  "promotions/applied": define(
    1,
    "A promotion was redeemed. → discount on the next invoice, analytics, confirmation email",
    z.object({ workspaceId, promotionId: id, redemptionId: id, code: z.string() }),
    (d) => ({ type: "promotion_redemption", id: d.redemptionId }),
  ),
  "promotions/expired": define(
    1,
    "A promotion or redemption expired. → cleanup, notification",
    z.object({ workspaceId: workspaceId.nullable(), promotionId: id }),
    (d) => ({ type: "promotion", id: d.promotionId }),
  ),
  "promotions/trial-started": define(
    1,
    "A trial began. → trial credit allocation",
    z.object({ workspaceId, trialId: id, tierId: id, endsAt: instant, credits }),
    (d) => ({ type: "trial", id: d.trialId }),
  ),
  "promotions/trial-ending": define(
    1,
    "A trial ends soon. → reminder",
    z.object({ workspaceId, trialId: id, endsAt: instant }),
    (d) => ({ type: "trial", id: d.trialId }),
  ),
  "promotions/trial-ended": define(
    1,
    "A trial ended. → billing transition, upgrade notification",
    z.object({ workspaceId, trialId: id, outcome: z.enum(["converted", "downgraded"]) }),
    (d) => ({ type: "trial", id: d.trialId }),
  ),
  "promotions/usage-limit-reached": define(
    1,
    "A promotion hit its redemption limit. → promotion deactivated",
    z.object({ promotionId: id, redemptions: z.number().int() }),
    (d) => ({ type: "promotion", id: d.promotionId }),
  ),
  "promotions/loyalty-tier-reached": define(
    1,
    "A workspace reached a loyalty tier. → reward grant, notification",
    z.object({ workspaceId, loyaltyTier: z.string() }),
    (d) => ({ type: "workspace", id: d.workspaceId }),
  ),

  // Usage
  "usage/logged": define(
    2,
    "Usage records were written: one event per workspace per transaction, summed by feature " +
      "(the records themselves hold the detail). → real-time analytics",
    z.object({
      workspaceId,
      records: z.number().int().min(1),
      features: z
        .array(
          z.object({
            featureCode: z.string(),
            consumed: z.number().int().min(0),
            rejected: z.number().int().min(0),
            /** Credits of the consumed records. */
            credits,
          }),
        )
        .min(1),
    }),
    (d) => ({ type: "workspace", id: d.workspaceId }),
  ),
  "usage/quota-exceeded": define(
    1,
    "A feature quota was exceeded (once per period and quota). → overage billing, notification",
    z.object({
      workspaceId,
      featureCode: z.string(),
      periodStart: instant,
      quota: z.number().int(),
      used: z.number().int(),
    }),
    (d) => ({ type: "quota", id: `${d.featureCode}:${d.periodStart}` }),
  ),
  "usage/performance-alert": define(
    1,
    "A platform metric crossed its alert threshold. → admin notification",
    z.object({ metric: z.string(), value: z.number(), threshold: z.number() }),
    (d) => ({ type: "metric", id: d.metric }),
  ),

  // Notifications
  "notifications/created": define(
    1,
    "A notification was created with its deliveries. Its position in the stream is the webhook sequence",
    z.object({
      workspaceId: workspaceId.nullable(),
      notificationId: id,
      type: z.string(),
      objectType: z.string(),
      objectId: z.string(),
    }),
    (d) => ({ type: d.objectType, id: d.objectId }),
  ),
  "notifications/delivery-due": define(
    1,
    "A delivery is due for an attempt (its first, or a retry). → one attempt on its channel",
    z.object({
      workspaceId: workspaceId.nullable(),
      notificationId: id,
      deliveryId: id,
      channel: z.string(),
    }),
    (d) => ({ type: "notification_delivery", id: d.deliveryId }),
  ),
  "notifications/sent": define(
    1,
    "A delivery was handed to its channel (an SMTP server accepted the email). → analytics",
    z.object({
      workspaceId: workspaceId.nullable(),
      notificationId: id,
      deliveryId: id,
      type: z.string(),
      channel: z.string(),
    }),
    (d) => ({ type: "notification", id: d.notificationId }),
  ),
  "notifications/delivered": define(
    1,
    "A delivery reached its recipient (stored in the app or mailbox, or a 2xx from a webhook). → " +
      "analytics",
    z.object({
      workspaceId: workspaceId.nullable(),
      notificationId: id,
      deliveryId: id,
      type: z.string(),
      channel: z.string(),
    }),
    (d) => ({ type: "notification", id: d.notificationId }),
  ),
  "notifications/failed": define(
    1,
    "A delivery attempt failed. → retry with backoff, then dead letter",
    z.object({
      workspaceId: workspaceId.nullable(),
      notificationId: id,
      deliveryId: id,
      type: z.string(),
      channel: z.string(),
      error: z.string(),
      attempt: z.number().int().positive(),
    }),
    (d) => ({ type: "notification", id: d.notificationId }),
  ),

  // Auth (internal)
  "auth/sign-up-requested": define(
    1,
    "Someone signed up with email and password. → confirmation email with a one-time link",
    z.object({
      pendingSignUpId: id,
      /** A path on this site to return to after signing in (an invitation page). */
      callbackUrl: z.string().optional(),
    }),
    (d) => ({ type: "pending_sign_up", id: d.pendingSignUpId }),
  ),

  // Payments (internal): how a verified gateway webhook reaches the event backbone.
  "payments/webhook-received": define(
    1,
    "A verified Stripe or simulated-gateway webhook was stored. → processed by its handler",
    z.object({ stripeEventId: id, type: z.string() }),
    (d) => ({ type: "stripe_event", id: d.stripeEventId }),
  ),
  "payments/dispute-opened": define(
    1,
    "A customer disputed a payment; its unspent credits were clawed back. → admin alert",
    z.object({
      workspaceId,
      disputeId: id,
      paymentId: id,
      amountMinor: minor,
      currency,
      clawedBackCredits: credits,
      /** Credits already spent that the claw-back could not take back. */
      shortfallCredits: credits,
    }),
    (d) => ({ type: "dispute", id: d.disputeId }),
  ),
  "payments/dispute-closed": define(
    1,
    "A dispute was decided; a won one reinstated the clawed-back credits. → admin notice",
    z.object({
      workspaceId,
      disputeId: id,
      outcome: z.enum(["won", "lost"]),
      reinstatedCredits: credits,
    }),
    (d) => ({ type: "dispute", id: d.disputeId }),
  ),
  "payments/reconciliation-finished": define(
    1,
    "The daily comparison with the gateway ran. → admin alert when it found drift",
    z.object({
      runId: id,
      checked: z.number().int().nonnegative(),
      driftsFound: z.number().int().nonnegative(),
      windowStart: instant,
      windowEnd: instant,
    }),
    (d) => ({ type: "reconciliation_run", id: d.runId }),
  ),
} as const;

export type Catalogue = typeof catalogue;
export type EventName = keyof Catalogue;
export type EventData<N extends EventName> = z.infer<Catalogue[N]["schema"]>;

export const eventNames = Object.keys(catalogue) as EventName[];

export function isEventName(name: string): name is EventName {
  return Object.hasOwn(catalogue, name);
}

/** An event a command or reaction wants written to the outbox. */
export interface EventDraft<N extends EventName = EventName> {
  name: N;
  data: EventData<N>;
  /** Set when the writer must know the event's id beforehand; a random UUID otherwise. */
  id?: string;
}

/** A stored event, as reactions receive it. */
export interface EventEnvelope<N extends EventName = EventName> {
  id: string;
  name: N;
  version: number;
  workspaceId: string | null;
  streamSeq: number;
  object: ObjectRef;
  occurredAt: Date;
  causationId: string | null;
  data: EventData<N>;
}

export function event<N extends EventName>(
  name: N,
  data: EventData<N>,
  options: { id?: string } = {},
): EventDraft<N> {
  return { name, data, ...options };
}

/** The object an event is about, from its catalogue entry. */
export function objectOf(name: EventName, data: unknown): ObjectRef {
  return (catalogue[name].object as (data: unknown) => ObjectRef)(data);
}

/** The workspace an event belongs to, if its data names one. */
export function workspaceOf(draft: { data: unknown }): string | null {
  const data = draft.data as { workspaceId?: unknown };
  return typeof data.workspaceId === "string" ? data.workspaceId : null;
}
