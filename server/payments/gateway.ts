/**
 * The payment gateway as Tally sees it. Tally is the billing engine; the
 * gateway only holds customers and moves money. Every call that can be
 * repeated takes an idempotency key derived from what it is for, so a
 * retried reaction never creates a second customer or a second charge.
 */
export interface CreateCustomerInput {
  workspaceId: string;
  email: string | null;
  name: string;
}

export interface PaymentGateway {
  readonly kind: "simulated" | "stripe";
  createCustomer(
    input: CreateCustomerInput,
    idempotencyKey: string,
  ): Promise<{ customerId: string }>;
}
