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
 * Covered: customers (create, retrieve, list payment methods), Checkout
 * Sessions (create), PaymentIntents (create, confirmed off session with the
 * customer's saved card) and Refunds (create, never more than is left on the
 * payment). What a customer does in the browser is a test helper:
 * `completeCheckout` pays a session and saves the card, `setCard` picks how
 * the saved card behaves off session.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  params: URLSearchParams;
}

type StripeObject = Record<string, unknown> & { id: string };

export type CardBehaviour = "succeeds" | "declines";

export interface StripeStandIn {
  url: string;
  requests: RecordedRequest[];
  customers: Map<string, StripeObject>;
  sessions: Map<string, StripeObject>;
  paymentIntents: Map<string, StripeObject>;
  refunds: Map<string, StripeObject>;
  // Reads for reconciliation: listed by `created` ([gte], [lt]) newest first, `has_more` pages.
  disputes: Map<string, StripeObject>;
  /** Opens a dispute on a succeeded payment intent's charge, as a cardholder's bank would. */
  createDispute(
    paymentIntentId: string,
    options?: { amount?: number; reason?: string; created?: number },
  ): StripeObject;
  /** Pays an open session as a customer would: a succeeded payment intent, the card saved. */
  completeCheckout(sessionId: string): { session: StripeObject; paymentIntent: StripeObject };
  /** Saves a card on the customer (or removes it, with null) that off-session charges use. */
  setCard(customerId: string, behaviour: CardBehaviour | null): void;
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
  const refunds = new Map<string, StripeObject>();
  const cards = new Map<string, { id: string; behaviour: CardBehaviour }>();
  const idempotent = new Map<string, { body: string; status: number; response: string }>();

  const paymentMethod = (customerId: string) => {
    const card = cards.get(customerId);
    return card
      ? {
          id: card.id,
          object: "payment_method",
          type: "card",
          customer: customerId,
          card: { brand: "visa", last4: card.behaviour === "succeeds" ? "4242" : "0341" },
        }
      : undefined;
  };

  const setCard = (customerId: string, behaviour: CardBehaviour | null) => {
    if (behaviour === null) cards.delete(customerId);
    else cards.set(customerId, { id: stripeId("pm"), behaviour });
  };

  // Reads for reconciliation: retrieve and list calls over the objects above, and disputes.
  const disputes = new Map<string, StripeObject>();
  const missing = (): [number, unknown] => [
    404,
    { error: { type: "invalid_request_error", code: "resource_missing" } },
  ];
  /** The charge of a payment intent, derived from it: the stand-in keeps no charges of its own. */
  const chargeOf = (intent: StripeObject): StripeObject | null =>
    typeof intent.latest_charge === "string"
      ? {
          id: intent.latest_charge,
          object: "charge",
          amount: intent.amount,
          amount_captured: intent.amount_received,
          amount_refunded: intent.amount_refunded,
          currency: intent.currency,
          customer: intent.customer,
          metadata: intent.metadata,
          payment_intent: intent.id,
          status: intent.status === "succeeded" ? "succeeded" : "failed",
          created: intent.created,
        }
      : null;
  const withCharge = (intent: StripeObject, expand: unknown): StripeObject => {
    const paths = Array.isArray(expand) ? expand : [];
    if (!paths.includes("latest_charge") && !paths.includes("data.latest_charge")) return intent;
    return { ...intent, latest_charge: chargeOf(intent) };
  };
  const list = (
    objects: Iterable<StripeObject>,
    fields: Record<string, unknown>,
    path: string,
    view: (object: StripeObject) => StripeObject = (object) => object,
  ): [number, unknown] => {
    const created = (fields.created ?? {}) as Record<string, string>;
    const inRange = (at: number) =>
      (created.gte === undefined || at >= Number(created.gte)) &&
      (created.gt === undefined || at > Number(created.gt)) &&
      (created.lte === undefined || at <= Number(created.lte)) &&
      (created.lt === undefined || at < Number(created.lt));
    const sorted = [...objects]
      .map((object, index) => ({ object, index }))
      .filter(({ object }) => inRange(Number(object.created)))
      .sort((a, b) => Number(b.object.created) - Number(a.object.created) || b.index - a.index)
      .map(({ object }) => object);
    const after = fields.starting_after
      ? sorted.findIndex((object) => object.id === fields.starting_after) + 1
      : 0;
    const limit = Math.min(Number(fields.limit ?? 10), 100);
    const page = sorted.slice(after, after + limit);
    return [
      200,
      { object: "list", data: page.map(view), has_more: after + limit < sorted.length, url: path },
    ];
  };
  const reads = (method: string, path: string, fields: Record<string, unknown>) => {
    if (method !== "GET") return null;
    if (path === "/v1/payment_intents") {
      return list(paymentIntents.values(), fields, path, (intent) =>
        withCharge(intent, fields.expand),
      );
    }
    if (path === "/v1/refunds") return list(refunds.values(), fields, path);
    if (path === "/v1/disputes") return list(disputes.values(), fields, path);
    const intentPath = path.match(/^\/v1\/payment_intents\/([^/]+)$/);
    if (intentPath) {
      const intent = paymentIntents.get(intentPath[1]!);
      return intent ? ([200, withCharge(intent, fields.expand)] as [number, unknown]) : missing();
    }
    const chargePath = path.match(/^\/v1\/charges\/([^/]+)$/);
    if (chargePath) {
      const intent = [...paymentIntents.values()].find((pi) => pi.latest_charge === chargePath[1]);
      const charge = intent ? chargeOf(intent) : null;
      if (!intent || !charge) return missing();
      const expand = Array.isArray(fields.expand) ? fields.expand : [];
      return [
        200,
        expand.includes("payment_intent") ? { ...charge, payment_intent: intent } : charge,
      ] as [number, unknown];
    }
    return null;
  };
  const createDispute = (
    paymentIntentId: string,
    options: { amount?: number; reason?: string; created?: number } = {},
  ) => {
    const intent = paymentIntents.get(paymentIntentId);
    if (!intent || intent.status !== "succeeded") {
      throw new Error(`No succeeded payment intent ${paymentIntentId} to dispute`);
    }
    if (typeof intent.latest_charge !== "string") intent.latest_charge = stripeId("ch");
    const dispute = {
      id: stripeId("dp"),
      object: "dispute",
      amount: options.amount ?? intent.amount,
      currency: intent.currency,
      charge: intent.latest_charge,
      payment_intent: intent.id,
      reason: options.reason ?? "fraudulent",
      status: "needs_response",
      created: options.created ?? now(),
      livemode: false,
    };
    disputes.set(dispute.id, dispute);
    return dispute;
  };

  const handle = (method: string, path: string, params: URLSearchParams): [number, unknown] => {
    const fields = decode(params);
    const read = reads(method, path, fields);
    if (read) return read;
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
      if (!found)
        return [404, { error: { type: "invalid_request_error", code: "resource_missing" } }];
      if (!customerPath[2]) return [200, found];
      const card = paymentMethod(found.id);
      return [200, { object: "list", data: card ? [card] : [], has_more: false, url: path }];
    }

    if (method === "POST" && path === "/v1/checkout/sessions") {
      const lines = fields.line_items as {
        price_data: Record<string, unknown>;
        quantity: string;
      }[];
      const price = lines?.[0]?.price_data as
        { currency: string; unit_amount: string; product_data: { name: string } } | undefined;
      if (fields.mode !== "payment" || !price) return invalid("Only payment mode with price_data");
      const id = `cs_test_${randomBytes(16).toString("hex")}`;
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

    if (method === "POST" && path === "/v1/payment_intents") {
      const customerId = String(fields.customer ?? "");
      const card = paymentMethod(customerId);
      if (fields.confirm !== "true" || fields.off_session !== "true") {
        return invalid("The stand-in only confirms off-session payment intents");
      }
      if (!card || fields.payment_method !== card.id) {
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
        created: now(),
        livemode: false,
      };
      if (cards.get(customerId)?.behaviour === "declines") {
        const error = {
          type: "card_error",
          code: "card_declined",
          decline_code: "generic_decline",
          message: "Your card was declined.",
        };
        Object.assign(intent, { status: "requires_payment_method", last_payment_error: error });
        paymentIntents.set(intent.id, intent);
        return [402, { error: { ...error, payment_intent: intent } }];
      }
      intent.amount_received = intent.amount;
      Object.assign(intent, { latest_charge: stripeId("ch") });
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
      const refund = {
        id: stripeId("re"),
        object: "refund",
        amount,
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
    const data = session.payment_intent_data as { metadata?: Record<string, string> };
    const customerId = String(session.customer);
    setCard(customerId, cards.get(customerId)?.behaviour ?? "succeeds");
    const paymentIntent = {
      id: stripeId("pi"),
      object: "payment_intent",
      amount: session.amount_total,
      amount_received: session.amount_total,
      amount_refunded: 0,
      currency: session.currency,
      customer: customerId,
      metadata: data.metadata ?? {},
      payment_method: cards.get(customerId)!.id,
      status: "succeeded",
      last_payment_error: null,
      created: now(),
      livemode: false,
    };
    paymentIntents.set(paymentIntent.id, paymentIntent);
    Object.assign(session, {
      status: "complete",
      payment_status: "paid",
      payment_intent: paymentIntent.id,
    });
    const { payment_intent_data: _kept, ...visible } = session;

    return { session: visible as StripeObject, paymentIntent };
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
    refunds,
    disputes,
    createDispute,
    completeCheckout,
    setCard,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
