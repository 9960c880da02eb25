import { createHash, randomBytes } from "node:crypto";

import { and, asc, eq, lte, sql } from "drizzle-orm";

import { simulatedCustomers, simulatedObjects } from "@/drizzle/schema";
import { systemClock, type Clock } from "@/server/clock";
import type { Db, Tx } from "@/server/db/client";

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

/**
 * The test cards the simulated checkout page offers, numbered as Stripe's
 * test cards behave: 4242… pays, 4000…0002 is declined, and 4000…0341 pays
 * now but declines every later off-session charge (an auto top-up).
 */
export const SIMULATED_CARDS = {
  "4242424242424242": { label: "Pays", paysNow: true, paysOffSession: true },
  "4000000000000002": { label: "Declined", paysNow: false, paysOffSession: false },
  "4000000000000341": {
    label: "Pays now, declines later top-ups",
    paysNow: true,
    paysOffSession: false,
  },
} as const;

export type SimulatedCard = keyof typeof SIMULATED_CARDS;

export function isSimulatedCard(value: string): value is SimulatedCard {
  return Object.hasOwn(SIMULATED_CARDS, value);
}

const DECLINE = {
  type: "card_error",
  code: "card_declined",
  decline_code: "generic_decline",
  message: "Your card was declined.",
};

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
  status: "open" | "complete" | "expired";
  paymentStatus: "paid" | "unpaid";
  amountMinor: number;
  currency: string;
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
  | { outcome: "paid"; session: SimulatedSession }
  | { outcome: "declined"; session: SimulatedSession; message: string }
  | { outcome: "expired"; session: SimulatedSession };

/**
 * The gateway of the embedded default. It keeps customers in their own table
 * and sessions, payment intents, refunds and saved cards in
 * simulated_objects, Stripe-shaped; honours idempotency keys as Stripe does
 * (same key, same object); and reports what happens by Stripe-shaped webhook
 * events handed to the webhook sink, which signs them and posts them through
 * the same route Stripe's events take. It never leaves the machine.
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
    const created = this.unixNow();
    const url = `${this.appUrl}/checkout/simulated/${id}`;
    const session: Data = {
      id,
      object: "checkout.session",
      mode: "payment",
      status: "open",
      payment_status: "unpaid",
      amount_subtotal: input.amountMinor,
      amount_total: input.amountMinor,
      currency: input.currency.toLowerCase(),
      customer: input.customerId,
      client_reference_id: input.purchaseId,
      metadata: { purchase_id: input.purchaseId, workspace_id: input.workspaceId },
      payment_intent: null,
      line_items: {
        object: "list",
        data: [
          {
            description: input.description,
            quantity: 1,
            amount_total: input.amountMinor,
            currency: input.currency.toLowerCase(),
          },
        ],
      },
      success_url: input.successUrl,
      cancel_url: input.cancelUrl,
      url,
      created,
      // Stripe's sessions stay open for 24 hours.
      // TODO: a simulated session does not expire by itself when this passes (Stripe's do, with
      // checkout.session.expired); an unpaid one stays open, its purchase pending, until cancelled.
      expires_at: created + 24 * 60 * 60,
      livemode: false,
    };
    const stored = await this.insertOnce("checkout.session", id, idempotencyKey, session);

    return { sessionId: stored.id as string, url: stored.url as string };
  }

  async chargeOffSession(
    input: OffSessionChargeInput,
    idempotencyKey: string,
  ): Promise<OffSessionCharge> {
    const card = await this.savedCard(input.customerId);
    const pays = card ? SIMULATED_CARDS[card].paysOffSession : true;
    const id = simulatedId("pi");
    const intent = await this.insertOnce("payment_intent", id, idempotencyKey, {
      id,
      object: "payment_intent",
      amount: input.amountMinor,
      amount_received: pays ? input.amountMinor : 0,
      amount_refunded: 0,
      currency: input.currency.toLowerCase(),
      customer: input.customerId,
      description: input.description,
      metadata: { ...input.metadata },
      off_session: true,
      payment_method: card ? cardId(input.customerId) : null,
      status: pays ? "succeeded" : "requires_payment_method",
      last_payment_error: pays ? null : DECLINE,
      created: this.unixNow(),
      livemode: false,
    });
    const succeeded = intent.status === "succeeded";
    await this.deliver([
      this.event(succeeded ? "payment_intent.succeeded" : "payment_intent.payment_failed", intent),
    ]);

    return succeeded
      ? { paymentIntentId: intent.id as string, chargeId: null, status: "succeeded" }
      : {
          paymentIntentId: intent.id as string,
          status: "failed",
          failureReason: DECLINE.message,
          failureCode: DECLINE.decline_code,
        };
  }

  async refund(input: RefundInput, idempotencyKey: string): Promise<GatewayRefund> {
    const refund = await this.db.transaction(async (tx) => {
      const existing = await this.findByKey(tx, idempotencyKey);
      if (existing) return existing;

      const intent = await this.lockObject(tx, input.paymentIntentId, "payment_intent");
      if (!intent || intent.status !== "succeeded") {
        throw new Error(`No succeeded payment ${input.paymentIntentId} to refund`);
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
      const id = simulatedId("re");
      const data: Data = {
        id,
        object: "refund",
        amount: input.amountMinor,
        currency: intent.currency,
        payment_intent: intent.id,
        metadata: { ...input.metadata },
        status: "succeeded",
        created: this.unixNow(),
      };
      await tx.insert(simulatedObjects).values({ id, type: "refund", idempotencyKey, data });

      return data;
    });

    return { refundId: refund.id as string, status: "succeeded" };
  }

  // TODO(issue 7 lanes): filled in by the gateway lane.
  async createSetupSession(_input: SetupSessionInput, _key: string): Promise<CheckoutSession> {
    throw new Error("not implemented yet");
  }

  async setDefaultPaymentMethod(_customerId: string, _ref: string): Promise<void> {
    throw new Error("not implemented yet");
  }

  async defaultPaymentMethod(_customerId: string): Promise<SavedPaymentMethod | null> {
    throw new Error("not implemented yet");
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
   * Pays a checkout session with a test card, as the checkout page's Pay
   * button does. Success completes the session, saves the card for
   * off-session charges and delivers checkout.session.completed and
   * payment_intent.succeeded; a decline delivers payment_intent.payment_failed
   * and leaves the session open for another card. Paying a completed session
   * again changes nothing and delivers the same two events again.
   */
  async payCheckoutSession(sessionId: string, card: SimulatedCard): Promise<PayResult | null> {
    const outcome = await this.db.transaction(async (tx) =>
      this.queued(tx, await this.pay(tx, sessionId, card)),
    );
    if (!outcome) return null;

    // Delivered after the commit, as Stripe sends events about what has happened; queued in the
    // same transaction as the payment, so a crash before delivery only delays it (redeliver).
    await this.deliver(outcome.events);
    const { result } = outcome;
    const session = this.sessionView(result.session, result.intent);

    return result.outcome === "declined"
      ? { outcome: "declined", session, message: DECLINE.message }
      : { outcome: result.outcome, session };
  }

  private async pay(tx: Tx, sessionId: string, card: SimulatedCard) {
    const session = await this.lockObject(tx, sessionId, "checkout.session");
    if (!session) return null;
    const intent = await this.intentOf(tx, session);
    if (session.status === "expired") {
      return { result: { outcome: "expired" as const, session, intent }, events: [] };
    }
    if (session.status === "complete") {
      return {
        result: { outcome: "paid" as const, session, intent },
        events: [
          this.event("checkout.session.completed", session),
          ...(intent ? [this.event("payment_intent.succeeded", intent)] : []),
        ],
      };
    }

    const customerId = session.customer as string;
    const attempts = Number(intent?.attempts ?? 0) + 1;
    const intentId = (intent?.id as string | undefined) ?? simulatedId("pi");
    const paysNow = SIMULATED_CARDS[card].paysNow;
    const nextIntent: Data = {
      id: intentId,
      object: "payment_intent",
      amount: session.amount_total,
      amount_received: paysNow ? session.amount_total : 0,
      amount_refunded: 0,
      currency: session.currency,
      customer: customerId,
      metadata: session.metadata,
      payment_method: cardId(customerId),
      setup_future_usage: "off_session",
      status: paysNow ? "succeeded" : "requires_payment_method",
      last_payment_error: paysNow ? null : DECLINE,
      attempts,
      created: (intent?.created as number | undefined) ?? this.unixNow(),
      livemode: false,
    };
    if (intent) await this.saveObject(tx, intentId, nextIntent);
    else
      await tx
        .insert(simulatedObjects)
        .values({ id: intentId, type: "payment_intent", data: nextIntent });

    if (!paysNow) {
      const open = { ...session, payment_intent: intentId };
      await this.saveObject(tx, sessionId, open);

      return {
        result: { outcome: "declined" as const, session: open, intent: nextIntent },
        events: [this.event("payment_intent.payment_failed", nextIntent, attempts)],
      };
    }

    await this.saveCard(customerId, card, tx);
    const complete = {
      ...session,
      status: "complete",
      payment_status: "paid",
      payment_intent: intentId,
    };
    await this.saveObject(tx, sessionId, complete);

    return {
      result: { outcome: "paid" as const, session: complete, intent: nextIntent },
      events: [
        this.event("checkout.session.completed", complete),
        this.event("payment_intent.succeeded", nextIntent),
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
   * Saves a test card on a customer for off-session charges, replacing the
   * one saved before; what a successful checkout does, and how tests make a
   * workspace's top-ups decline (4000000000000341).
   */
  async saveCard(customerId: string, card: SimulatedCard, tx: Tx | Db = this.db): Promise<void> {
    const id = cardId(customerId);
    const data: Data = {
      id,
      object: "payment_method",
      type: "card",
      customer: customerId,
      card: { brand: "visa", last4: card.slice(-4) },
      tally_test_card: card,
    };
    await tx
      .insert(simulatedObjects)
      .values({ id, type: "payment_method", data })
      .onConflictDoUpdate({ target: simulatedObjects.id, set: { data } });
  }

  private async savedCard(customerId: string): Promise<SimulatedCard | null> {
    const [row] = await this.db
      .select({ data: simulatedObjects.data })
      .from(simulatedObjects)
      .where(eq(simulatedObjects.id, cardId(customerId)));
    const card = row?.data.tally_test_card;

    return typeof card === "string" && isSimulatedCard(card) ? card : null;
  }

  private sessionView(session: Data, intent: Data | null): SimulatedSession {
    const lines = (session.line_items as { data?: { description?: string }[] } | undefined)?.data;
    const error = intent?.last_payment_error as { message?: string } | null | undefined;

    return {
      id: session.id as string,
      status: session.status as SimulatedSession["status"],
      paymentStatus: session.payment_status as SimulatedSession["paymentStatus"],
      amountMinor: Number(session.amount_total),
      currency: String(session.currency).toUpperCase(),
      description: lines?.[0]?.description ?? "",
      customerId: session.customer as string,
      metadata: (session.metadata ?? {}) as Record<string, string>,
      successUrl: session.success_url as string,
      cancelUrl: session.cancel_url as string,
      declineMessage: session.status === "open" ? (error?.message ?? null) : null,
      expiresAt: new Date(Number(session.expires_at) * 1000),
    };
  }

  private async intentOf(db: Tx | Db, session: Data): Promise<Data | null> {
    if (typeof session.payment_intent !== "string") return null;
    const [row] = await db
      .select({ data: simulatedObjects.data })
      .from(simulatedObjects)
      .where(eq(simulatedObjects.id, session.payment_intent));

    return row?.data ?? null;
  }

  /** Stores a new object under an idempotency key, or returns the one stored under it before. */
  private async insertOnce(
    type: ObjectType,
    id: string,
    idempotencyKey: string,
    data: Data,
  ): Promise<Data> {
    const inserted = await this.db
      .insert(simulatedObjects)
      .values({ id, type, idempotencyKey, data })
      .onConflictDoNothing({ target: simulatedObjects.idempotencyKey })
      .returning({ data: simulatedObjects.data });
    if (inserted[0]) return inserted[0].data;
    const existing = await this.findByKey(this.db, idempotencyKey);
    if (!existing) throw new Error("Simulated object vanished after an idempotency conflict");
    if (existing.object !== data.object) {
      // Stripe refuses a key reused for another kind of request; so does the simulation.
      throw new Error(
        `Idempotency key ${idempotencyKey} was used for a ${String(existing.object)}`,
      );
    }

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

  /** A Stripe-shaped event about `object`; the id is derived so a repeat is a duplicate. */
  private event(type: string, object: Data, attempt = 1): SimulatedEvent {
    const digest = createHash("sha256")
      .update(`${type}:${String(object.id)}:${attempt}`)
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

/** A customer's saved card: one per customer, replaced by the next successful checkout. */
function cardId(customerId: string): string {
  return `pm_sim_${customerId}`;
}

/** The object as Stripe would send it: the simulation's own bookkeeping fields left out. */
function stripped(object: Data): Data {
  const { attempts: _attempts, ...rest } = object;

  return rest;
}
