import { randomUUID } from "node:crypto";

import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { simulatedObjects, stripeEvents } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import type { Runtime } from "@/server/runtime";
import { countRows, testRuntime } from "@/test/support/runtime";

import type { OffSessionCharge } from "./gateway";
import { isSimulatedGateway, type SimulatedEvent, type SimulatedGateway } from "./simulated";
import { simulatedWebhookSink } from "./simulated-webhooks";

const clock = new ManualClock("2027-04-01T10:00:00Z");
let runtime: Runtime;
let gateway: SimulatedGateway;
/** Every event the gateway handed to the webhook route, in order. */
let delivered: SimulatedEvent[];

beforeAll(async () => {
  runtime = await testRuntime({ clock });
  if (!isSimulatedGateway(runtime.gateway)) throw new Error("Not the simulated gateway");
  gateway = runtime.gateway;
});
beforeEach(() => {
  delivered = [];
  const route = simulatedWebhookSink(runtime);
  gateway.deliverTo(async (event) => {
    delivered.push(event);
    await route(event);
  });
});
afterAll(async () => {
  await runtime.stop();
});

const unix = (date: Date) => Math.floor(date.getTime() / 1000);

/** The object an event reports. */
const objectOf = (event: SimulatedEvent | undefined) =>
  (event?.data as { object: Record<string, unknown> }).object;

async function customer() {
  const { customerId } = await gateway.createCustomer(
    { workspaceId: randomUUID(), email: null, name: "C" },
    `customer:${randomUUID()}`,
  );

  return customerId;
}

async function paymentSession(customerId: string, purchaseId = randomUUID()) {
  return gateway.createCheckoutSession(
    {
      purchaseId,
      workspaceId: randomUUID(),
      customerId,
      description: "Starter: 5,000 credits",
      amountMinor: 900,
      currency: "USD",
      successUrl: "http://localhost:3000/ok",
      cancelUrl: "http://localhost:3000/no",
    },
    `checkout:${purchaseId}`,
  );
}

async function setupSession(
  customerId: string,
  workspaceId: string = randomUUID(),
  key: string = randomUUID(),
) {
  return gateway.createSetupSession(
    {
      workspaceId,
      customerId,
      successUrl: "http://localhost:3000/billing?card=saved",
      cancelUrl: "http://localhost:3000/billing",
    },
    key,
  );
}

function chargeOff(customerId: string, key = randomUUID()): Promise<OffSessionCharge> {
  return gateway.chargeOffSession(
    {
      customerId,
      amountMinor: 2_500,
      currency: "EUR",
      description: "Invoice",
      metadata: { invoice_id: "i", payment_id: key, workspace_id: "w" },
    },
    `invoice:${key}`,
  );
}

async function stored(id: string) {
  const [row] = await runtime.db
    .select({ type: simulatedObjects.type, data: simulatedObjects.data })
    .from(simulatedObjects)
    .where(eq(simulatedObjects.id, id));

  return row;
}

/** The events of `type` the webhook route stored, about the object with this id. */
async function routed(type: string, objectId: string) {
  return runtime.db
    .select()
    .from(stripeEvents)
    .where(
      and(
        eq(stripeEvents.type, type),
        sql`${stripeEvents.payload}->'data'->'object'->>'id' = ${objectId}`,
      ),
    );
}

const CARDS = {
  succeeds: "4242424242424242",
  declined: "4000000000000002",
  insufficient: "4000000000009995",
  laterDeclines: "4000000000000341",
} as const;

describe("the simulated gateway's test cards, at checkout and off session", () => {
  it.each([
    [CARDS.succeeds, "paid", null],
    [CARDS.declined, "declined", ["generic_decline", "Your card was declined."]],
    [CARDS.insufficient, "declined", ["insufficient_funds", "Your card has insufficient funds."]],
    [CARDS.laterDeclines, "paid", null],
  ] as const)("%s in payment mode: %s", async (card, outcome, decline) => {
    const customerId = await customer();
    const { sessionId } = await paymentSession(customerId);
    const result = await gateway.payCheckoutSession(sessionId, card);

    expect(result?.outcome).toBe(outcome);
    const session = await gateway.checkoutSession(sessionId);
    const intentId = (await gateway.retrieveCheckoutSession(sessionId))!.paymentIntentId!;
    const intent = (await stored(intentId))!.data;
    if (decline) {
      const [code, message] = decline;
      expect(result).toMatchObject({ message });
      expect(session).toMatchObject({ status: "open", declineMessage: message });
      expect(intent).toMatchObject({
        status: "requires_payment_method",
        latest_charge: null,
        last_payment_error: { code: "card_declined", decline_code: code, message },
      });
      expect(delivered.map((event) => event.type)).toEqual(["payment_intent.payment_failed"]);
      expect(await gateway.defaultPaymentMethod(customerId)).toBeNull();
      return;
    }
    expect(session).toMatchObject({ status: "complete", paymentStatus: "paid" });
    expect(intent).toMatchObject({ status: "succeeded", latest_charge: expect.any(String) });
    const charge = (await stored(intent.latest_charge as string))!;
    expect(charge.type).toBe("charge");
    expect(charge.data).toMatchObject({
      id: expect.stringMatching(/^ch_sim/),
      payment_intent: intentId,
      amount: 900,
      amount_refunded: 0,
      refunded: false,
      currency: "usd",
      customer: customerId,
      metadata: { purchase_id: expect.any(String) },
      created: unix(clock.now()),
    });
    expect(delivered.map((event) => event.type)).toEqual([
      "checkout.session.completed",
      "payment_intent.succeeded",
    ]);
    expect(await gateway.defaultPaymentMethod(customerId)).toEqual({
      ref: expect.stringMatching(/^pm_sim/),
      label: `Visa ending ${card.slice(-4)}`,
    });
  });

  it.each([
    [CARDS.succeeds, null],
    [CARDS.declined, "generic_decline"],
    [CARDS.insufficient, "insufficient_funds"],
    [CARDS.laterDeclines, "generic_decline"],
  ] as const)("%s off session: %s", async (card, failureCode) => {
    const customerId = await customer();
    await gateway.saveCard(customerId, card);
    const charge = await chargeOff(customerId);

    if (failureCode === null) {
      expect(charge).toEqual({
        paymentIntentId: expect.stringMatching(/^pi_sim/),
        chargeId: expect.stringMatching(/^ch_sim/),
        status: "succeeded",
      });
      expect(delivered.map((event) => event.type)).toEqual(["payment_intent.succeeded"]);
      return;
    }
    expect(charge).toEqual({
      paymentIntentId: expect.stringMatching(/^pi_sim/),
      status: "failed",
      failureReason:
        failureCode === "insufficient_funds"
          ? "Your card has insufficient funds."
          : "Your card was declined.",
      failureCode,
    });
    expect(delivered.map((event) => event.type)).toEqual(["payment_intent.payment_failed"]);
  });

  it("pays a checkout with 0341 and then declines the saved card's off-session charges", async () => {
    const customerId = await customer();
    const { sessionId } = await paymentSession(customerId);
    expect((await gateway.payCheckoutSession(sessionId, CARDS.laterDeclines))?.outcome).toBe(
      "paid",
    );

    expect(await chargeOff(customerId)).toMatchObject({
      status: "failed",
      failureCode: "generic_decline",
    });
  });

  it("fails an off-session charge with no saved card, and stores nothing for it", async () => {
    const customerId = await customer();
    const key = randomUUID();

    expect(await chargeOff(customerId, key)).toEqual({
      paymentIntentId: null,
      status: "failed",
      failureReason: expect.stringMatching(/^No saved card to charge/),
      failureCode: "no_payment_method",
    });
    expect(
      await countRows(runtime, "simulated_objects", `idempotency_key = 'invoice:${key}'`),
    ).toBe(0);
    expect(delivered).toEqual([]);
  });
});

describe("the simulated gateway's setup sessions", () => {
  it("shows a decline and stays open, then saves the card as the default and reports it", async () => {
    const customerId = await customer();
    const workspaceId = randomUUID();
    const key = `payment-method:${workspaceId}`;
    const { sessionId, url } = await setupSession(customerId, workspaceId, key);
    expect((await setupSession(customerId, workspaceId, key)).sessionId).toBe(sessionId);
    expect(url).toMatch(new RegExp(`/checkout/simulated/${sessionId}$`));
    expect(await gateway.checkoutSession(sessionId)).toMatchObject({
      mode: "setup",
      status: "open",
      paymentStatus: "no_payment_required",
      amountMinor: null,
      metadata: { workspace_id: workspaceId, purpose: "payment_method" },
    });

    for (const [card, message] of [
      [CARDS.declined, "Your card was declined."],
      [CARDS.insufficient, "Your card has insufficient funds."],
    ] as const) {
      expect(await gateway.payCheckoutSession(sessionId, card)).toMatchObject({
        outcome: "declined",
        message,
        session: { status: "open", declineMessage: message },
      });
    }
    expect(delivered.map((event) => event.type)).toEqual([
      "setup_intent.setup_failed",
      "setup_intent.setup_failed",
    ]);
    expect(new Set(delivered.map((event) => event.id)).size).toBe(2);
    expect(await gateway.defaultPaymentMethod(customerId)).toBeNull();

    delivered = [];
    expect(await gateway.payCheckoutSession(sessionId, CARDS.succeeds)).toMatchObject({
      outcome: "saved",
      session: { status: "complete", successUrl: "http://localhost:3000/billing?card=saved" },
    });
    const saved = await gateway.defaultPaymentMethod(customerId);
    expect(saved).toEqual({ ref: expect.stringMatching(/^pm_sim/), label: "Visa ending 4242" });
    const read = await gateway.retrieveCheckoutSession(sessionId);
    expect(read).toEqual({
      id: sessionId,
      mode: "setup",
      status: "complete",
      paymentStatus: "no_payment_required",
      customerId,
      paymentIntentId: null,
      setupPaymentMethod: saved,
      metadata: { workspace_id: workspaceId, purpose: "payment_method" },
    });

    expect(delivered.map((event) => event.type)).toEqual([
      "checkout.session.completed",
      "setup_intent.succeeded",
    ]);
    const completed = delivered[0]!;
    expect(completed).toMatchObject({
      object: "event",
      api_version: expect.any(String),
      created: unix(clock.now()),
      data: {
        object: {
          id: sessionId,
          object: "checkout.session",
          mode: "setup",
          status: "complete",
          setup_intent: expect.stringMatching(/^seti_sim/),
          metadata: { workspace_id: workspaceId, purpose: "payment_method" },
        },
      },
    });
    // Signed and taken by the webhook route like any other event.
    expect(await routed("checkout.session.completed", sessionId)).toHaveLength(1);
    expect((await stored(read!.setupPaymentMethod!.ref))?.type).toBe("payment_method");

    // Submitting again changes nothing and sends the same events, which the route finds stored.
    const again = await gateway.payCheckoutSession(sessionId, CARDS.insufficient);
    expect(again?.outcome).toBe("saved");
    expect(delivered.slice(2).map((event) => event.id)).toEqual(
      delivered.slice(0, 2).map((event) => event.id),
    );
    expect(await routed("checkout.session.completed", sessionId)).toHaveLength(1);
    expect(await gateway.defaultPaymentMethod(customerId)).toEqual(saved);
  });

  it("saves 0341, whose later charges decline, and a new default replaces it", async () => {
    const customerId = await customer();
    const first = await setupSession(customerId);
    await gateway.payCheckoutSession(first.sessionId, CARDS.laterDeclines);
    const declining = await gateway.defaultPaymentMethod(customerId);
    expect(declining?.label).toBe("Visa ending 0341");
    expect(await chargeOff(customerId)).toMatchObject({ status: "failed" });

    // A purchase paid with another card saves it, but the chosen default still pays invoices.
    const { sessionId } = await paymentSession(customerId);
    await gateway.payCheckoutSession(sessionId, CARDS.succeeds);
    expect(await gateway.defaultPaymentMethod(customerId)).toEqual(declining);

    const second = await setupSession(customerId);
    await gateway.payCheckoutSession(second.sessionId, CARDS.succeeds);
    const good = await gateway.defaultPaymentMethod(customerId);
    expect(good?.label).toBe("Visa ending 4242");
    expect(await chargeOff(customerId)).toMatchObject({ status: "succeeded" });

    await gateway.setDefaultPaymentMethod(customerId, declining!.ref);
    expect(await gateway.defaultPaymentMethod(customerId)).toEqual(declining);
    await expect(gateway.setDefaultPaymentMethod(customerId, "pm_simunknown")).rejects.toThrow(
      /No payment method/,
    );
    await expect(gateway.setDefaultPaymentMethod(await customer(), good!.ref)).rejects.toThrow(
      /No payment method/,
    );
  });
});

describe("the simulated gateway's refunds", () => {
  async function paidIntent() {
    const customerId = await customer();
    await gateway.saveCard(customerId, CARDS.succeeds);
    const charge = await chargeOff(customerId);
    if (charge.status !== "succeeded") throw new Error("the charge failed");
    delivered = [];

    return charge;
  }

  it("updates the charge and delivers charge.refunded once per refund", async () => {
    const { paymentIntentId, chargeId } = await paidIntent();
    const refund = await gateway.refund(
      { paymentIntentId, amountMinor: 1_000, metadata: { refund_id: "a" } },
      "refund:a",
    );
    expect(refund).toEqual({ refundId: expect.stringMatching(/^re_sim/), status: "succeeded" });
    expect(
      await gateway.refund(
        { paymentIntentId, amountMinor: 1_000, metadata: { refund_id: "a" } },
        "refund:a",
      ),
    ).toEqual(refund);

    expect(delivered.map((event) => event.type)).toEqual(["charge.refunded"]);
    expect(objectOf(delivered[0])).toEqual(
      expect.objectContaining({
        id: chargeId,
        object: "charge",
        payment_intent: paymentIntentId,
        amount: 2_500,
        amount_refunded: 1_000,
        refunded: false,
        refunds: expect.objectContaining({
          data: [expect.objectContaining({ id: refund.refundId, amount: 1_000, charge: chargeId })],
        }),
      }),
    );

    const rest = await gateway.refund(
      { paymentIntentId, amountMinor: 1_500, metadata: {} },
      "refund:b",
    );
    const second = objectOf(delivered[1]);
    expect(second).toMatchObject({ amount_refunded: 2_500, refunded: true });
    expect((second.refunds as { data: { id: string }[] }).data.map((r) => r.id)).toEqual([
      rest.refundId,
      refund.refundId,
    ]);
    expect(await routed("charge.refunded", chargeId!)).toHaveLength(2);
    await expect(
      gateway.refund({ paymentIntentId, amountMinor: 1, metadata: {} }, "refund:c"),
    ).rejects.toThrow(/exceeds the 0 left/);
  });

  it("redelivers a charge.refunded whose delivery was lost, and only once", async () => {
    const { paymentIntentId, chargeId } = await paidIntent();
    const key = `refund:${randomUUID()}`;
    gateway.deliverTo(async () => {
      throw new Error("killed");
    });
    await expect(
      gateway.refund({ paymentIntentId, amountMinor: 500, metadata: {} }, key),
    ).rejects.toThrow("killed");
    beforeEachSink();
    expect(await routed("charge.refunded", chargeId!)).toHaveLength(0);

    // The refund itself happened: asking again with its key answers with it.
    const refund = await gateway.refund({ paymentIntentId, amountMinor: 500, metadata: {} }, key);
    expect((await stored(refund.refundId))?.data).toMatchObject({ amount: 500 });
    expect(delivered).toEqual([]);

    expect(await gateway.redeliverPending()).toBe(0); // not yet due
    clock.advance(60_000);
    expect(await gateway.redeliverPending()).toBeGreaterThanOrEqual(1);
    expect(delivered.filter((event) => event.type === "charge.refunded")).toHaveLength(1);
    expect(await routed("charge.refunded", chargeId!)).toHaveLength(1);
    clock.advance(60_000);
    expect(await gateway.redeliverPending()).toBe(0);
  });
});

/** Connects the recording sink again after a test swapped it out. */
function beforeEachSink() {
  const route = simulatedWebhookSink(runtime);
  gateway.deliverTo(async (event) => {
    delivered.push(event);
    await route(event);
  });
}

describe("the simulated gateway's disputes", () => {
  /** A checkout paid with 4242…; returns its payment intent's id. */
  async function paidCheckout(customerId: string) {
    const { sessionId } = await paymentSession(customerId);
    await gateway.payCheckoutSession(sessionId, CARDS.succeeds);

    return (await gateway.retrieveCheckoutSession(sessionId))!.paymentIntentId!;
  }

  it("opens a dispute on a payment's charge and closes it won or lost, each with its event", async () => {
    const customerId = await customer();
    const paymentIntentId = await paidCheckout(customerId);
    const chargeId = (await stored(paymentIntentId))!.data.latest_charge as string;
    delivered = [];

    const dispute = await gateway.openDispute(paymentIntentId);
    expect(dispute).toEqual({
      disputeId: expect.stringMatching(/^dp_sim/),
      chargeId,
      paymentIntentId,
      amountMinor: 900,
      currency: "USD",
      status: "needs_response",
      reason: "fraudulent",
      createdAt: new Date(unix(clock.now()) * 1000),
    });
    expect(await gateway.openDispute(chargeId)).toEqual(dispute);
    expect(delivered.map((event) => event.type)).toEqual(["charge.dispute.created"]);
    expect(objectOf(delivered[0])).toMatchObject({
      id: dispute.disputeId,
      object: "dispute",
      charge: chargeId,
      payment_intent: paymentIntentId,
      status: "needs_response",
    });
    expect((await stored(chargeId))?.data).toMatchObject({ disputed: true });

    expect(await gateway.closeDispute(dispute.disputeId, "lost")).toMatchObject({
      status: "lost",
    });
    expect(await gateway.closeDispute(dispute.disputeId, "lost")).toMatchObject({
      status: "lost",
    });
    await expect(gateway.closeDispute(dispute.disputeId, "won")).rejects.toThrow(/already lost/);
    expect(delivered.map((event) => event.type)).toEqual([
      "charge.dispute.created",
      "charge.dispute.closed",
    ]);
    expect(objectOf(delivered[1])).toMatchObject({ id: dispute.disputeId, status: "lost" });
    expect(await routed("charge.dispute.closed", dispute.disputeId)).toHaveLength(1);

    const other = await gateway.openDispute(await paidCheckout(customerId), "product_not_received");
    expect(other.reason).toBe("product_not_received");
    expect((await gateway.closeDispute(other.disputeId, "won")).status).toBe("won");
    await expect(gateway.openDispute("ch_simunknown")).rejects.toThrow(/No succeeded charge/);
  });
});

describe("the simulated gateway's idempotency keys and clock", () => {
  it("answers a repeated key with the same object, and refuses a key reused for another kind", async () => {
    const customerId = await customer();
    await gateway.saveCard(customerId, CARDS.succeeds);
    const key = randomUUID();
    const [first, second] = await Promise.all([
      chargeOff(customerId, key),
      chargeOff(customerId, key),
    ]);
    expect(second).toEqual(first);
    expect(
      await countRows(runtime, "simulated_objects", `idempotency_key = 'invoice:${key}'`),
    ).toBe(1);
    expect(
      await countRows(
        runtime,
        "simulated_objects",
        `type = 'charge' AND data->>'payment_intent' = '${first.paymentIntentId}'`,
      ),
    ).toBe(1);

    const purchaseId = randomUUID();
    const session = await paymentSession(customerId, purchaseId);
    expect(await paymentSession(customerId, purchaseId)).toEqual(session);
    await expect(
      gateway.refund(
        { paymentIntentId: first.paymentIntentId!, amountMinor: 1, metadata: {} },
        `checkout:${purchaseId}`,
      ),
    ).rejects.toThrow(/was used for a checkout.session/);
  });

  it("dates what it creates by the platform's clock, which time travel moves", async () => {
    const customerId = await customer();
    await gateway.saveCard(customerId, CARDS.succeeds);
    clock.advance(3 * 24 * 60 * 60 * 1000);
    const now = unix(clock.now());
    const { sessionId } = await setupSession(customerId);
    const charge = await chargeOff(customerId);

    expect((await stored(sessionId))?.data.created).toBe(now);
    expect((await stored(charge.paymentIntentId!))?.data.created).toBe(now);
    if (charge.status !== "succeeded") throw new Error("the charge failed");
    expect((await stored(charge.chargeId!))?.data.created).toBe(now);
    expect(delivered.at(-1)?.created).toBe(now);
  });
});
