import { randomUUID } from "node:crypto";

import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { billingCustomers, creditGrants, creditPurchases } from "@/drizzle/schema";
import { seedPacks } from "@/server/db/seed";
import type { Runtime } from "@/server/runtime";
import { deliver, eventFrom, purchaseRef } from "@/test/support/stripe-events";
import { startStripeStandIn, type StripeStandIn } from "@/test/support/stripe-stand-in";
import {
  callerFor,
  drain,
  expectLedgerInvariant,
  makeWorkspace,
  testRuntime,
} from "@/test/support/runtime";

import { createStripeClient, STRIPE_API_VERSION, StripeGateway } from "./stripe";
import { freeWithEveryFeature } from "@/test/support/tiers";

let standIn: StripeStandIn;
let runtime: Runtime;
beforeAll(async () => {
  standIn = await startStripeStandIn();
  const gateway = new StripeGateway(
    createStripeClient({ secretKey: "sk_test_standin", apiBase: standIn.url }),
  );
  runtime = await testRuntime({ gateway });
});
afterAll(async () => {
  await runtime.stop();
  await standIn.close();
});

describe("the Stripe gateway", () => {
  it("creates the customer with the pinned API version and an idempotency key", async () => {
    const { workspaceId } = await makeWorkspace(runtime);
    const [customer] = await runtime.db
      .select()
      .from(billingCustomers)
      .where(eq(billingCustomers.workspaceId, workspaceId));

    expect(customer).toMatchObject({
      gateway: "stripe",
      customerId: expect.stringMatching(/^cus_/),
    });
    const request = standIn.requests.find(
      (r) => r.params.get("metadata[workspace_id]") === workspaceId,
    );
    expect(request?.path).toBe("/v1/customers");
    expect(request?.headers["stripe-version"]).toBe(STRIPE_API_VERSION);
    expect(request?.headers.authorization).toBe("Bearer sk_test_standin");
    expect(request?.headers["idempotency-key"]).toBe(`tally:customer:${workspaceId}`);
  });

  it("gets the same customer back when a retried reaction repeats the call", async () => {
    const gateway = new StripeGateway(
      createStripeClient({ secretKey: "sk_test_standin", apiBase: standIn.url }),
    );
    const input = {
      workspaceId: "8f1a6f5e-7d43-4d36-9a55-2f0d2c6a9b11",
      email: "a@example.com",
      name: "A",
    };
    const first = await gateway.createCustomer(input, "tally:customer:retry");
    const second = await gateway.createCustomer(input, "tally:customer:retry");

    expect(second.customerId).toBe(first.customerId);
    expect(standIn.customers.size).toBeGreaterThan(0);
    await drain(runtime);
  });
});

describe("the Stripe gateway's payments", () => {
  let gateway: StripeGateway;
  beforeAll(() => {
    gateway = new StripeGateway(
      createStripeClient({ secretKey: "sk_test_standin", apiBase: standIn.url }),
    );
  });

  async function customer() {
    return (
      await gateway.createCustomer(
        { workspaceId: randomUUID(), email: null, name: "C" },
        randomUUID(),
      )
    ).customerId;
  }

  const checkout = (purchaseId: string, customerId: string) => ({
    purchaseId,
    workspaceId: "8f1a6f5e-7d43-4d36-9a55-2f0d2c6a9b11",
    customerId,
    description: "Starter: 5,000 credits",
    amountMinor: 900,
    currency: "USD",
    successUrl: "http://localhost:3000/w/acme/credits?purchase=p",
    cancelUrl: "http://localhost:3000/w/acme/credits?purchase=p&checkout=cancelled",
  });

  it("opens a Checkout Session in payment mode that names the purchase and saves the card", async () => {
    const purchaseId = randomUUID();
    const customerId = await customer();
    const session = await gateway.createCheckoutSession(
      checkout(purchaseId, customerId),
      `checkout:${purchaseId}`,
    );
    const again = await gateway.createCheckoutSession(
      checkout(purchaseId, customerId),
      `checkout:${purchaseId}`,
    );

    expect(session.url).toMatch(/^https:\/\/checkout\.stripe\.com\//);
    expect(again).toEqual(session);
    const request = standIn.requests.find(
      (r) =>
        r.path === "/v1/checkout/sessions" && r.params.get("client_reference_id") === purchaseId,
    );
    expect(request?.headers["idempotency-key"]).toBe(`checkout:${purchaseId}`);
    expect(request?.headers["stripe-version"]).toBe(STRIPE_API_VERSION);
    expect(Object.fromEntries(request!.params)).toMatchObject({
      mode: "payment",
      customer: customerId,
      "metadata[purchase_id]": purchaseId,
      "payment_intent_data[metadata][purchase_id]": purchaseId,
      "payment_intent_data[setup_future_usage]": "off_session",
      "line_items[0][price_data][currency]": "usd",
      "line_items[0][price_data][unit_amount]": "900",
      "line_items[0][quantity]": "1",
      "adaptive_pricing[enabled]": "false",
    });
  });

  it("charges the saved card off session, and reports a decline as a failed charge", async () => {
    const customerId = await customer();
    const charge = (key: string) =>
      gateway.chargeOffSession(
        {
          customerId,
          amountMinor: 900,
          currency: "USD",
          description: "Auto top-up",
          metadata: { purchase_id: key, workspace_id: "w" },
        },
        `top-up:${key}`,
      );

    expect(await charge("no-card")).toMatchObject({
      status: "failed",
      paymentIntentId: null,
      failureReason: expect.stringMatching(/No saved card/),
    });

    standIn.setCard(customerId, "succeeds");
    const paid = await charge("first");
    expect(paid).toEqual({
      paymentIntentId: expect.stringMatching(/^pi_/),
      chargeId: expect.stringMatching(/^ch_/),
      status: "succeeded",
    });
    expect(await charge("first")).toEqual(paid);
    const request = standIn.requests.find(
      (r) => r.path === "/v1/payment_intents" && r.headers["idempotency-key"] === "top-up:first",
    );
    expect(Object.fromEntries(request!.params)).toMatchObject({
      amount: "900",
      currency: "usd",
      customer: customerId,
      off_session: "true",
      confirm: "true",
      "metadata[purchase_id]": "first",
    });

    standIn.setCard(customerId, "declines");
    expect(await charge("second")).toEqual({
      paymentIntentId: expect.stringMatching(/^pi_/),
      status: "failed",
      failureReason: "Your card was declined.",
      failureCode: expect.any(String),
    });
  });

  it("refunds part of a payment once per key, and throws when more is asked than is left", async () => {
    const customerId = await customer();
    standIn.setCard(customerId, "succeeds");
    const charge = await gateway.chargeOffSession(
      {
        customerId,
        amountMinor: 900,
        currency: "USD",
        description: "x",
        metadata: { purchase_id: "r", workspace_id: "w" },
      },
      `top-up:${randomUUID()}`,
    );
    const paymentIntentId = charge.paymentIntentId!;

    const refund = await gateway.refund(
      { paymentIntentId, amountMinor: 600, metadata: {} },
      "refund:a",
    );
    expect(refund).toEqual({ refundId: expect.stringMatching(/^re_/), status: "succeeded" });
    expect(
      await gateway.refund({ paymentIntentId, amountMinor: 600, metadata: {} }, "refund:a"),
    ).toEqual(refund);
    await expect(
      gateway.refund({ paymentIntentId, amountMinor: 600, metadata: {} }, "refund:b"),
    ).rejects.toThrow(/greater than unrefunded amount/);
  });
});

describe("the Stripe gateway's saved cards", () => {
  let gateway: StripeGateway;
  beforeAll(() => {
    gateway = new StripeGateway(
      createStripeClient({ secretKey: "sk_test_standin", apiBase: standIn.url }),
    );
  });

  async function customer() {
    return (
      await gateway.createCustomer(
        { workspaceId: randomUUID(), email: null, name: "C" },
        randomUUID(),
      )
    ).customerId;
  }

  const setup = (customerId: string, workspaceId = randomUUID()) => ({
    workspaceId,
    customerId,
    successUrl: "http://localhost:3000/w/acme/billing?card=saved",
    cancelUrl: "http://localhost:3000/w/acme/billing",
  });

  const charge = (customerId: string, key = randomUUID()) =>
    gateway.chargeOffSession(
      {
        customerId,
        amountMinor: 2_900,
        currency: "EUR",
        description: "Invoice",
        metadata: { invoice_id: "i", payment_id: key, workspace_id: "w" },
      },
      `invoice:${key}`,
    );

  it("opens a setup session for cards that names the workspace, and reads back the card it saved", async () => {
    const customerId = await customer();
    const workspaceId = randomUUID();
    const key = `payment-method:${workspaceId}:1`;
    const session = await gateway.createSetupSession(setup(customerId, workspaceId), key);
    expect(await gateway.createSetupSession(setup(customerId, workspaceId), key)).toEqual(session);
    expect(session.url).toMatch(/^https:\/\/checkout\.stripe\.com\//);

    const request = standIn.requests.find(
      (r) => r.path === "/v1/checkout/sessions" && r.headers["idempotency-key"] === key,
    );
    expect(request?.headers["stripe-version"]).toBe(STRIPE_API_VERSION);
    expect(Object.fromEntries(request!.params)).toEqual({
      mode: "setup",
      customer: customerId,
      "allowed_payment_method_types[0]": "card",
      "metadata[workspace_id]": workspaceId,
      "metadata[purpose]": "payment_method",
      "setup_intent_data[metadata][workspace_id]": workspaceId,
      "setup_intent_data[metadata][purpose]": "payment_method",
      success_url: "http://localhost:3000/w/acme/billing?card=saved",
      cancel_url: "http://localhost:3000/w/acme/billing",
    });

    expect(await gateway.retrieveCheckoutSession(session.sessionId)).toEqual({
      id: session.sessionId,
      mode: "setup",
      status: "open",
      paymentStatus: "no_payment_required",
      customerId,
      paymentIntentId: null,
      setupPaymentMethod: null,
      metadata: { workspace_id: workspaceId, purpose: "payment_method" },
    });

    const { paymentMethod } = standIn.completeSetup(session.sessionId);
    expect(await gateway.retrieveCheckoutSession(session.sessionId)).toMatchObject({
      status: "complete",
      setupPaymentMethod: { ref: paymentMethod.id, label: "Visa ending 4242" },
    });
    const read = standIn.requests.findLast((r) => r.path.endsWith(session.sessionId));
    expect(read?.params.getAll("expand[0]")).toEqual(["setup_intent.payment_method"]);
    expect(await gateway.retrieveCheckoutSession("cs_test_unknown")).toBeNull();
  });

  it("reads a paid payment session's payment intent", async () => {
    const customerId = await customer();
    const purchaseId = randomUUID();
    const session = await gateway.createCheckoutSession(
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
    const { paymentIntent } = standIn.completeCheckout(session.sessionId);

    expect(await gateway.retrieveCheckoutSession(session.sessionId)).toMatchObject({
      mode: "payment",
      status: "complete",
      paymentStatus: "paid",
      paymentIntentId: paymentIntent.id,
      setupPaymentMethod: null,
      metadata: { purchase_id: purchaseId },
    });
  });

  it("charges the default card, else the newest, and reports insufficient funds by its decline code", async () => {
    const customerId = await customer();
    expect(await gateway.defaultPaymentMethod(customerId)).toBeNull();
    expect(await charge(customerId)).toEqual({
      paymentIntentId: null,
      status: "failed",
      failureReason: expect.stringMatching(/^No saved card to charge/),
      failureCode: "no_payment_method",
    });

    const first = await gateway.createSetupSession(setup(customerId), randomUUID());
    const good = standIn.completeSetup(first.sessionId).paymentMethod;
    const second = await gateway.createSetupSession(setup(customerId), randomUUID());
    const poor = standIn.completeSetup(second.sessionId, "insufficient_funds").paymentMethod;

    // No default yet: the newest card, as Stripe lists them.
    expect(await gateway.defaultPaymentMethod(customerId)).toEqual({
      ref: poor.id,
      label: "Visa ending 9995",
    });
    expect(await charge(customerId)).toEqual({
      paymentIntentId: expect.stringMatching(/^pi_/),
      status: "failed",
      failureReason: "Your card has insufficient funds.",
      failureCode: "insufficient_funds",
    });

    await gateway.setDefaultPaymentMethod(customerId, good.id);
    expect(standIn.customers.get(customerId)?.invoice_settings).toEqual({
      default_payment_method: good.id,
    });
    expect(await gateway.defaultPaymentMethod(customerId)).toEqual({
      ref: good.id,
      label: "Visa ending 4242",
    });
    const paid = await charge(customerId);
    expect(paid).toEqual({
      paymentIntentId: expect.stringMatching(/^pi_/),
      chargeId: expect.stringMatching(/^ch_/),
      status: "succeeded",
    });
    if (paid.status !== "succeeded") throw new Error("the default card did not pay");
    expect(standIn.paymentIntents.get(paid.paymentIntentId)).toMatchObject({
      payment_method: good.id,
      latest_charge: paid.chargeId,
    });
    // Read back through the SDK, as the gateway's read calls do.
    const stripe = createStripeClient({ secretKey: "sk_test_standin", apiBase: standIn.url });
    expect(await stripe.charges.retrieve(paid.chargeId!)).toMatchObject({
      payment_intent: paid.paymentIntentId,
      amount: 2_900,
      currency: "eur",
      metadata: { invoice_id: "i" },
    });
    expect(await stripe.paymentIntents.retrieve(paid.paymentIntentId)).toMatchObject({
      status: "succeeded",
      latest_charge: paid.chargeId,
    });

    await expect(gateway.setDefaultPaymentMethod(customerId, "pm_not_theirs")).rejects.toThrow(
      /not attached/,
    );
  });
});

describe("buying credits in Stripe mode", () => {
  it("completes a purchase from Stripe's own objects, whichever webhook comes first", async () => {
    // It turns on auto top-up, a tier feature that Free lacks.
    const { workspaceId, userId } = await makeWorkspace(runtime, {
      tierCode: (await freeWithEveryFeature(runtime)).code,
    });
    const caller = await callerFor(runtime, userId);
    const { purchaseId, checkoutUrl } = await caller.credits.purchases.start({
      workspaceId,
      packId: seedPacks[0].id,
    });
    expect(checkoutUrl).toMatch(/^https:\/\/checkout\.stripe\.com\/c\/pay\/cs_test_/);
    const ref = await purchaseRef(runtime, purchaseId);

    const { session, paymentIntent } = standIn.completeCheckout(ref.checkoutSessionId!);
    await deliver(runtime, eventFrom("payment_intent.succeeded", { object: paymentIntent }));
    await deliver(runtime, eventFrom("checkout.session.completed", { object: session }));
    await drain(runtime);

    const grants = await runtime.db
      .select()
      .from(creditGrants)
      .where(eq(creditGrants.purchaseId, purchaseId));
    expect(grants).toHaveLength(1);
    expect(await purchaseRef(runtime, purchaseId)).toMatchObject({
      status: "paid",
      paymentIntentId: paymentIntent.id,
    });
    expect((await caller.credits.balance({ workspaceId })).balance).toBe(1_250 + 5_000);
    await expectLedgerInvariant(runtime, workspaceId);

    // The card saved at checkout pays a later auto top-up off session.
    await caller.credits.autoTopUp.set({
      workspaceId,
      enabled: true,
      packId: seedPacks[0].id,
      thresholdCredits: 7_000,
      monthlyLimit: 2,
    });
    await drain(runtime);
    const [topUp] = await runtime.db
      .select()
      .from(creditPurchases)
      .where(
        and(
          eq(creditPurchases.workspaceId, workspaceId),
          eq(creditPurchases.origin, "auto_top_up"),
        ),
      );
    expect(topUp).toMatchObject({ status: "paid", gateway: "stripe" });
    expect(standIn.paymentIntents.get(topUp!.paymentIntentId!)).toMatchObject({
      status: "succeeded",
      metadata: { purchase_id: topUp!.id, workspace_id: workspaceId },
    });

    // And a refund goes back to the payment it came from.
    await caller.credits.purchases.refund({
      workspaceId,
      purchaseId,
      credits: 2_500,
      reason: "Half",
    });
    await drain(runtime);
    const refund = [...standIn.refunds.values()].find((r) => r.payment_intent === paymentIntent.id);
    expect(refund).toMatchObject({ amount: 450, status: "succeeded" });
    await expectLedgerInvariant(runtime, workspaceId);
  });
});
