/**
 * The payment gateway as Tally sees it. Tally is the billing engine; the
 * gateway only holds customers and moves money. Every call that can be
 * repeated takes an idempotency key derived from what it is for
 * (`checkout:<purchaseId>`, `top-up:<purchaseId>`, `refund:<refundId>`), so a
 * retried reaction never creates a second customer, session, charge or
 * refund.
 */
export interface CreateCustomerInput {
  workspaceId: string;
  email: string | null;
  name: string;
}

/** Metadata every purchase's gateway objects carry, so webhooks lead back to the purchase. */
export interface PurchaseMetadata {
  purchase_id: string;
  workspace_id: string;
}

export interface CheckoutSessionInput {
  purchaseId: string;
  workspaceId: string;
  customerId: string;
  /** What the customer sees on the checkout page, e.g. "Starter pack: 10,000 credits". */
  description: string;
  amountMinor: number;
  currency: string;
  /** Where the browser goes after paying, and after giving up. */
  successUrl: string;
  cancelUrl: string;
}

export interface CheckoutSession {
  sessionId: string;
  /** The hosted page the customer pays on. */
  url: string;
}

/** Metadata on an invoice's charge, so its webhooks lead back to the payment row. */
export interface InvoicePaymentMetadata {
  invoice_id: string;
  payment_id: string;
  workspace_id: string;
}

export interface OffSessionChargeInput {
  customerId: string;
  amountMinor: number;
  currency: string;
  description: string;
  metadata: PurchaseMetadata | InvoicePaymentMetadata;
}

/**
 * `succeeded`: the money is taken. `processing`: the gateway will say later,
 * by webhook. `failed`: declined, or no saved card to charge; `failureCode`
 * is the gateway's decline code (`card_declined`, `insufficient_funds`,
 * `no_payment_method`, …).
 */
export type OffSessionCharge =
  | { paymentIntentId: string; chargeId: string | null; status: "succeeded" | "processing" }
  | {
      paymentIntentId: string | null;
      status: "failed";
      failureReason: string;
      failureCode: string | null;
    };

/** A hosted page on which the customer saves a card for later charges (Stripe's setup mode). */
export interface SetupSessionInput {
  workspaceId: string;
  customerId: string;
  successUrl: string;
  cancelUrl: string;
  /**
   * The currency later charges will be in (ISO, any case). Optional: the
   * session only accepts cards, so Stripe does not need it.
   */
  currency?: string;
}

/** A saved card as Tally keeps it on the subscription. */
export interface SavedPaymentMethod {
  /** The gateway's id, pm_… */
  ref: string;
  /** How it is shown: "Visa ending 4242". */
  label: string;
}

/** A checkout session read back from the gateway. */
export interface GatewayCheckoutSession {
  id: string;
  mode: "payment" | "setup";
  status: "open" | "complete" | "expired";
  paymentStatus: "paid" | "unpaid" | "no_payment_required";
  customerId: string | null;
  paymentIntentId: string | null;
  /** The card a completed setup session saved. */
  setupPaymentMethod: SavedPaymentMethod | null;
  metadata: Record<string, string>;
}

/** Bounds on the gateway's own creation times, [since, until). */
export interface GatewayWindow {
  since: Date;
  until: Date;
}

/** A payment (payment intent and its charge) as the gateway reports it. */
export interface GatewayPayment {
  paymentIntentId: string;
  chargeId: string | null;
  customerId: string | null;
  status: "succeeded" | "processing" | "failed" | "pending" | "canceled";
  amountMinor: number;
  amountReceivedMinor: number;
  amountRefundedMinor: number;
  /** Upper case, as Tally stores currencies. */
  currency: string;
  metadata: Record<string, string>;
  createdAt: Date;
}

export interface GatewayRefundRecord {
  refundId: string;
  paymentIntentId: string | null;
  chargeId: string | null;
  amountMinor: number;
  currency: string;
  status: "succeeded" | "pending" | "failed" | "canceled";
  metadata: Record<string, string>;
  createdAt: Date;
}

export interface GatewayDispute {
  disputeId: string;
  chargeId: string;
  paymentIntentId: string | null;
  amountMinor: number;
  currency: string;
  /** Stripe's status: warning_needs_response, needs_response, under_review, won, lost, … */
  status: string;
  reason: string | null;
  createdAt: Date;
}

export interface RefundInput {
  paymentIntentId: string;
  amountMinor: number;
  metadata: Record<string, string>;
}

/** `succeeded` and `pending` mean the gateway accepted the refund; `failed` that it did not. */
export interface GatewayRefund {
  refundId: string;
  status: "succeeded" | "pending" | "failed";
}

export interface PaymentGateway {
  readonly kind: "simulated" | "stripe";
  createCustomer(
    input: CreateCustomerInput,
    idempotencyKey: string,
  ): Promise<{ customerId: string }>;
  /** A hosted checkout page for one purchase, in payment mode, that saves the card for top-ups. */
  createCheckoutSession(
    input: CheckoutSessionInput,
    idempotencyKey: string,
  ): Promise<CheckoutSession>;
  /** A hosted page in setup mode: the customer saves (or replaces) the card invoices are charged to. */
  createSetupSession(input: SetupSessionInput, idempotencyKey: string): Promise<CheckoutSession>;
  /**
   * Charges the customer's default card without them present (auto top-up, an
   * invoice). A decline is an answer (`failed`); an outage throws.
   */
  chargeOffSession(input: OffSessionChargeInput, idempotencyKey: string): Promise<OffSessionCharge>;
  /** Gives back part or all of a payment. Throws when the gateway cannot be reached or refuses. */
  refund(input: RefundInput, idempotencyKey: string): Promise<GatewayRefund>;
  /** Makes a saved card the one off-session charges use. */
  setDefaultPaymentMethod(customerId: string, paymentMethodRef: string): Promise<void>;
  /** The card off-session charges would use now, if any. */
  defaultPaymentMethod(customerId: string): Promise<SavedPaymentMethod | null>;

  // Reads, for webhooks that arrive before what they refer to, and for reconciliation.
  retrieveCheckoutSession(sessionId: string): Promise<GatewayCheckoutSession | null>;
  retrievePayment(paymentIntentId: string): Promise<GatewayPayment | null>;
  /** The payment a charge (ch_…) belongs to; disputes and refunds name charges. */
  retrieveCharge(chargeId: string): Promise<GatewayPayment | null>;
  listPayments(window: GatewayWindow): Promise<GatewayPayment[]>;
  listRefunds(window: GatewayWindow): Promise<GatewayRefundRecord[]>;
  listDisputes(window: GatewayWindow): Promise<GatewayDispute[]>;
}
