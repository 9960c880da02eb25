import Stripe from "stripe";

import { NO_SAVED_CARD } from "./cards";
import type {
  CheckoutSession,
  CheckoutSessionInput,
  CreateCustomerInput,
  GatewayCheckoutSession,
  GatewayDispute,
  GatewayPayment,
  GatewayRefundRecord,
  GatewayWindow,
  SavedPaymentMethod,
  SetupSessionInput,
  GatewayRefund,
  OffSessionCharge,
  OffSessionChargeInput,
  PaymentGateway,
  PurchaseMetadata,
  RefundInput,
} from "./gateway";
import * as reads from "./stripe-reads";

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

function purchaseMetadata(input: { purchaseId: string; workspaceId: string }): PurchaseMetadata {
  return { purchase_id: input.purchaseId, workspace_id: input.workspaceId };
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

  /**
   * A Checkout Session in payment mode. The purchase id travels as
   * client_reference_id and, with the workspace id, as metadata on both the
   * session and its payment intent, so either webhook finds the purchase.
   * The card is saved for off-session use, which is what auto top-up charges.
   */
  async createCheckoutSession(
    input: CheckoutSessionInput,
    idempotencyKey: string,
  ): Promise<CheckoutSession> {
    const metadata = purchaseMetadata(input);
    const session = await this.stripe.checkout.sessions.create(
      {
        mode: "payment",
        // The customer pays the pack's own price and currency, which the webhooks check.
        adaptive_pricing: { enabled: false },
        customer: input.customerId,
        client_reference_id: input.purchaseId,
        line_items: [
          {
            quantity: 1,
            price_data: {
              currency: input.currency.toLowerCase(),
              unit_amount: input.amountMinor,
              product_data: { name: input.description },
            },
          },
        ],
        metadata: { ...metadata },
        payment_intent_data: {
          description: input.description,
          metadata: { ...metadata },
          setup_future_usage: "off_session",
        },
        success_url: input.successUrl,
        cancel_url: input.cancelUrl,
      },
      { idempotencyKey },
    );
    if (!session.url)
      throw new Error(`Stripe returned checkout session ${session.id} without a URL`);

    return { sessionId: session.id, url: session.url };
  }

  async chargeOffSession(
    input: OffSessionChargeInput,
    idempotencyKey: string,
  ): Promise<OffSessionCharge> {
    const paymentMethod = (await this.defaultPaymentMethod(input.customerId))?.ref;
    if (!paymentMethod) {
      return {
        paymentIntentId: null,
        status: "failed",
        failureReason: NO_SAVED_CARD,
        failureCode: "no_payment_method",
      };
    }
    try {
      const intent = await this.stripe.paymentIntents.create(
        {
          amount: input.amountMinor,
          currency: input.currency.toLowerCase(),
          customer: input.customerId,
          payment_method: paymentMethod,
          off_session: true,
          confirm: true,
          description: input.description,
          metadata: { ...input.metadata },
        },
        { idempotencyKey },
      );
      if (intent.status === "succeeded")
        return { paymentIntentId: intent.id, chargeId: chargeIdOf(intent), status: "succeeded" };
      if (intent.status === "processing")
        return { paymentIntentId: intent.id, chargeId: chargeIdOf(intent), status: "processing" };

      return {
        paymentIntentId: intent.id,
        status: "failed",
        failureReason:
          intent.status === "requires_action"
            ? "The bank wants the cardholder to authenticate this payment"
            : `The payment stopped at ${intent.status}`,
        failureCode: intent.status === "requires_action" ? "authentication_required" : null,
      };
    } catch (error) {
      // A decline is an answer, not an outage: Stripe reports it as a card error.
      if (error instanceof Stripe.errors.StripeCardError) {
        return {
          paymentIntentId: error.payment_intent?.id ?? null,
          status: "failed",
          // The bank's words as Stripe reports them; the SDK's message also carries a request id.
          failureReason:
            error.payment_intent?.last_payment_error?.message ??
            (error.raw as { message?: string } | undefined)?.message ??
            error.message,
          failureCode: error.decline_code ?? error.code ?? "card_declined",
        };
      }
      throw error;
    }
  }

  async refund(input: RefundInput, idempotencyKey: string): Promise<GatewayRefund> {
    const refund = await this.stripe.refunds.create(
      {
        payment_intent: input.paymentIntentId,
        amount: input.amountMinor,
        metadata: { ...input.metadata },
      },
      { idempotencyKey },
    );
    const status =
      refund.status === "succeeded" || refund.status === "failed" ? refund.status : "pending";

    return { refundId: refund.id, status };
  }

  /**
   * A Checkout Session in setup mode: the customer saves a card for
   * off-session charges and pays nothing. Cards only, which is also why the
   * pinned API needs no currency (it asks for one only when the payment
   * methods are left to Stripe). The workspace and the purpose travel as
   * metadata on the session and its setup intent, so either webhook leads
   * back to the workspace.
   */
  async createSetupSession(
    input: SetupSessionInput,
    idempotencyKey: string,
  ): Promise<CheckoutSession> {
    const metadata = { workspace_id: input.workspaceId, purpose: "payment_method" };
    const session = await this.stripe.checkout.sessions.create(
      {
        mode: "setup",
        customer: input.customerId,
        allowed_payment_method_types: ["card"],
        ...(input.currency ? { currency: input.currency.toLowerCase() } : {}),
        metadata: { ...metadata },
        setup_intent_data: { metadata: { ...metadata } },
        success_url: input.successUrl,
        cancel_url: input.cancelUrl,
      },
      { idempotencyKey },
    );
    if (!session.url)
      throw new Error(`Stripe returned checkout session ${session.id} without a URL`);

    return { sessionId: session.id, url: session.url };
  }

  /** Sets the customer's invoice_settings.default_payment_method, which off-session charges use. */
  async setDefaultPaymentMethod(customerId: string, paymentMethodRef: string): Promise<void> {
    await this.stripe.customers.update(customerId, {
      invoice_settings: { default_payment_method: paymentMethodRef },
    });
  }

  /** The customer's default card, or else the newest card saved on them; null when none is. */
  async defaultPaymentMethod(customerId: string): Promise<SavedPaymentMethod | null> {
    const customer = await this.stripe.customers.retrieve(customerId, {
      expand: ["invoice_settings.default_payment_method"],
    });
    if (customer.deleted) return null;
    const chosen = customer.invoice_settings?.default_payment_method;
    // Expanded above, so a set default arrives as the payment method itself.
    if (chosen && typeof chosen !== "string") return reads.savedPaymentMethod(chosen);
    const cards = await this.stripe.customers.listPaymentMethods(customerId, {
      type: "card",
      limit: 1,
    });

    return cards.data[0] ? reads.savedPaymentMethod(cards.data[0]) : null;
  }

  retrieveCheckoutSession(sessionId: string): Promise<GatewayCheckoutSession | null> {
    return reads.retrieveCheckoutSession(this.stripe, sessionId);
  }

  retrievePayment(paymentIntentId: string): Promise<GatewayPayment | null> {
    return reads.retrievePayment(this.stripe, paymentIntentId);
  }

  retrieveCharge(chargeId: string): Promise<GatewayPayment | null> {
    return reads.retrieveCharge(this.stripe, chargeId);
  }

  listPayments(window: GatewayWindow): Promise<GatewayPayment[]> {
    return reads.listPayments(this.stripe, window);
  }

  listRefunds(window: GatewayWindow): Promise<GatewayRefundRecord[]> {
    return reads.listRefunds(this.stripe, window);
  }

  listDisputes(window: GatewayWindow): Promise<GatewayDispute[]> {
    return reads.listDisputes(this.stripe, window);
  }
}

function chargeIdOf(intent: Stripe.PaymentIntent): string | null {
  const charge = intent.latest_charge;
  if (!charge) return null;

  return typeof charge === "string" ? charge : charge.id;
}
