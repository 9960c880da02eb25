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

export interface OffSessionChargeInput {
  customerId: string;
  amountMinor: number;
  currency: string;
  description: string;
  metadata: PurchaseMetadata;
}

/**
 * `succeeded`: the money is taken. `processing`: the gateway will say later,
 * by webhook. `failed`: declined, or no saved card to charge.
 */
export type OffSessionCharge =
  | { paymentIntentId: string; status: "succeeded" | "processing" }
  | { paymentIntentId: string | null; status: "failed"; failureReason: string };

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
  /** Charges the customer's saved card without them present (auto top-up). */
  chargeOffSession(input: OffSessionChargeInput, idempotencyKey: string): Promise<OffSessionCharge>;
  /** Gives back part or all of a payment. Throws when the gateway cannot be reached or refuses. */
  refund(input: RefundInput, idempotencyKey: string): Promise<GatewayRefund>;
}
