import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local HTTP stand-in for the parts of Stripe's API that Tally calls, so
 * tests drive the real stripe SDK over real HTTP. It keeps objects in memory,
 * honours Idempotency-Key the way Stripe does (same key and parameters → the
 * stored response; same key, other parameters → 400 idempotency_error), and
 * records every request for assertions.
 *
 * Covered: customers (create, retrieve with `expand`, update the default
 * card, list payment methods newest first), Checkout Sessions (create in
 * payment or setup mode, retrieve with `expand`), PaymentIntents (create,
 * confirmed off session with one of the customer's saved cards; retrieve),
 * Charges (one per succeeded payment intent, its `latest_charge`; retrieve)
 * and Refunds (create, never more than is left on the payment). What a
 * customer does in the browser is a test helper: `completeCheckout` pays a
 * session and saves the card, `completeSetup` finishes a setup session with
 * a card, `setCard` picks how the saved card behaves off session.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  params: URLSearchParams;
}

type StripeObject = Record<string, unknown> & { id: string };

/**
 * How a saved card answers an off-session charge: `succeeds` (4242),
 * `declines` (0341: card_declined, generic_decline) or `insufficient_funds`
 * (9995: card_declined, insufficient_funds).
 */
export type CardBehaviour = "succeeds" | "declines" | "insufficient_funds";

const LAST4: Record<CardBehaviour, string> = {
  succeeds: "4242",
  declines: "0341",
  insufficient_funds: "9995",
};

const DECLINES: Record<Exclude<CardBehaviour, "succeeds">, Record<string, string>> = {
  declines: {
    type: "card_error",
    code: "card_declined",
    decline_code: "generic_decline",
    message: "Your card was declined.",
  },
  insufficient_funds: {
    type: "card_error",
    code: "card_declined",
    decline_code: "insufficient_funds",
    message: "Your card has insufficient funds.",
  },
};

export interface StripeStandIn {
  url: string;
  requests: RecordedRequest[];
  customers: Map<string, StripeObject>;
  sessions: Map<string, StripeObject>;
  paymentIntents: Map<string, StripeObject>;
  setupIntents: Map<string, StripeObject>;
  charges: Map<string, StripeObject>;
  paymentMethods: Map<string, StripeObject>;
  refunds: Map<string, StripeObject>;
  /** Pays an open session as a customer would: a succeeded payment intent, the card saved. */
  completeCheckout(sessionId: string): { session: StripeObject; paymentIntent: StripeObject };
  /**
   * Completes an open setup-mode session as a customer would: the card is
   * attached to the customer (not made their default, as Stripe does not)
   * and the session's setup intent succeeds with it.
   */
  completeSetup(
    sessionId: string,
    behaviour?: CardBehaviour,
  ): { session: StripeObject; setupIntent: StripeObject; paymentMethod: StripeObject };
  /** Replaces the customer's saved cards with one (or none, with null) that off-session charges use. */
  setCard(customerId: string, behaviour: CardBehaviour | null): StripeObject | undefined;
  close(): Promise<void>;
}

function stripeId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString("hex")}`;
}

/**
 * Stripe's form encoding back into objects: `metadata[workspace_id]=…`,
 * `line_items[0][price_data][currency]=usd`. Numeric keys make arrays.
 */
export function decode(params: URLSearchParams): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of params) {
    const [head, ...rest] = key.split("[");
    const path = [head!, ...rest.map((part) => part.replace(/]$/, ""))];
    let node: Record<string, unknown> | unknown[] = root;
    path.forEach((segment, index) => {
      const last = index === path.length - 1;
      const slot = segment === "" ? String((node as unknown[]).length) : segment;
      const container = node as Record<string, unknown>;
      if (last) {
        container[slot] = value;
        return;
      }
      if (container[slot] === undefined) container[slot] = /^\d*$/.test(path[index + 1]!) ? [] : {};
      node = container[slot] as Record<string, unknown>;
    });
  }

  return root;
}

const now = () => Math.floor(Date.now() / 1000);

function invalid(message: string, code?: string): [number, unknown] {
  return [400, { error: { type: "invalid_request_error", message, ...(code ? { code } : {}) } }];
}

export async function startStripeStandIn(): Promise<StripeStandIn> {
  const requests: RecordedRequest[] = [];
  const customers = new Map<string, StripeObject>();
  const sessions = new Map<string, StripeObject>();
  const paymentIntents = new Map<string, StripeObject>();
  const setupIntents = new Map<string, StripeObject>();
  const charges = new Map<string, StripeObject>();
  const paymentMethods = new Map<string, StripeObject>();
  const refunds = new Map<string, StripeObject>();
  /** Each customer's saved cards, newest first, as Stripe lists them. */
  const cards = new Map<string, string[]>();
  const behaviours = new Map<string, CardBehaviour>();
  const idempotent = new Map<string, { body: string; status: number; response: string }>();

  const cardsOf = (customerId: string) =>
    (cards.get(customerId) ?? []).map((id) => paymentMethods.get(id)!);

  const attachCard = (customerId: string, behaviour: CardBehaviour) => {
    const card = {
      id: stripeId("pm"),
      object: "payment_method",
      type: "card",
      customer: customerId,
      card: { brand: "visa", last4: LAST4[behaviour], exp_month: 12, exp_year: 2034 },
      created: now(),
      livemode: false,
    };
    paymentMethods.set(card.id, card);
    behaviours.set(card.id, behaviour);
    cards.set(customerId, [card.id, ...(cards.get(customerId) ?? [])]);
    return card;
  };

  const setCard = (customerId: string, behaviour: CardBehaviour | null) => {
    for (const id of cards.get(customerId) ?? []) paymentMethods.delete(id);
    cards.delete(customerId);
    const customer = customers.get(customerId);
    if (customer) customer.invoice_settings = { default_payment_method: null };
    return behaviour === null ? undefined : attachCard(customerId, behaviour);
  };

  /** Any stored object by its id, for `expand`. */
  const lookup = (id: string): StripeObject | undefined =>
    [customers, sessions, paymentIntents, setupIntents, charges, paymentMethods, refunds]
      .map((map) => map.get(id))
      .find(Boolean);

  /** Stripe's `expand[]=a.b`: each named id along the path replaced by its object. */
  const expanded = (object: StripeObject, paths: unknown): StripeObject => {
    const copy = structuredClone(object);
    for (const path of Array.isArray(paths) ? (paths as string[]) : []) {
      let node: Record<string, unknown> | undefined = copy;
      for (const field of path.split(".")) {
        if (!node) break;
        const value: unknown = node[field];
        if (typeof value === "string" && lookup(value))
          node[field] = structuredClone(lookup(value));
        node = node[field] as Record<string, unknown> | undefined;
        if (typeof node !== "object" || node === null) node = undefined;
      }
    }
    return copy;
  };

  const missing = (what: string, id: string): [number, unknown] => [
    404,
    {
      error: {
        type: "invalid_request_error",
        code: "resource_missing",
        message: `No such ${what}: '${id}'`,
      },
    },
  ];

  /** The charge of a succeeded payment intent; the intent names it as latest_charge. */
  const chargeFor = (intent: StripeObject) => {
    const charge = {
      id: stripeId("ch"),
      object: "charge",
      amount: intent.amount,
      amount_captured: intent.amount,
      amount_refunded: 0,
      captured: true,
      currency: intent.currency,
      customer: intent.customer,
      metadata: intent.metadata,
      paid: true,
      payment_intent: intent.id,
      payment_method: intent.payment_method,
      refunded: false,
      status: "succeeded",
      created: now(),
      livemode: false,
    };
    charges.set(charge.id, charge);
    intent.latest_charge = charge.id;
  };

  const handle = (method: string, path: string, params: URLSearchParams): [number, unknown] => {
    const fields = decode(params);
    if (method === "POST" && path === "/v1/customers") {
      const customer = {
        id: stripeId("cus"),
        object: "customer",
        created: now(),
        email: fields.email ?? null,
        name: fields.name ?? null,
        metadata: fields.metadata ?? {},
        invoice_settings: { default_payment_method: null },
        livemode: false,
      };
      customers.set(customer.id, customer);
      return [200, customer];
    }
    const customerPath = path.match(/^\/v1\/customers\/([^/]+)(\/payment_methods)?$/);
    if (method === "GET" && customerPath) {
      const found = customers.get(customerPath[1]!);
      if (!found) return missing("customer", customerPath[1]!);
      if (!customerPath[2]) return [200, expanded(found, fields.expand)];
      const limit = fields.limit === undefined ? 10 : Number(fields.limit);
      const saved = cardsOf(found.id);
      return [
        200,
        {
          object: "list",
          data: saved.slice(0, limit),
          has_more: saved.length > limit,
          url: path,
        },
      ];
    }
    if (method === "POST" && customerPath && !customerPath[2]) {
      const found = customers.get(customerPath[1]!);
      if (!found) return missing("customer", customerPath[1]!);
      const settings = fields.invoice_settings as { default_payment_method?: string } | undefined;
      const chosen = settings?.default_payment_method;
      if (chosen !== undefined) {
        if (chosen !== "" && !(cards.get(found.id) ?? []).includes(chosen)) {
          return invalid(
            `The payment method '${chosen}' is not attached to customer '${found.id}'`,
            "resource_missing",
          );
        }
        found.invoice_settings = { default_payment_method: chosen || null };
      }
      for (const field of ["name", "email"] as const)
        if (fields[field] !== undefined) found[field] = fields[field];
      if (fields.metadata)
        found.metadata = { ...(found.metadata as object), ...(fields.metadata as object) };
      return [200, found];
    }

    if (method === "POST" && path === "/v1/checkout/sessions") {
      const lines = fields.line_items as {
        price_data: Record<string, unknown>;
        quantity: string;
      }[];
      const price = lines?.[0]?.price_data as
        { currency: string; unit_amount: string; product_data: { name: string } } | undefined;
      const id = `cs_test_${randomBytes(16).toString("hex")}`;
      if (fields.mode === "setup") {
        if (!fields.customer) return invalid("The stand-in wants a customer in setup mode");
        const types = fields.allowed_payment_method_types;
        if (!fields.currency && !Array.isArray(types)) {
          return invalid("currency is required in setup mode without allowed_payment_method_types");
        }
        const data = (fields.setup_intent_data ?? {}) as { metadata?: Record<string, string> };
        const setupIntent = {
          id: stripeId("seti"),
          object: "setup_intent",
          customer: fields.customer,
          metadata: data.metadata ?? {},
          payment_method: null as string | null,
          payment_method_types: types ?? ["card"],
          status: "requires_payment_method",
          usage: "off_session",
          created: now(),
          livemode: false,
        };
        setupIntents.set(setupIntent.id, setupIntent);
        const session = {
          id,
          object: "checkout.session",
          mode: "setup",
          status: "open",
          payment_status: "no_payment_required",
          amount_subtotal: null,
          amount_total: null,
          currency: fields.currency ?? null,
          customer: fields.customer,
          client_reference_id: fields.client_reference_id ?? null,
          metadata: fields.metadata ?? {},
          payment_intent: null,
          setup_intent: setupIntent.id,
          success_url: fields.success_url,
          cancel_url: fields.cancel_url,
          url: `https://checkout.stripe.com/c/pay/${id}`,
          created: now(),
          expires_at: now() + 86_400,
          livemode: false,
        };
        sessions.set(id, session);
        return [200, session];
      }
      if (fields.mode !== "payment" || !price) return invalid("Only payment mode with price_data");
      const session = {
        id,
        object: "checkout.session",
        mode: "payment",
        status: "open",
        payment_status: "unpaid",
        amount_subtotal: Number(price.unit_amount) * Number(lines[0]!.quantity),
        amount_total: Number(price.unit_amount) * Number(lines[0]!.quantity),
        currency: price.currency,
        customer: fields.customer ?? null,
        client_reference_id: fields.client_reference_id ?? null,
        metadata: fields.metadata ?? {},
        payment_intent: null,
        success_url: fields.success_url,
        cancel_url: fields.cancel_url,
        url: `https://checkout.stripe.com/c/pay/${id}`,
        created: now(),
        expires_at: now() + 86_400,
        livemode: false,
        // Kept to build the payment intent when the session is paid.
        payment_intent_data: fields.payment_intent_data ?? {},
      };
      sessions.set(id, session);
      const { payment_intent_data: _kept, ...visible } = session;
      return [200, visible];
    }
    const sessionPath = path.match(/^\/v1\/checkout\/sessions\/([^/]+)$/);
    if (method === "GET" && sessionPath) {
      const found = sessions.get(sessionPath[1]!);
      if (!found) return missing("checkout.session", sessionPath[1]!);
      const { payment_intent_data: _kept, ...visible } = expanded(found, fields.expand);
      return [200, visible];
    }
    const intentPath = path.match(/^\/v1\/payment_intents\/([^/]+)$/);
    if (method === "GET" && intentPath) {
      const found = paymentIntents.get(intentPath[1]!);
      return found
        ? [200, expanded(found, fields.expand)]
        : missing("payment_intent", intentPath[1]!);
    }
    const chargePath = path.match(/^\/v1\/charges\/([^/]+)$/);
    if (method === "GET" && chargePath) {
      const found = charges.get(chargePath[1]!);
      return found ? [200, expanded(found, fields.expand)] : missing("charge", chargePath[1]!);
    }

    if (method === "POST" && path === "/v1/payment_intents") {
      const customerId = String(fields.customer ?? "");
      if (fields.confirm !== "true" || fields.off_session !== "true") {
        return invalid("The stand-in only confirms off-session payment intents");
      }
      const card = paymentMethods.get(String(fields.payment_method ?? ""));
      if (!card || card.customer !== customerId) {
        return invalid("No such PaymentMethod", "resource_missing");
      }
      const intent = {
        id: stripeId("pi"),
        object: "payment_intent",
        amount: Number(fields.amount),
        amount_received: 0,
        amount_refunded: 0,
        currency: fields.currency,
        customer: customerId,
        description: fields.description ?? null,
        metadata: fields.metadata ?? {},
        payment_method: card.id,
        status: "succeeded",
        last_payment_error: null as unknown,
        latest_charge: null as string | null,
        created: now(),
        livemode: false,
      };
      const behaviour = behaviours.get(card.id)!;
      if (behaviour !== "succeeds") {
        const error = DECLINES[behaviour];
        Object.assign(intent, { status: "requires_payment_method", last_payment_error: error });
        paymentIntents.set(intent.id, intent);
        return [402, { error: { ...error, payment_intent: intent } }];
      }
      intent.amount_received = intent.amount;
      chargeFor(intent);
      paymentIntents.set(intent.id, intent);
      return [200, intent];
    }

    if (method === "POST" && path === "/v1/refunds") {
      const intent = paymentIntents.get(String(fields.payment_intent ?? ""));
      if (!intent || intent.status !== "succeeded") {
        return invalid("No such payment_intent", "resource_missing");
      }
      const left = Number(intent.amount) - Number(intent.amount_refunded);
      const amount = fields.amount === undefined ? left : Number(fields.amount);
      if (amount > left) {
        return invalid(
          `Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`,
          "amount_too_large",
        );
      }
      intent.amount_refunded = Number(intent.amount_refunded) + amount;
      const charge = charges.get(String(intent.latest_charge ?? ""));
      if (charge) {
        charge.amount_refunded = Number(charge.amount_refunded) + amount;
        charge.refunded = charge.amount_refunded === charge.amount;
      }
      const refund = {
        id: stripeId("re"),
        object: "refund",
        amount,
        charge: charge?.id ?? null,
        currency: intent.currency,
        payment_intent: intent.id,
        metadata: fields.metadata ?? {},
        status: "succeeded",
        created: now(),
      };
      refunds.set(refund.id, refund);
      return [200, refund];
    }

    return [
      404,
      {
        error: {
          type: "invalid_request_error",
          message: `Unrecognized request URL (${method}: ${path})`,
        },
      },
    ];
  };

  const completeCheckout = (sessionId: string) => {
    const session = sessions.get(sessionId);
    if (!session || session.status !== "open") throw new Error(`No open session ${sessionId}`);
    if (session.mode !== "payment") throw new Error(`Session ${sessionId} is not in payment mode`);
    const data = session.payment_intent_data as { metadata?: Record<string, string> };
    const customerId = String(session.customer);
    const saved = cardsOf(customerId)[0];
    const card = attachCard(customerId, saved ? behaviours.get(saved.id)! : "succeeds");
    const paymentIntent: StripeObject = {
      id: stripeId("pi"),
      object: "payment_intent",
      amount: session.amount_total,
      amount_received: session.amount_total,
      amount_refunded: 0,
      currency: session.currency,
      customer: customerId,
      metadata: data.metadata ?? {},
      payment_method: card.id,
      status: "succeeded",
      last_payment_error: null,
      created: now(),
      livemode: false,
    };
    chargeFor(paymentIntent);
    paymentIntents.set(paymentIntent.id, paymentIntent);
    Object.assign(session, {
      status: "complete",
      payment_status: "paid",
      payment_intent: paymentIntent.id,
    });
    const { payment_intent_data: _kept, ...visible } = session;

    return { session: visible as StripeObject, paymentIntent };
  };

  const completeSetup = (sessionId: string, behaviour: CardBehaviour = "succeeds") => {
    const session = sessions.get(sessionId);
    if (!session || session.status !== "open" || session.mode !== "setup") {
      throw new Error(`No open setup session ${sessionId}`);
    }
    const setupIntent = setupIntents.get(String(session.setup_intent))!;
    const paymentMethod = attachCard(String(session.customer), behaviour);
    Object.assign(setupIntent, { status: "succeeded", payment_method: paymentMethod.id });
    Object.assign(session, { status: "complete" });

    return { session, setupIntent, paymentMethod };
  };

  const server: Server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      const url = new URL(request.url ?? "/", "http://stand-in");
      const params = new URLSearchParams(request.method === "GET" ? url.search : body);
      requests.push({
        method: request.method ?? "",
        path: url.pathname,
        headers: request.headers,
        params,
      });

      const key = request.headers["idempotency-key"];
      const send = (status: number, payload: string) => {
        response.writeHead(status, {
          "content-type": "application/json",
          "request-id": stripeId("req"),
        });
        response.end(payload);
      };
      if (typeof key === "string" && request.method === "POST") {
        const stored = idempotent.get(key);
        if (stored && stored.body !== body) {
          send(
            400,
            JSON.stringify({
              error: {
                type: "idempotency_error",
                message:
                  "Keys for idempotent requests can only be used with the same parameters they " +
                  "were first used with.",
              },
            }),
          );
          return;
        }
        if (stored) {
          response.setHeader("idempotent-replayed", "true");
          send(stored.status, stored.response);
          return;
        }
      }
      const [status, payload] = handle(request.method ?? "GET", url.pathname, params);
      const text = JSON.stringify(payload);
      if (typeof key === "string" && request.method === "POST")
        idempotent.set(key, { body, status, response: text });
      send(status, text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    customers,
    sessions,
    paymentIntents,
    setupIntents,
    charges,
    paymentMethods,
    refunds,
    completeCheckout,
    completeSetup,
    setCard,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
