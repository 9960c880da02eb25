import Stripe from "stripe";

import type { CreateCustomerInput, PaymentGateway } from "./gateway";

/** The Stripe API version Tally is written against; the SDK sends it on every request. */
export const STRIPE_API_VERSION = "2026-11-18.endive" as const;

export interface StripeClientOptions {
  secretKey: string;
  /** Another API host, e.g. a local stand-in in tests: http://127.0.0.1:12111 */
  apiBase?: string;
}

export function createStripeClient(options: StripeClientOptions): Stripe {
  const base = options.apiBase ? new URL(options.apiBase) : undefined;

  return new Stripe(options.secretKey, {
    apiVersion: STRIPE_API_VERSION,
    maxNetworkRetries: 2,
    timeout: 20_000,
    appInfo: { name: "Tally" },
    ...(base
      ? {
          host: base.hostname,
          port: Number(base.port || (base.protocol === "https:" ? 443 : 80)),
          protocol: base.protocol.replace(":", "") as "http" | "https",
        }
      : {}),
  });
}

export class StripeGateway implements PaymentGateway {
  readonly kind = "stripe" as const;

  constructor(private readonly stripe: Stripe) {}

  async createCustomer(
    input: CreateCustomerInput,
    idempotencyKey: string,
  ): Promise<{ customerId: string }> {
    const customer = await this.stripe.customers.create(
      {
        name: input.name,
        ...(input.email ? { email: input.email } : {}),
        metadata: { workspace_id: input.workspaceId },
      },
      { idempotencyKey },
    );

    return { customerId: customer.id };
  }
}
