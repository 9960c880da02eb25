import { randomUUID } from "node:crypto";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { simulatedObjects } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import type { Runtime } from "@/server/runtime";
import { startStripeStandIn, type StripeStandIn } from "@/test/support/stripe-stand-in";
import { testRuntime } from "@/test/support/runtime";

import { SimulatedGateway } from "./simulated";
import { createStripeClient, StripeGateway } from "./stripe";

/** Unix seconds of an ISO time. */
const unix = (iso: string) => Date.parse(iso) / 1000;
const window = { since: new Date("2027-03-01T00:00:00Z"), until: new Date("2027-03-02T00:00:00Z") };

describe("the Stripe gateway's read calls", () => {
  let standIn: StripeStandIn;
  let gateway: StripeGateway;
  let customerId: string;
  beforeAll(async () => {
    standIn = await startStripeStandIn();
    gateway = new StripeGateway(
      createStripeClient({ secretKey: "sk_test_standin", apiBase: standIn.url }),
    );
    customerId = (
      await gateway.createCustomer({ workspaceId: randomUUID(), email: null, name: "R" }, "r")
    ).customerId;
    standIn.setCard(customerId, "succeeds");
  });
  afterAll(() => standIn.close());

  async function paid(amountMinor: number, created: string, metadata = {}) {
    const charge = await gateway.chargeOffSession(
      {
        customerId,
        amountMinor,
        currency: "EUR",
        description: "pack",
        metadata: { purchase_id: randomUUID(), workspace_id: randomUUID(), ...metadata },
      },
      randomUUID(),
    );
    const intent = standIn.paymentIntents.get(charge.paymentIntentId!)!;
    intent.created = unix(created);

    return intent;
  }

  it("retrieves a payment and its charge, with refunds counted on the charge", async () => {
    const intent = await paid(1_250, "2027-03-01T10:00:00Z");
    await gateway.refund({ paymentIntentId: intent.id, amountMinor: 250, metadata: {} }, "re-1");

    const payment = await gateway.retrievePayment(intent.id);
    expect(payment).toEqual({
      paymentIntentId: intent.id,
      chargeId: intent.latest_charge,
      customerId,
      status: "succeeded",
      amountMinor: 1_250,
      amountReceivedMinor: 1_250,
      amountRefundedMinor: 250,
      currency: "EUR",
      metadata: intent.metadata,
      createdAt: new Date("2027-03-01T10:00:00Z"),
    });
    expect(await gateway.retrieveCharge(intent.latest_charge as string)).toEqual(payment);
    expect(await gateway.retrievePayment("pi_unknown")).toBeNull();
    expect(await gateway.retrieveCharge("ch_unknown")).toBeNull();
  });

  it("lists the payments created in [since, until) across pages", async () => {
    const inside = [];
    for (let i = 0; i < 105; i++) {
      inside.push((await paid(100 + i, "2027-03-01T12:00:00Z")).id);
    }
    const atStart = await paid(900, "2027-03-01T00:00:00Z");
    const atEnd = await paid(901, "2027-03-02T00:00:00Z");
    const before = await paid(902, "2027-02-28T23:59:59Z");

    const listed = (await gateway.listPayments(window)).map((p) => p.paymentIntentId);

    expect(listed).toContain(atStart.id);
    expect(listed).not.toContain(atEnd.id);
    expect(listed).not.toContain(before.id);
    expect(listed).toEqual(expect.arrayContaining(inside));
    expect(new Set(listed).size).toBe(listed.length);
    // More than one page of 100 was read.
    const pages = standIn.requests.filter(
      (r) => r.path === "/v1/payment_intents" && r.method === "GET",
    );
    expect(pages.at(-1)?.params.get("starting_after")).toBeTruthy();
    expect(pages.at(-1)?.params.get("created[gte]")).toBe(String(unix("2027-03-01T00:00:00Z")));
    expect(pages.at(-1)?.params.get("created[lt]")).toBe(String(unix("2027-03-02T00:00:00Z")));
  });

  it("lists refunds and disputes of the window, Stripe's fields mapped", async () => {
    const intent = await paid(2_000, "2027-03-01T08:00:00Z");
    const refund = await gateway.refund(
      { paymentIntentId: intent.id, amountMinor: 500, metadata: { reason: "test" } },
      "re-2",
    );
    standIn.refunds.get(refund.refundId)!.created = unix("2027-03-01T09:00:00Z");
    const dispute = standIn.createDispute(intent.id, {
      reason: "fraudulent",
      created: unix("2027-03-01T11:00:00Z"),
    });
    standIn.createDispute(intent.id, { created: unix("2027-03-02T00:00:00Z") });

    expect(await gateway.listRefunds(window)).toContainEqual({
      refundId: refund.refundId,
      paymentIntentId: intent.id,
      chargeId: (standIn.refunds.get(refund.refundId)!.charge as string | undefined) ?? null,
      amountMinor: 500,
      currency: "EUR",
      status: "succeeded",
      metadata: { reason: "test" },
      createdAt: new Date("2027-03-01T09:00:00Z"),
    });
    expect(await gateway.listDisputes(window)).toEqual([
      {
        disputeId: dispute.id,
        chargeId: intent.latest_charge,
        paymentIntentId: intent.id,
        amountMinor: 2_000,
        currency: "EUR",
        status: "needs_response",
        reason: "fraudulent",
        createdAt: new Date("2027-03-01T11:00:00Z"),
      },
    ]);
  });
});

describe("the simulated gateway's read calls", () => {
  let runtime: Runtime;
  let gateway: SimulatedGateway;
  const clock = new ManualClock("2027-03-01T10:00:00Z");
  beforeAll(async () => {
    runtime = await testRuntime({ clock });
    gateway = new SimulatedGateway(runtime.db, { clock });
  });
  afterAll(() => runtime.stop());

  async function store(type: string, data: Record<string, unknown> & { id: string }) {
    await runtime.db.insert(simulatedObjects).values({
      id: data.id,
      type: type as (typeof simulatedObjects.$inferInsert)["type"],
      data,
    });
  }

  it("reads back a stored payment, its charge's refunds and a dispute on it", async () => {
    // Stored as the simulated gateway stores them (server/payments/simulated-reads.ts).
    const metadata = { purchase_id: randomUUID(), workspace_id: randomUUID() };
    const intentId = "pi_simReadsA";
    await store("payment_intent", {
      id: intentId,
      object: "payment_intent",
      amount: 700,
      amount_received: 700,
      amount_refunded: 200,
      currency: "usd",
      customer: "cus_simX",
      metadata,
      status: "succeeded",
      last_payment_error: null,
      latest_charge: "ch_simA",
      created: unix("2027-03-01T10:00:00Z"),
    });
    await store("charge", {
      id: "ch_simA",
      object: "charge",
      payment_intent: intentId,
      amount: 700,
      amount_captured: 700,
      amount_refunded: 200,
      currency: "usd",
      customer: "cus_simX",
      status: "succeeded",
      created: unix("2027-03-01T10:00:00Z"),
    });
    const refund = { refundId: "re_simA" };
    await store("refund", {
      id: refund.refundId,
      object: "refund",
      amount: 200,
      charge: "ch_simA",
      payment_intent: intentId,
      currency: "usd",
      metadata: {},
      status: "succeeded",
      created: unix("2027-03-01T11:00:00Z"),
    });
    await store("dispute", {
      id: "dp_simA",
      object: "dispute",
      charge: "ch_simA",
      payment_intent: intentId,
      amount: 500,
      currency: "usd",
      status: "needs_response",
      reason: "product_not_received",
      created: unix("2027-03-01T12:00:00Z"),
    });

    const payment = await gateway.retrievePayment(intentId);
    expect(payment).toEqual({
      paymentIntentId: intentId,
      chargeId: "ch_simA",
      customerId: "cus_simX",
      status: "succeeded",
      amountMinor: 700,
      amountReceivedMinor: 700,
      amountRefundedMinor: 200,
      currency: "USD",
      metadata,
      createdAt: new Date("2027-03-01T10:00:00Z"),
    });
    expect(await gateway.retrieveCharge("ch_simA")).toEqual(payment);
    expect(await gateway.retrievePayment("pi_simNothing")).toBeNull();
    expect(await gateway.listPayments(window)).toEqual([payment]);
    expect(await gateway.listRefunds(window)).toEqual([
      {
        refundId: refund.refundId,
        paymentIntentId: intentId,
        chargeId: "ch_simA",
        amountMinor: 200,
        currency: "USD",
        status: "succeeded",
        metadata: {},
        createdAt: new Date("2027-03-01T11:00:00Z"),
      },
    ]);
    expect(await gateway.listDisputes(window)).toEqual([
      {
        disputeId: "dp_simA",
        chargeId: "ch_simA",
        paymentIntentId: intentId,
        amountMinor: 500,
        currency: "USD",
        status: "needs_response",
        reason: "product_not_received",
        createdAt: new Date("2027-03-01T12:00:00Z"),
      },
    ]);
  });

  it("leaves out what was created at the window's end or before its start", async () => {
    const until = { since: window.since, until: new Date("2027-03-01T10:00:00Z") };
    expect(await gateway.listPayments(until)).toEqual([]);
    const later = { since: new Date("2027-03-01T10:00:00Z"), until: window.until };
    expect(await gateway.listPayments(later)).toHaveLength(1);
  });
});
