import { createHash, randomBytes } from "node:crypto";

import { and, asc, desc, eq, lte, sql } from "drizzle-orm";

import { simulatedCustomers, simulatedObjects } from "@/drizzle/schema";
import { systemClock, type Clock } from "@/server/clock";
import type { Db, Tx } from "@/server/db/client";

import { cardLabel, NO_SAVED_CARD } from "./cards";
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
  RefundInput,
} from "./gateway";
import * as reads from "./simulated-reads";
import { STRIPE_API_VERSION } from "./stripe";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function base62(bytes: Uint8Array, length: number): string {
  let id = "";
  for (const byte of bytes) {
    if (id.length === length) break;
    id += ALPHABET[byte % ALPHABET.length];
  }

  return id;
}

/** Stripe-shaped ids: a type prefix, then 24 base-62 characters. */
export function simulatedId(prefix: string): string {
  return `${prefix}_sim${base62(randomBytes(24), 24)}`;
}

/** A card error as Stripe reports it, on a payment intent's last_payment_error. */
export interface CardError {
  type: "card_error";
  code: "card_declined";
  decline_code: string;
  message: string;
}

const GENERIC_DECLINE: CardError = {
  type: "card_error",
  code: "card_declined",
  decline_code: "generic_decline",
  message: "Your card was declined.",
};

const INSUFFICIENT_FUNDS: CardError = {
  type: "card_error",
  code: "card_declined",
  decline_code: "insufficient_funds",
  message: "Your card has insufficient funds.",
};

/**
 * The test cards the simulated checkout page offers, numbered and behaving
 * as Stripe's test cards do. `onPage` is what happens at checkout (payment
 * or setup), `offSession` what happens to a later charge of the saved card
 * (an auto top-up, an invoice); null means it succeeds.
 */
export const SIMULATED_CARDS = {
  "4242424242424242": { label: "Succeeds", onPage: null, offSession: null },
  "4000000000000002": {
    label: "Declined",
    onPage: GENERIC_DECLINE,
    offSession: GENERIC_DECLINE,
  },
  "4000000000009995": {
    label: "Declined: insufficient funds",
    onPage: INSUFFICIENT_FUNDS,
    offSession: INSUFFICIENT_FUNDS,
  },
  "4000000000000341": {
    label: "Saves, then declines later charges",
    onPage: null,
    offSession: GENERIC_DECLINE,
  },
} as const satisfies Record<
  string,
  { label: string; onPage: CardError | null; offSession: CardError | null }
>;

export type SimulatedCard = keyof typeof SIMULATED_CARDS;

export function isSimulatedCard(value: string): value is SimulatedCard {
  return Object.hasOwn(SIMULATED_CARDS, value);
}

/** A Stripe-shaped webhook event, as the simulated gateway delivers it. */
export type SimulatedEvent = Record<string, unknown> & { id: string; type: string };

/** Where the simulated gateway sends its webhook events: the app's own webhook route. */
export type WebhookSink = (event: SimulatedEvent) => Promise<void>;

export interface SimulatedGatewayOptions {
  /** The app's address, for checkout page URLs; a path alone when unset. */
  appUrl?: string;
  clock?: Clock;
}

type ObjectType = (typeof simulatedObjects.$inferSelect)["type"];
type Data = Record<string, unknown>;

export interface SimulatedSession {
  id: string;
  /** `payment` buys something; `setup` only saves a card for later charges. */
  mode: "payment" | "setup";
  status: "open" | "complete" | "expired";
  paymentStatus: "paid" | "unpaid" | "no_payment_required";
  /** What a payment session charges; null in setup mode. */
  amountMinor: number | null;
  currency: string | null;
  description: string;
  customerId: string;
  metadata: Record<string, string>;
  successUrl: string;
  cancelUrl: string;
  /** The last decline on this session, if its latest attempt was declined. */
  declineMessage: string | null;
  expiresAt: Date;
}

export type PayResult =
  | { outcome: "paid" | "saved"; session: SimulatedSession }
  | { outcome: "declined"; session: SimulatedSession; message: string }
  | { outcome: "expired"; session: SimulatedSession };

/** What a checkout attempt changed, and the events that report it. */
interface Attempt {
  outcome: PayResult["outcome"];
  session: Data;
  /** The payment intent (payment mode) or setup intent (setup mode) behind the session. */
  intent: Data | null;
  events: SimulatedEvent[];
}

/**
 * The gateway of the embedded default. It keeps customers in their own table
 * and sessions, payment and setup intents, charges, refunds, disputes and
 * saved cards in simulated_objects, Stripe-shaped; honours idempotency keys
 * as Stripe does (same key, same object); and reports what happens by
 * Stripe-shaped webhook events handed to the webhook sink, which signs them
 * and posts them through the same route Stripe's events take. It never
 * leaves the machine. Every `created` comes from its clock, so time travel
 * moves them with the rest of the platform.
 *
 * Event ids are derived from what they report (type, object, attempt), so
 * repeating an action that already happened delivers the same events again
 * and the webhook route acknowledges them as duplicates.
 */
export class SimulatedGateway implements PaymentGateway {
  readonly kind = "simulated" as const;
  private readonly appUrl: string;
  private readonly clock: Clock;
  private sink: WebhookSink | undefined;

  constructor(
    private readonly db: Db,
    options: SimulatedGatewayOptions = {},
  ) {
    this.appUrl = (options.appUrl ?? "").replace(/\/$/, "");
    this.clock = options.clock ?? systemClock;
  }

  /** Connects the webhook sink; until then events are built but go nowhere. */
  deliverTo(sink: WebhookSink): void {
    this.sink = sink;
  }

  get delivering(): boolean {
    return this.sink !== undefined;
  }

  async createCustomer(
    input: CreateCustomerInput,
    idempotencyKey: string,
  ): Promise<{ customerId: string }> {
    const inserted = await this.db
      .insert(simulatedCustomers)
      .values({
        id: simulatedId("cus"),
        idempotencyKey,
        email: input.email,
        name: input.name,
        metadata: { workspace_id: input.workspaceId },
      })
      .onConflictDoNothing({ target: simulatedCustomers.idempotencyKey })
      .returning({ id: simulatedCustomers.id });
    if (inserted[0]) return { customerId: inserted[0].id };

    const [existing] = await this.db
      .select({ id: simulatedCustomers.id })
      .from(simulatedCustomers)
      .where(eq(simulatedCustomers.idempotencyKey, idempotencyKey));
    if (!existing) throw new Error("Simulated customer vanished after an idempotency conflict");

    return { customerId: existing.id };
  }

  async createCheckoutSession(
    input: CheckoutSessionInput,
    idempotencyKey: string,
  ): Promise<CheckoutSession> {
    const id = simulatedId("cs");
    const currency = input.currency.toLowerCase();
    const session: Data = {
      ...this.sessionBase(id, input),
      mode: "payment",
      payment_status: "unpaid",
      amount_subtotal: input.amountMinor,
      amount_total: input.amountMinor,
      currency,
      client_reference_id: input.purchaseId,
      metadata: { purchase_id: input.purchaseId, workspace_id: input.workspaceId },
      payment_intent: null,
      setup_intent: null,
      line_items: {
        object: "list",
        data: [
          {
            description: input.description,
            quantity: 1,
            amount_total: input.amountMinor,
            currency,
          },
        ],
      },
    };
    const stored = await this.db.transaction((tx) =>
      this.insertOnce(tx, "checkout.session", id, idempotencyKey, session),
    );

    return { sessionId: stored.id as string, url: stored.url as string };
  }

  /**
   * A session in setup mode with its setup intent, as Stripe creates both:
   * completing it saves the card as the customer's default.
   */
  async createSetupSession(
    input: SetupSessionInput,
    idempotencyKey: string,
  ): Promise<CheckoutSession> {
    const id = simulatedId("cs");
    const setupIntentId = simulatedId("seti");
    const metadata = { workspace_id: input.workspaceId, purpose: "payment_method" };
    const session: Data = {
      ...this.sessionBase(id, input),
      mode: "setup",
      payment_status: "no_payment_required",
      amount_subtotal: null,
      amount_total: null,
      currency: input.currency?.toLowerCase() ?? null,
      client_reference_id: null,
      metadata,
      payment_intent: null,
      setup_intent: setupIntentId,
    };
    const stored = await this.db.transaction(async (tx) => {
      const row = await this.insertOnce(tx, "checkout.session", id, idempotencyKey, session);
      if (row.id === id) {
        await tx.insert(simulatedObjects).values({
          id: setupIntentId,
          type: "setup_intent",
          data: {
            id: setupIntentId,
            object: "setup_intent",
            customer: input.customerId,
            metadata,
            payment_method: null,
            payment_method_types: ["card"],
            status: "requires_payment_method",
            usage: "off_session",
            last_setup_error: null,
            created: this.unixNow(),
            livemode: false,
          },
        });
      }

      return row;
    });

    return { sessionId: stored.id as string, url: stored.url as string };
  }

  /**
   * Charges the customer's default card (else the newest saved one). A
   * decline is a failed payment intent; no saved card fails with
   * `no_payment_method` and creates nothing, as the Stripe adapter does.
   */
  async chargeOffSession(
    input: OffSessionChargeInput,
    idempotencyKey: string,
  ): Promise<OffSessionCharge> {
    const outcome = await this.db.transaction(async (tx) => {
      const existing = await this.findByKey(tx, idempotencyKey);
      if (existing) {
        assertSameKind(existing, "payment_intent", idempotencyKey);
        return { intent: existing, events: [this.intentEvent(existing)] };
      }
      const method = await this.defaultCard(tx, input.customerId);
      if (!method) return null;

      const decline = SIMULATED_CARDS[method.testCard].offSession;
      const id = simulatedId("pi");
      const intent: Data = {
        id,
        object: "payment_intent",
        amount: input.amountMinor,
        amount_received: decline ? 0 : input.amountMinor,
        amount_refunded: 0,
        currency: input.currency.toLowerCase(),
        customer: input.customerId,
        description: input.description,
        metadata: { ...input.metadata },
        off_session: true,
        payment_method: method.id,
        status: decline ? "requires_payment_method" : "succeeded",
        last_payment_error: decline,
        latest_charge: null,
        created: this.unixNow(),
        livemode: false,
      };
      const inserted = await tx
        .insert(simulatedObjects)
        .values({ id, type: "payment_intent", idempotencyKey, data: intent })
        .onConflictDoNothing({ target: simulatedObjects.idempotencyKey })
        .returning({ id: simulatedObjects.id });
      if (!inserted[0]) {
        // A concurrent call with the same key won; answer with its payment.
        const winner = (await this.findByKey(tx, idempotencyKey))!;
        return { intent: winner, events: [this.intentEvent(winner)] };
      }
      const charged = decline ? intent : await this.charge(tx, intent);

      return this.queued(tx, { intent: charged, events: [this.intentEvent(charged)] });
    });
    if (!outcome) {
      return {
        paymentIntentId: null,
        status: "failed",
        failureReason: NO_SAVED_CARD,
        failureCode: "no_payment_method",
      };
    }
    await this.deliver(outcome.events);
    const { intent } = outcome;
    if (intent.status === "succeeded") {
      return {
        paymentIntentId: intent.id as string,
        chargeId: (intent.latest_charge as string | null) ?? null,
        status: "succeeded",
      };
    }
    const error = intent.last_payment_error as CardError | null;

    return {
      paymentIntentId: intent.id as string,
      status: "failed",
      failureReason: error?.message ?? `The payment stopped at ${String(intent.status)}`,
      failureCode: error?.decline_code ?? error?.code ?? null,
    };
  }

  /**
   * Refunds part or all of a succeeded payment: the refund, the payment
   * intent's and its charge's refunded amounts change together, and
   * `charge.refunded` (the charge with its refunds) follows after the commit.
   */
  async refund(input: RefundInput, idempotencyKey: string): Promise<GatewayRefund> {
    const outcome = await this.db.transaction(async (tx) => {
      const existing = await this.findByKey(tx, idempotencyKey);
      if (existing) {
        assertSameKind(existing, "refund", idempotencyKey);
        return { refund: existing, events: [] };
      }

      const intent = await this.lockObject(tx, input.paymentIntentId, "payment_intent");
      if (!intent || intent.status !== "succeeded") {
        throw new Error(`No succeeded payment ${input.paymentIntentId} to refund`);
      }
      const chargeOfIntent = (intent.latest_charge as string | null) ?? null;
      if (chargeOfIntent) {
        // Locked before the check, as openDispute locks it, so the two take turns.
        await this.lockObject(tx, chargeOfIntent, "charge");
        const [open] = await tx
          .select({ id: simulatedObjects.id })
          .from(simulatedObjects)
          .where(
            and(
              eq(simulatedObjects.type, "dispute"),
              sql`${simulatedObjects.data}->>'charge' = ${chargeOfIntent}`,
              sql`${simulatedObjects.data}->>'status' NOT IN ('won', 'lost', 'warning_closed')`,
            ),
          );
        if (open) {
          // As Stripe answers charge_disputed: the dispute decides where the money goes.
          throw new Error(
            `Charge ${chargeOfIntent} is disputed (${open.id}); it cannot be refunded`,
          );
        }
      }
      const refunded = Number(intent.amount_refunded ?? 0);
      const paid = Number(intent.amount);
      if (refunded + input.amountMinor > paid) {
        throw new Error(
          `Refund of ${input.amountMinor} exceeds the ${paid - refunded} left on ${intent.id}`,
        );
      }
      await this.saveObject(tx, intent.id as string, {
        ...intent,
        amount_refunded: refunded + input.amountMinor,
      });
      const chargeId = (intent.latest_charge as string | null) ?? null;
      const id = simulatedId("re");
      const data: Data = {
        id,
        object: "refund",
        amount: input.amountMinor,
        charge: chargeId,
        currency: intent.currency,
        payment_intent: intent.id,
        metadata: { ...input.metadata },
        reason: null,
        status: "succeeded",
        created: this.unixNow(),
      };
      await tx.insert(simulatedObjects).values({ id, type: "refund", idempotencyKey, data });

      const charge = chargeId ? await this.lockObject(tx, chargeId, "charge") : null;
      if (!charge) return { refund: data, events: [] };
      const list = charge.refunds as { data: Data[] } | undefined;
      const amountRefunded = Number(charge.amount_refunded ?? 0) + input.amountMinor;
      const updated: Data = {
        ...charge,
        amount_refunded: amountRefunded,
        refunded: amountRefunded >= Number(charge.amount),
        refunds: {
          object: "list",
          data: [data, ...(list?.data ?? [])],
          has_more: false,
          total_count: (list?.data.length ?? 0) + 1,
        },
      };
      await this.saveObject(tx, chargeId!, updated);

      return this.queued(tx, {
        refund: data,
        events: [this.event("charge.refunded", updated, id)],
      });
    });
    await this.deliver(outcome.events);

    return { refundId: outcome.refund.id as string, status: "succeeded" };
  }

  /** Makes one of the customer's saved cards the one off-session charges use. */
  async setDefaultPaymentMethod(customerId: string, paymentMethodRef: string): Promise<void> {
    const updated = await this.db.execute(sql`
      UPDATE ${simulatedObjects}
      SET data = jsonb_set(data, '{tally_default}', to_jsonb(${simulatedObjects.id} = ${paymentMethodRef}))
      WHERE ${simulatedObjects.type} = 'payment_method' AND data->>'customer' = ${customerId}
      RETURNING ${simulatedObjects.id}`);
    if (!updated.some((row) => row.id === paymentMethodRef)) {
      throw new Error(`No payment method ${paymentMethodRef} saved on customer ${customerId}`);
    }
  }

  async defaultPaymentMethod(customerId: string): Promise<SavedPaymentMethod | null> {
    const method = await this.defaultCard(this.db, customerId);

    return method ? { ref: method.id, label: method.label } : null;
  }

  retrieveCheckoutSession(sessionId: string): Promise<GatewayCheckoutSession | null> {
    return reads.retrieveCheckoutSession(this.db, this.clock, sessionId);
  }

  retrievePayment(paymentIntentId: string): Promise<GatewayPayment | null> {
    return reads.retrievePayment(this.db, this.clock, paymentIntentId);
  }

  retrieveCharge(chargeId: string): Promise<GatewayPayment | null> {
    return reads.retrieveCharge(this.db, this.clock, chargeId);
  }

  listPayments(window: GatewayWindow): Promise<GatewayPayment[]> {
    return reads.listPayments(this.db, this.clock, window);
  }

  listRefunds(window: GatewayWindow): Promise<GatewayRefundRecord[]> {
    return reads.listRefunds(this.db, this.clock, window);
  }

  listDisputes(window: GatewayWindow): Promise<GatewayDispute[]> {
    return reads.listDisputes(this.db, this.clock, window);
  }

  /** A checkout session as the simulated checkout page shows it; null for an unknown id. */
  async checkoutSession(sessionId: string): Promise<SimulatedSession | null> {
    const [row] = await this.db
      .select({ data: simulatedObjects.data })
      .from(simulatedObjects)
      .where(
        and(eq(simulatedObjects.id, sessionId), eq(simulatedObjects.type, "checkout.session")),
      );
    if (!row) return null;

    return this.sessionView(row.data, await this.intentOf(this.db, row.data));
  }

  /**
   * Submits a checkout session with a test card, as the checkout page's
   * button does. In payment mode success completes the session, saves the
   * card and delivers checkout.session.completed and
   * payment_intent.succeeded; in setup mode it saves the card as the
   * customer's default and delivers checkout.session.completed and
   * setup_intent.succeeded. A decline delivers payment_intent.payment_failed
   * (setup_intent.setup_failed) and leaves the session open for another
   * card. Submitting a completed session again changes nothing and delivers
   * the same events again.
   */
  async payCheckoutSession(sessionId: string, card: SimulatedCard): Promise<PayResult | null> {
    const attempt = await this.db.transaction(async (tx) => {
      const session = await this.lockObject(tx, sessionId, "checkout.session");
      if (!session) return null;
      const attempt =
        session.mode === "setup"
          ? await this.setUp(tx, session, card)
          : await this.pay(tx, session, card);

      return this.queued(tx, attempt);
    });
    if (!attempt) return null;

    // Delivered after the commit, as Stripe sends events about what has happened; queued in the
    // same transaction as the payment, so a crash before delivery only delays it (redeliver).
    await this.deliver(attempt.events);
    const session = this.sessionView(attempt.session, attempt.intent);
    if (attempt.outcome !== "declined") return { outcome: attempt.outcome, session };
    const error = (attempt.intent?.last_payment_error ?? attempt.intent?.last_setup_error) as
      CardError | undefined;

    return { outcome: "declined", session, message: error?.message ?? GENERIC_DECLINE.message };
  }

  private async pay(tx: Tx, session: Data, card: SimulatedCard): Promise<Attempt> {
    const intent = await this.intentOf(tx, session);
    if (session.status === "expired") return { outcome: "expired", session, intent, events: [] };
    if (session.status === "complete") {
      return {
        outcome: "paid",
        session,
        intent,
        events: [
          this.event("checkout.session.completed", session),
          ...(intent ? [this.event("payment_intent.succeeded", intent)] : []),
        ],
      };
    }

    const sessionId = session.id as string;
    const customerId = session.customer as string;
    const attempts = Number(intent?.attempts ?? 0) + 1;
    const intentId = (intent?.id as string | undefined) ?? simulatedId("pi");
    const decline = SIMULATED_CARDS[card].onPage;
    const method = decline ? null : await this.saveCard(customerId, card, { tx, default: false });
    const nextIntent: Data = {
      id: intentId,
      object: "payment_intent",
      amount: session.amount_total,
      amount_received: decline ? 0 : session.amount_total,
      amount_refunded: 0,
      currency: session.currency,
      customer: customerId,
      metadata: session.metadata,
      payment_method: method?.ref ?? null,
      setup_future_usage: "off_session",
      status: decline ? "requires_payment_method" : "succeeded",
      last_payment_error: decline,
      latest_charge: null,
      attempts,
      created: (intent?.created as number | undefined) ?? this.unixNow(),
      livemode: false,
    };
    if (intent) await this.saveObject(tx, intentId, nextIntent);
    else
      await tx
        .insert(simulatedObjects)
        .values({ id: intentId, type: "payment_intent", data: nextIntent });

    if (decline) {
      const open = { ...session, payment_intent: intentId };
      await this.saveObject(tx, sessionId, open);

      return {
        outcome: "declined",
        session: open,
        intent: nextIntent,
        events: [this.event("payment_intent.payment_failed", nextIntent, attempts)],
      };
    }

    const charged = await this.charge(tx, nextIntent);
    const complete = {
      ...session,
      status: "complete",
      payment_status: "paid",
      payment_intent: intentId,
    };
    await this.saveObject(tx, sessionId, complete);

    return {
      outcome: "paid",
      session: complete,
      intent: charged,
      events: [
        this.event("checkout.session.completed", complete),
        this.event("payment_intent.succeeded", charged),
      ],
    };
  }

  private async setUp(tx: Tx, session: Data, card: SimulatedCard): Promise<Attempt> {
    const intentId = session.setup_intent as string;
    const intent = await this.lockObject(tx, intentId, "setup_intent");
    if (!intent) throw new Error(`Setup session ${String(session.id)} lost its setup intent`);
    if (session.status === "expired") return { outcome: "expired", session, intent, events: [] };
    if (session.status === "complete") {
      return {
        outcome: "saved",
        session,
        intent,
        events: [
          this.event("checkout.session.completed", session),
          this.event("setup_intent.succeeded", intent),
        ],
      };
    }

    const attempts = Number(intent.attempts ?? 0) + 1;
    const decline = SIMULATED_CARDS[card].onPage;
    if (decline) {
      const failed = { ...intent, last_setup_error: decline, attempts };
      await this.saveObject(tx, intentId, failed);

      return {
        outcome: "declined",
        session,
        intent: failed,
        events: [this.event("setup_intent.setup_failed", failed, attempts)],
      };
    }

    const method = await this.saveCard(session.customer as string, card, { tx, default: true });
    const succeeded = {
      ...intent,
      status: "succeeded",
      payment_method: method.ref,
      last_setup_error: null,
      attempts,
    };
    await this.saveObject(tx, intentId, succeeded);
    const complete = { ...session, status: "complete" };
    await this.saveObject(tx, session.id as string, complete);

    return {
      outcome: "saved",
      session: complete,
      intent: succeeded,
      events: [
        this.event("checkout.session.completed", complete),
        this.event("setup_intent.succeeded", succeeded),
      ],
    };
  }

  /**
   * Ends an open session unpaid, as the checkout page's Cancel button does
   * (Stripe's "expire a session"): delivers checkout.session.expired.
   */
  async expireCheckoutSession(sessionId: string): Promise<SimulatedSession | null> {
    const outcome = await this.db.transaction(async (tx) => {
      const session = await this.lockObject(tx, sessionId, "checkout.session");
      if (!session) return null;
      const intent = await this.intentOf(tx, session);
      if (session.status === "complete") return { session, intent, events: [] };

      const expired = { ...session, status: "expired" };
      if (session.status === "open") await this.saveObject(tx, sessionId, expired);

      return this.queued(tx, {
        session: expired,
        intent,
        events: [this.event("checkout.session.expired", expired)],
      });
    });
    if (!outcome) return null;
    await this.deliver(outcome.events);

    return this.sessionView(outcome.session, outcome.intent);
  }

  /**
   * Saves a test card on a customer, as a checkout does; by default it also
   * becomes the card off-session charges use (how tests give a workspace a
   * card, or make its charges decline with 4000000000000341). Saving the same
   * test card again keeps its payment method, as Stripe's card fingerprint
   * would tell.
   */
  async saveCard(
    customerId: string,
    card: SimulatedCard,
    options: { tx?: Tx | Db; default?: boolean } = {},
  ): Promise<SavedPaymentMethod> {
    const db = options.tx ?? this.db;
    const [existing] = await db
      .select({ id: simulatedObjects.id })
      .from(simulatedObjects)
      .where(
        and(
          eq(simulatedObjects.type, "payment_method"),
          sql`${simulatedObjects.data}->>'customer' = ${customerId}`,
          sql`${simulatedObjects.data}->>'tally_test_card' = ${card}`,
        ),
      );
    const id = existing?.id ?? simulatedId("pm");
    const label = cardLabel("visa", card.slice(-4));
    if (!existing) {
      await db.insert(simulatedObjects).values({
        id,
        type: "payment_method",
        data: {
          id,
          object: "payment_method",
          type: "card",
          customer: customerId,
          card: { brand: "visa", last4: card.slice(-4), exp_month: 12, exp_year: 2034 },
          created: this.unixNow(),
          livemode: false,
          tally_test_card: card,
          tally_default: false,
        },
      });
    }
    if (options.default ?? true) {
      await db.execute(sql`
        UPDATE ${simulatedObjects}
        SET data = jsonb_set(data, '{tally_default}', to_jsonb(${simulatedObjects.id} = ${id}))
        WHERE ${simulatedObjects.type} = 'payment_method' AND data->>'customer' = ${customerId}`);
    }

    return { ref: id, label };
  }

  /** The card off-session charges use: the customer's default, else the newest saved one. */
  private async defaultCard(db: Tx | Db, customerId: string) {
    const [row] = await db
      .select({ data: simulatedObjects.data })
      .from(simulatedObjects)
      .where(
        and(
          eq(simulatedObjects.type, "payment_method"),
          sql`${simulatedObjects.data}->>'customer' = ${customerId}`,
        ),
      )
      .orderBy(
        // Cards saved before defaults existed have neither field: they rank last.
        sql`coalesce((${simulatedObjects.data}->>'tally_default')::boolean, false) DESC`,
        sql`coalesce((${simulatedObjects.data}->>'created')::bigint, 0) DESC`,
        desc(simulatedObjects.createdAt),
      )
      .limit(1);
    const testCard = row?.data.tally_test_card;
    if (!row || typeof testCard !== "string" || !isSimulatedCard(testCard)) return null;
    const card = row.data.card as { brand: string; last4: string };

    return { id: row.data.id as string, testCard, label: cardLabel(card.brand, card.last4) };
  }

  /**
   * Creates the charge of a succeeded payment intent and returns the intent naming it.
   * TODO: a declined payment gets no charge here (latest_charge stays null), where Stripe
   * records a failed charge for each declined attempt.
   */
  private async charge(tx: Tx, intent: Data): Promise<Data> {
    const id = simulatedId("ch");
    const charge: Data = {
      id,
      object: "charge",
      amount: intent.amount,
      amount_captured: intent.amount,
      amount_refunded: 0,
      captured: true,
      currency: intent.currency,
      customer: intent.customer,
      description: intent.description ?? null,
      disputed: false,
      metadata: intent.metadata,
      paid: true,
      payment_intent: intent.id,
      payment_method: intent.payment_method,
      refunded: false,
      refunds: { object: "list", data: [], has_more: false, total_count: 0 },
      status: "succeeded",
      created: this.unixNow(),
      livemode: false,
    };
    await tx.insert(simulatedObjects).values({ id, type: "charge", data: charge });
    const charged = { ...intent, latest_charge: id };
    await this.saveObject(tx, intent.id as string, charged);

    return charged;
  }

  /**
   * Opens a dispute on a succeeded charge (or a payment intent's charge), as
   * a cardholder's bank would: for tests and the demo, not on the gateway
   * interface. Delivers charge.dispute.created. A charge is disputed once;
   * opening it again returns the dispute it has.
   */
  async openDispute(
    chargeOrPaymentIntentId: string,
    reason = "fraudulent",
  ): Promise<GatewayDispute> {
    const outcome = await this.db.transaction(async (tx) => {
      const chargeId = chargeOrPaymentIntentId.startsWith("pi_")
        ? ((await this.lockObject(tx, chargeOrPaymentIntentId, "payment_intent"))?.latest_charge as
            string | null | undefined)
        : chargeOrPaymentIntentId;
      const charge = chargeId ? await this.lockObject(tx, chargeId, "charge") : null;
      if (!charge || charge.status !== "succeeded") {
        throw new Error(`No succeeded charge for ${chargeOrPaymentIntentId} to dispute`);
      }
      const [existing] = await tx
        .select({ data: simulatedObjects.data })
        .from(simulatedObjects)
        .where(
          and(
            eq(simulatedObjects.type, "dispute"),
            sql`${simulatedObjects.data}->>'charge' = ${charge.id as string}`,
          ),
        );
      if (existing) return { dispute: existing.data, events: [] };

      const id = simulatedId("dp");
      const created = this.unixNow();
      const dispute: Data = {
        id,
        object: "dispute",
        amount: charge.amount,
        charge: charge.id,
        currency: charge.currency,
        payment_intent: charge.payment_intent,
        reason,
        status: "needs_response",
        is_charge_refundable: false,
        evidence_details: { due_by: created + 7 * 24 * 60 * 60, has_evidence: false },
        metadata: {},
        created,
        livemode: false,
      };
      await tx.insert(simulatedObjects).values({ id, type: "dispute", data: dispute });
      await this.saveObject(tx, charge.id as string, { ...charge, disputed: true });

      return this.queued(tx, {
        dispute,
        events: [this.event("charge.dispute.created", dispute)],
      });
    });
    await this.deliver(outcome.events);

    return disputeView(outcome.dispute);
  }

  /**
   * Closes an open dispute as the bank decided: `won` keeps the money with
   * the merchant, `lost` gives it to the cardholder. Delivers
   * charge.dispute.closed; closing it again the same way changes nothing.
   */
  async closeDispute(disputeId: string, outcome: "won" | "lost"): Promise<GatewayDispute> {
    const closed = await this.db.transaction(async (tx) => {
      const dispute = await this.lockObject(tx, disputeId, "dispute");
      if (!dispute) throw new Error(`No dispute ${disputeId}`);
      if (dispute.status === outcome) return { dispute, events: [] };
      if (dispute.status === "won" || dispute.status === "lost") {
        throw new Error(`Dispute ${disputeId} is already ${String(dispute.status)}`);
      }

      const updated = { ...dispute, status: outcome };
      await this.saveObject(tx, disputeId, updated);

      return this.queued(tx, {
        dispute: updated,
        events: [this.event("charge.dispute.closed", updated)],
      });
    });
    await this.deliver(closed.events);

    return disputeView(closed.dispute);
  }

  private sessionBase(
    id: string,
    input: { customerId: string; successUrl: string; cancelUrl: string },
  ) {
    const created = this.unixNow();

    return {
      id,
      object: "checkout.session",
      status: "open",
      customer: input.customerId,
      success_url: input.successUrl,
      cancel_url: input.cancelUrl,
      url: `${this.appUrl}/checkout/simulated/${id}`,
      created,
      // Stripe's sessions stay open for 24 hours.
      // TODO: a simulated session does not expire by itself when this passes (Stripe's do, with
      // checkout.session.expired); an unpaid one stays open, its purchase pending, until cancelled.
      expires_at: created + 24 * 60 * 60,
      livemode: false,
    };
  }

  private sessionView(session: Data, intent: Data | null): SimulatedSession {
    const lines = (session.line_items as { data?: { description?: string }[] } | undefined)?.data;
    const error = (intent?.last_payment_error ?? intent?.last_setup_error) as
      CardError | null | undefined;
    const amount = session.amount_total;
    const currency = session.currency;

    return {
      id: session.id as string,
      mode: session.mode === "setup" ? "setup" : "payment",
      status: session.status as SimulatedSession["status"],
      paymentStatus: session.payment_status as SimulatedSession["paymentStatus"],
      amountMinor: typeof amount === "number" ? amount : null,
      currency: typeof currency === "string" ? currency.toUpperCase() : null,
      description: lines?.[0]?.description ?? "",
      customerId: session.customer as string,
      metadata: (session.metadata ?? {}) as Record<string, string>,
      successUrl: session.success_url as string,
      cancelUrl: session.cancel_url as string,
      declineMessage: session.status === "open" ? (error?.message ?? null) : null,
      expiresAt: new Date(Number(session.expires_at) * 1000),
    };
  }

  /** The payment intent (payment mode) or setup intent (setup mode) a session holds. */
  private async intentOf(db: Tx | Db, session: Data): Promise<Data | null> {
    const id = session.mode === "setup" ? session.setup_intent : session.payment_intent;
    if (typeof id !== "string") return null;
    const [row] = await db
      .select({ data: simulatedObjects.data })
      .from(simulatedObjects)
      .where(eq(simulatedObjects.id, id));

    return row?.data ?? null;
  }

  /** Stores a new object under an idempotency key, or returns the one stored under it before. */
  private async insertOnce(
    tx: Tx,
    type: ObjectType,
    id: string,
    idempotencyKey: string,
    data: Data,
  ): Promise<Data> {
    const inserted = await tx
      .insert(simulatedObjects)
      .values({ id, type, idempotencyKey, data })
      .onConflictDoNothing({ target: simulatedObjects.idempotencyKey })
      .returning({ data: simulatedObjects.data });
    if (inserted[0]) return inserted[0].data;
    const existing = await this.findByKey(tx, idempotencyKey);
    if (!existing) throw new Error("Simulated object vanished after an idempotency conflict");
    assertSameKind(existing, String(data.object), idempotencyKey);

    return existing;
  }

  private async findByKey(db: Tx | Db, idempotencyKey: string): Promise<Data | null> {
    const [row] = await db
      .select({ data: simulatedObjects.data })
      .from(simulatedObjects)
      .where(eq(simulatedObjects.idempotencyKey, idempotencyKey));

    return row?.data ?? null;
  }

  private async lockObject(tx: Tx, id: string, type: ObjectType): Promise<Data | null> {
    const [row] = await tx
      .select({ data: simulatedObjects.data })
      .from(simulatedObjects)
      .where(and(eq(simulatedObjects.id, id), eq(simulatedObjects.type, type)))
      .for("update");

    return row?.data ?? null;
  }

  private async saveObject(tx: Tx, id: string, data: Data): Promise<void> {
    await tx.update(simulatedObjects).set({ data }).where(eq(simulatedObjects.id, id));
  }

  private intentEvent(intent: Data): SimulatedEvent {
    return this.event(
      intent.status === "succeeded" ? "payment_intent.succeeded" : "payment_intent.payment_failed",
      intent,
    );
  }

  /**
   * A Stripe-shaped event about `object`; the id is derived from the type, the
   * object and what distinguishes this occurrence (an attempt, a refund), so a
   * repeat is a duplicate.
   */
  private event(type: string, object: Data, occurrence: number | string = 1): SimulatedEvent {
    const digest = createHash("sha256")
      .update(`${type}:${String(object.id)}:${occurrence}`)
      .digest();

    return {
      id: `evt_sim${base62(digest, 24)}`,
      object: "event",
      api_version: STRIPE_API_VERSION,
      created: this.unixNow(),
      data: { object: stripped(object) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    };
  }

  /**
   * Keeps each event in the gateway's own store until the webhook route has
   * taken it, as Stripe keeps retrying an endpoint: queued in the
   * transaction that made the change where there is one.
   */
  private async queue(db: Tx | Db, events: SimulatedEvent[]): Promise<void> {
    if (events.length === 0) return;
    await db
      .insert(simulatedObjects)
      .values(
        events.map((event) => ({
          id: event.id,
          type: "event" as const,
          data: { event, delivered: false },
          createdAt: this.clock.now(),
        })),
      )
      .onConflictDoNothing({ target: simulatedObjects.id });
  }

  private async queued<T extends { events: SimulatedEvent[] } | null>(tx: Tx, outcome: T) {
    if (outcome) await this.queue(tx, outcome.events);

    return outcome;
  }

  private async deliver(events: SimulatedEvent[]): Promise<void> {
    await this.queue(this.db, events);
    if (!this.sink) return;
    for (const event of events) {
      await this.sink(event);
      await this.db
        .update(simulatedObjects)
        .set({ data: sql`jsonb_set(${simulatedObjects.data}, '{delivered}', 'true')` })
        .where(and(eq(simulatedObjects.id, event.id), eq(simulatedObjects.type, "event")));
    }
  }

  /**
   * Sends again the events the webhook route has not taken for `afterMs`
   * (a server killed between a payment and its delivery, a route that
   * failed), oldest first; the route acknowledges a repeat as a duplicate.
   * Returns how many were delivered.
   */
  async redeliverPending(afterMs = 30_000, limit = 100): Promise<number> {
    if (!this.sink) return 0;
    const cutoff = new Date(this.clock.now().getTime() - afterMs);
    const pending = await this.db
      .select({ data: simulatedObjects.data })
      .from(simulatedObjects)
      .where(
        and(
          eq(simulatedObjects.type, "event"),
          sql`${simulatedObjects.data}->>'delivered' = 'false'`,
          lte(simulatedObjects.createdAt, cutoff),
        ),
      )
      .orderBy(asc(simulatedObjects.createdAt), asc(simulatedObjects.id))
      .limit(limit);
    let delivered = 0;
    for (const row of pending) {
      await this.deliver([row.data.event as SimulatedEvent]);
      delivered++;
    }

    return delivered;
  }

  private unixNow(): number {
    return Math.floor(this.clock.now().getTime() / 1000);
  }
}

/**
 * Whether the runtime's gateway is the simulated one. Decided by its kind, not
 * by instanceof: Next bundles the route handlers and the instrumentation hook
 * that built the runtime separately, each with its own copy of this class.
 */
export function isSimulatedGateway(gateway: PaymentGateway): gateway is SimulatedGateway {
  return gateway.kind === "simulated";
}

/** Stripe refuses a key reused for another kind of request; so does the simulation. */
function assertSameKind(existing: Data, object: string, idempotencyKey: string): void {
  if (existing.object !== object) {
    throw new Error(`Idempotency key ${idempotencyKey} was used for a ${String(existing.object)}`);
  }
}

function disputeView(dispute: Data): GatewayDispute {
  return {
    disputeId: dispute.id as string,
    chargeId: dispute.charge as string,
    paymentIntentId: (dispute.payment_intent as string | null) ?? null,
    amountMinor: Number(dispute.amount),
    currency: String(dispute.currency).toUpperCase(),
    status: dispute.status as string,
    reason: (dispute.reason as string | null) ?? null,
    createdAt: new Date(Number(dispute.created) * 1000),
  };
}

/** The object as Stripe would send it: the simulation's own bookkeeping fields left out. */
function stripped(object: Data): Data {
  const { attempts: _attempts, ...rest } = object;

  return rest;
}
