import { randomUUID } from "node:crypto";

import { and, eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  creditGrants,
  creditPurchases,
  outbox,
  payments,
  stripeEvents,
  workspaceMembers,
} from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { seedPacks } from "@/server/db/seed";
import type { WireEvent } from "@/server/events/reactions";
import { redeliverSimulatedEvents } from "@/server/payments/reactions";
import type { SimulatedGateway } from "@/server/payments/simulated";
import { simulatedWebhookSink } from "@/server/payments/simulated-webhooks";
import type { Runtime } from "@/server/runtime";
import { failure } from "@/test/support/failure";
import {
  callerFor,
  countRows,
  drain,
  expectLedgerInvariant,
  makeUser,
  makeWorkspace,
  runCron,
  testRuntime,
} from "@/test/support/runtime";
import {
  deliver,
  eventFrom,
  intentFailed,
  intentSucceeded,
  intentSucceededWithCharge,
  purchaseRef,
  refusalOf,
  sessionCompleted,
  sessionExpired,
  type StripeEventBody,
} from "@/test/support/stripe-events";

import { PURCHASE_PRIORITY } from "./purchases";

const clock = new ManualClock("2027-03-10T09:00:00Z");
const STARTER = seedPacks[0];
let runtime: Runtime;
let gateway: SimulatedGateway;
const touched = new Set<string>();

beforeAll(async () => {
  runtime = await testRuntime({ clock });
  gateway = runtime.gateway as SimulatedGateway;
});
afterEach(async () => {
  for (const workspaceId of touched) await expectLedgerInvariant(runtime, workspaceId);
  touched.clear();
});
afterAll(async () => {
  await runtime.stop();
});

async function owner() {
  const workspace = await makeWorkspace(runtime);
  touched.add(workspace.workspaceId);

  return { ...workspace, caller: await callerFor(runtime, workspace.userId) };
}

async function startedPurchase(packId: string = STARTER.id) {
  const workspace = await owner();
  const started = await workspace.caller.credits.purchases.start({
    workspaceId: workspace.workspaceId,
    packId,
  });

  return { ...workspace, ...started, ref: await purchaseRef(runtime, started.purchaseId) };
}

async function purchaseOf(purchaseId: string) {
  const [row] = await runtime.db
    .select()
    .from(creditPurchases)
    .where(eq(creditPurchases.id, purchaseId));

  return row!;
}

async function purchaseGrants(purchaseId: string) {
  return runtime.db.select().from(creditGrants).where(eq(creditGrants.purchaseId, purchaseId));
}

async function eventsNamed(workspaceId: string, name: string) {
  return runtime.db
    .select()
    .from(outbox)
    .where(and(eq(outbox.workspaceId, workspaceId), eq(outbox.name, name)));
}

/** The purchase was granted exactly once. */
async function expectGrantedOnce(workspaceId: string, purchaseId: string, credits: number) {
  const grants = await purchaseGrants(purchaseId);
  expect(grants).toHaveLength(1);
  expect(grants[0]).toMatchObject({
    source: "purchase",
    amount: credits,
    priority: PURCHASE_PRIORITY,
  });
  const purchased = await eventsNamed(workspaceId, "credits/purchased");
  expect(purchased.filter((row) => row.data.purchaseId === purchaseId)).toHaveLength(1);
  expect(await purchaseOf(purchaseId)).toMatchObject({ status: "paid", grantId: grants[0]!.id });
}

describe("credit packs", () => {
  it("offers the seeded packs to signed-in users", async () => {
    const { caller } = await owner();
    const packs = await caller.credits.packs.list();

    expect(packs.map((pack) => pack.name)).toEqual(expect.arrayContaining(["Starter", "Growth"]));
    expect(packs.find((pack) => pack.id === STARTER.id)).toMatchObject({
      credits: 5_000,
      priceMinor: 900,
      currency: "USD",
    });
  });

  it("lets platform admins create, edit and archive packs; sold purchases keep their copy", async () => {
    const admin = await callerFor(runtime, (await makeUser(runtime, { isPlatformAdmin: true })).id);
    const pack = await admin.credits.packs.create({
      name: "Tiny",
      credits: 300,
      priceMinor: 199,
      currency: "eur",
    });
    expect(pack).toMatchObject({
      credits: 300,
      priceMinor: 199,
      currency: "EUR",
      archivedAt: null,
    });

    const { purchaseId } = await startedPurchase(pack.id);
    await admin.credits.packs.update({
      packId: pack.id,
      name: "Tiny",
      credits: 400,
      priceMinor: 299,
      currency: "EUR",
    });
    expect(await purchaseOf(purchaseId)).toMatchObject({
      credits: 300,
      amountMinor: 199,
      currency: "EUR",
    });

    await admin.credits.packs.archive({ packId: pack.id });
    const { caller, workspaceId } = await owner();
    expect((await caller.credits.packs.list()).map((p) => p.id)).not.toContain(pack.id);
    expect((await admin.credits.packs.all()).find((p) => p.id === pack.id)?.archivedAt).toEqual(
      clock.now(),
    );
    expect(
      await failure(caller.credits.purchases.start({ workspaceId, packId: pack.id })),
    ).toMatchObject({ appCode: "invalid_request", field: "packId" });
  });

  it.each([
    [{ credits: 0 }, "credits"],
    [{ credits: 1.5 }, "credits"],
    [{ priceMinor: 0 }, "priceMinor"],
    [{ currency: "XYZ" }, "currency"],
    [{ currency: "dollars" }, "currency"],
    [{ name: "  " }, "name"],
  ])("refuses a pack with %o, naming the field", async (change, field) => {
    const admin = await callerFor(runtime, (await makeUser(runtime, { isPlatformAdmin: true })).id);
    const pack = { name: "Bad", credits: 100, priceMinor: 100, currency: "USD", ...change };

    expect(await failure(admin.credits.packs.create(pack))).toMatchObject({
      code: "BAD_REQUEST",
      field,
    });
  });

  it("keeps pack management to platform admins", async () => {
    const { caller } = await owner();
    const pack = { name: "Mine", credits: 100, priceMinor: 100, currency: "USD" };

    expect(await failure(caller.credits.packs.create(pack))).toMatchObject({ code: "FORBIDDEN" });
    expect(await failure(caller.credits.packs.all())).toMatchObject({ code: "FORBIDDEN" });
  });
});

describe("buying a pack through the simulated checkout", () => {
  it("starts a pending purchase with the pack's price copied and a checkout page to pay on", async () => {
    const { purchaseId, checkoutUrl, workspaceId } = await startedPurchase();
    const purchase = await purchaseOf(purchaseId);

    expect(purchase).toMatchObject({
      workspaceId,
      status: "pending",
      origin: "checkout",
      gateway: "simulated",
      credits: 5_000,
      amountMinor: 900,
      currency: "USD",
    });
    expect(checkoutUrl).toBe(
      `http://localhost:3000/checkout/simulated/${purchase.checkoutSessionId}`,
    );
    expect(purchase.checkoutSessionId).toMatch(/^cs_sim\w{24}$/);
  });

  it("refuses members below the billing role", async () => {
    const { workspaceId } = await owner();
    const member = await makeUser(runtime);
    await runtime.db
      .insert(workspaceMembers)
      .values({ workspaceId, userId: member.id, role: "member" });
    const caller = await callerFor(runtime, member.id);

    expect(
      await failure(caller.credits.purchases.start({ workspaceId, packId: STARTER.id })),
    ).toMatchObject({ code: "FORBIDDEN" });
  });

  it("grants the credits once the card pays, whatever the customer clicks twice", async () => {
    const { purchaseId, ref, workspaceId, caller } = await startedPurchase();
    const page = await caller.payments.simulatedCheckout.get({ sessionId: ref.checkoutSessionId! });
    expect(page).toMatchObject({
      purchaseId,
      session: { status: "open", amountMinor: 900, currency: "USD" },
      workspace: { slug: expect.any(String) },
    });
    expect(page.session.description).toBe("Starter: 5,000 credits");

    const pay = { sessionId: ref.checkoutSessionId!, card: "4242424242424242" as const };
    const [first, second] = await Promise.all([
      caller.payments.simulatedCheckout.pay(pay),
      caller.payments.simulatedCheckout.pay(pay),
    ]);
    const redirect = `http://localhost:3000/w/${page.workspace.slug}/credits?purchase=${purchaseId}`;
    expect(first).toEqual({ outcome: "paid", redirectUrl: redirect });
    expect(second).toEqual(first);
    await drain(runtime);

    await expectGrantedOnce(workspaceId, purchaseId, 5_000);
    expect((await caller.credits.balance({ workspaceId })).balance).toBe(1_250 + 5_000);
    const purchase = await purchaseOf(purchaseId);
    expect(purchase.paymentIntentId).toMatch(/^pi_sim/);
    const [purchased] = await eventsNamed(workspaceId, "credits/purchased");
    expect(purchased?.data).toMatchObject({
      origin: "checkout",
      paymentId: purchase.paymentIntentId,
    });
    // Both of the gateway's events were stored once each and processed.
    const stored = await runtime.db.select().from(stripeEvents);
    const ours = stored.filter(
      (row) =>
        (row.payload.data as { object: { metadata?: { purchase_id?: string } } }).object.metadata
          ?.purchase_id === purchaseId,
    );
    expect(ours.map((row) => row.type).sort()).toEqual([
      "checkout.session.completed",
      "payment_intent.succeeded",
    ]);
    expect(ours.every((row) => row.processedAt !== null)).toBe(true);
    expect(
      await countRows(
        runtime,
        "notifications",
        `type = 'credits.purchase_receipt' AND workspace_id = '${workspaceId}'`,
      ),
    ).toBe(1);
  });

  it("grants a payment whose webhook was lost in a crash on the gateway's next redelivery", async () => {
    const { purchaseId, ref, workspaceId } = await startedPurchase();
    // The server dies after the gateway committed the payment, before the route took the event.
    const sink = simulatedWebhookSink(runtime);
    gateway.deliverTo(async () => {
      throw new Error("killed");
    });
    try {
      await expect(
        gateway.payCheckoutSession(ref.checkoutSessionId!, "4242424242424242"),
      ).rejects.toThrow("killed");
    } finally {
      gateway.deliverTo(sink);
    }
    await drain(runtime);
    expect((await purchaseOf(purchaseId)).status).toBe("pending");

    // Not yet due: a delivery in flight is not sent twice at once.
    await runCron(runtime, redeliverSimulatedEvents);
    await drain(runtime);
    expect((await purchaseOf(purchaseId)).status).toBe("pending");
    clock.advance(60_000);
    await runCron(runtime, redeliverSimulatedEvents);
    await drain(runtime);

    expect((await purchaseOf(purchaseId)).status).toBe("paid");
    await expectGrantedOnce(workspaceId, purchaseId, 5_000);
    // Delivered events are not sent again.
    clock.advance(60_000);
    expect(await gateway.redeliverPending()).toBe(0);
  });

  it("keeps the checkout open after a declined card, so another card can pay", async () => {
    const { purchaseId, ref, workspaceId, caller } = await startedPurchase();
    const sessionId = ref.checkoutSessionId!;

    expect(
      await caller.payments.simulatedCheckout.pay({ sessionId, card: "4000000000000002" }),
    ).toEqual({ outcome: "declined", message: "Your card was declined." });
    await drain(runtime);
    expect(await purchaseOf(purchaseId)).toMatchObject({
      status: "pending",
      failureReason: "Your card was declined.",
    });
    expect((await caller.payments.simulatedCheckout.get({ sessionId })).session).toMatchObject({
      status: "open",
      declineMessage: "Your card was declined.",
    });

    await caller.payments.simulatedCheckout.pay({ sessionId, card: "4242424242424242" });
    await drain(runtime);
    await expectGrantedOnce(workspaceId, purchaseId, 5_000);
  });

  it("cancels the purchase when the customer gives up, and then refuses to pay", async () => {
    const { purchaseId, ref, caller, slug } = await startedPurchase();
    const sessionId = ref.checkoutSessionId!;

    expect(await caller.payments.simulatedCheckout.cancel({ sessionId })).toEqual({
      redirectUrl: `http://localhost:3000/w/${slug}/credits?purchase=${purchaseId}&checkout=cancelled`,
    });
    await drain(runtime);
    expect((await purchaseOf(purchaseId)).status).toBe("cancelled");
    expect(
      (await caller.payments.simulatedCheckout.pay({ sessionId, card: "4242424242424242" }))
        .outcome,
    ).toBe("expired");
    expect(await purchaseGrants(purchaseId)).toHaveLength(0);
  });

  it("shows a checkout only to billing members of its workspace", async () => {
    const { ref } = await startedPurchase();
    const stranger = await callerFor(runtime, (await makeUser(runtime)).id);

    expect(
      await failure(stranger.payments.simulatedCheckout.get({ sessionId: ref.checkoutSessionId! })),
    ).toMatchObject({ code: "NOT_FOUND" });
    expect(
      await failure(
        stranger.payments.simulatedCheckout.pay({
          sessionId: ref.checkoutSessionId!,
          card: "4242424242424242",
        }),
      ),
    ).toMatchObject({ code: "NOT_FOUND" });
  });

  it("lists the workspace's purchases with what each can refund", async () => {
    const { purchaseId, ref, workspaceId, caller } = await startedPurchase();
    await gateway.payCheckoutSession(ref.checkoutSessionId!, "4242424242424242");
    await drain(runtime);

    const [listed] = await caller.credits.purchases.list({ workspaceId });
    expect(listed).toMatchObject({
      id: purchaseId,
      packName: "Starter",
      status: "paid",
      refundableCredits: 5_000,
      refundableMinor: 900,
      refunds: [],
    });
    expect(await caller.credits.purchases.get({ workspaceId, purchaseId })).toEqual(listed);
  });
});

describe("completing a purchase from the gateway's webhook events", () => {
  const process = (event: StripeEventBody): WireEvent => ({
    id: randomUUID(),
    name: "payments/webhook-received",
    version: 1,
    workspaceId: null,
    streamSeq: 0,
    object: { type: "stripe_event", id: event.id },
    occurredAt: clock.now().toISOString(),
    causationId: null,
    data: { stripeEventId: event.id, type: event.type },
  });

  it.each([
    ["the session first", ["session", "intent"]],
    ["the payment intent first", ["intent", "session"]],
  ])("grants once with %s", async (_, order) => {
    const { purchaseId, ref, workspaceId } = await startedPurchase();
    const intentId = `pi_test_${randomUUID().slice(0, 8)}`;
    const events = {
      session: sessionCompleted(ref, intentId),
      intent: intentSucceeded(ref, intentId),
    } as Record<string, StripeEventBody>;

    for (const name of order) {
      expect((await deliver(runtime, events[name]!)).status).toBe(200);
      await drain(runtime);
    }
    await expectGrantedOnce(workspaceId, purchaseId, 5_000);
    expect((await purchaseOf(purchaseId)).paymentIntentId).toBe(intentId);
  });

  it("grants once when each event arrives twice, as a duplicate and under a new event id", async () => {
    const { purchaseId, ref, workspaceId } = await startedPurchase();
    const intentId = `pi_test_${randomUUID().slice(0, 8)}`;
    const session = sessionCompleted(ref, intentId);
    const intent = intentSucceeded(ref, intentId);

    expect((await deliver(runtime, session)).body).toMatchObject({ duplicate: false });
    expect((await deliver(runtime, session)).body).toMatchObject({ duplicate: true });
    await deliver(runtime, intent);
    await drain(runtime);
    await deliver(runtime, { ...intent, id: `${intent.id}_resent` });
    await deliver(runtime, { ...session, id: `${session.id}_resent` });
    await drain(runtime);

    await expectGrantedOnce(workspaceId, purchaseId, 5_000);
  });

  it("grants once when both events are processed at the same moment, twice over", async () => {
    const { purchaseId, ref, workspaceId } = await startedPurchase();
    const intentId = `pi_test_${randomUUID().slice(0, 8)}`;
    const session = sessionCompleted(ref, intentId);
    const intent = intentSucceeded(ref, intentId);
    await deliver(runtime, session);
    await deliver(runtime, intent);

    const outcomes = await Promise.all(
      [session, intent, session, intent].map((event) =>
        runtime.runReaction("payments-process-webhook", process(event)),
      ),
    );
    expect(outcomes).toEqual(["handled", "handled", "handled", "handled"]);
    await drain(runtime);

    await expectGrantedOnce(workspaceId, purchaseId, 5_000);
  });

  async function paymentRows(purchaseId: string) {
    return runtime.db.select().from(payments).where(eq(payments.purchaseId, purchaseId));
  }

  it("grants once and records one payment when the intent succeeds before the checkout completes", async () => {
    const { purchaseId, ref, workspaceId } = await startedPurchase();
    const intentId = `pi_test_${randomUUID().slice(0, 8)}`;
    const chargeId = `ch_test_${randomUUID().slice(0, 8)}`;
    const intent = intentSucceededWithCharge(ref, intentId, chargeId);
    const session = sessionCompleted(ref, intentId);

    await deliver(runtime, intent);
    await drain(runtime);
    await deliver(runtime, session);
    await deliver(runtime, { ...intent, id: `${intent.id}_resent` });
    await drain(runtime);
    await deliver(runtime, { ...session, id: `${session.id}_resent` });
    await drain(runtime);

    await expectGrantedOnce(workspaceId, purchaseId, 5_000);
    const rows = await paymentRows(purchaseId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      kind: "purchase",
      idempotencyKey: `purchase:${purchaseId}`,
      trigger: "checkout",
      gateway: "simulated",
      paymentIntentId: intentId,
      chargeId,
      status: "succeeded",
      amountMinor: ref.amountMinor,
      currency: ref.currency,
      amountRefundedMinor: 0,
    });
    expect(rows[0]!.settledAt).toEqual(clock.now());
  });

  it("learns the charge from a later event when the checkout completed first", async () => {
    const { purchaseId, ref } = await startedPurchase();
    const intentId = `pi_test_${randomUUID().slice(0, 8)}`;
    await deliver(runtime, sessionCompleted(ref, intentId));
    await drain(runtime);
    expect((await paymentRows(purchaseId))[0]).toMatchObject({ chargeId: null });

    await deliver(runtime, intentSucceededWithCharge(ref, intentId, "ch_test_learnt_later"));
    await drain(runtime);
    const rows = await paymentRows(purchaseId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ chargeId: "ch_test_learnt_later", status: "succeeded" });
  });

  it("records no payment for a declined checkout card, which may still pay with another", async () => {
    const { purchaseId, ref } = await startedPurchase();
    await deliver(runtime, intentFailed(ref, `pi_test_${randomUUID().slice(0, 8)}`));
    await drain(runtime);

    expect(await paymentRows(purchaseId)).toHaveLength(0);
  });

  it("does not grant a payment of another amount; the event stays unprocessed for a retry", async () => {
    const { purchaseId, ref } = await startedPurchase();
    const event = intentSucceeded(ref, `pi_test_${randomUUID().slice(0, 8)}`, 100);
    await deliver(runtime, event);
    await drain(runtime);

    expect((await purchaseOf(purchaseId)).status).toBe("pending");
    expect(await purchaseGrants(purchaseId)).toHaveLength(0);
    const [stored] = await runtime.db
      .select()
      .from(stripeEvents)
      .where(eq(stripeEvents.id, event.id));
    expect(stored?.processedAt).toBeNull();
  });

  /** Delivers an event and says why it was refused (null when it was processed). */
  async function refusal(body: StripeEventBody) {
    expect((await deliver(runtime, body)).status).toBe(200);
    await drain(runtime);

    return refusalOf(runtime, body.id);
  }

  async function expectNothingGranted(purchaseId: string) {
    expect((await purchaseOf(purchaseId)).status).toBe("pending");
    expect(await purchaseGrants(purchaseId)).toHaveLength(0);
    expect(await paymentRows(purchaseId)).toHaveLength(0);
  }

  it.each([
    ["no amount", { amount_total: null }, /no amount/],
    ["no currency", { currency: null }, /in no currency/],
    ["another amount", { amount_total: 1 }, /it says 1 usd/],
    ["another currency", { currency: "jpy" }, /jpy; the purchase costs/],
    ["another checkout session", { id: "cs_test_forged" }, /checkout session cs_test_forged/],
  ])("refuses a completed checkout with %s", async (_, change, reason) => {
    const { purchaseId, ref } = await startedPurchase();
    const body = sessionCompleted(ref, `pi_test_${randomUUID().slice(0, 8)}`);
    Object.assign(body.data.object, change);

    expect(await refusal(body)).toMatch(reason);
    await expectNothingGranted(purchaseId);
  });

  it.each(["session", "intent"])("refuses a paid %s naming another workspace", async (kind) => {
    const { purchaseId, ref } = await startedPurchase();
    const other = await owner();
    const intentId = `pi_test_${randomUUID().slice(0, 8)}`;
    const body =
      kind === "session" ? sessionCompleted(ref, intentId) : intentSucceeded(ref, intentId);
    (body.data.object.metadata as Record<string, unknown>).workspace_id = other.workspaceId;

    expect(await refusal(body)).toMatch(/names workspace/);
    await expectNothingGranted(purchaseId);
  });

  it("grants nothing again when a second payment intent pays a paid purchase", async () => {
    const { purchaseId, ref, workspaceId } = await startedPurchase();
    const first = `pi_test_${randomUUID().slice(0, 8)}`;
    expect(await refusal(sessionCompleted(ref, first))).toBeNull();
    expect(await refusal(intentSucceeded(ref, first))).toBeNull();

    const second = `pi_test_${randomUUID().slice(0, 8)}`;
    expect(await refusal(intentSucceeded(ref, second))).toBeNull();
    await expectGrantedOnce(workspaceId, purchaseId, 5_000);
    expect((await purchaseOf(purchaseId)).paymentIntentId).toBe(first);
    expect(await paymentRows(purchaseId)).toMatchObject([{ paymentIntentId: first }]);
  });

  it("cancels on an expired session, and still grants a payment that arrives after", async () => {
    const { purchaseId, ref, workspaceId } = await startedPurchase();
    await deliver(runtime, sessionExpired(ref));
    await drain(runtime);
    expect((await purchaseOf(purchaseId)).status).toBe("cancelled");

    await deliver(runtime, intentSucceeded(ref, `pi_test_${randomUUID().slice(0, 8)}`));
    await drain(runtime);
    await expectGrantedOnce(workspaceId, purchaseId, 5_000);
  });

  it("retries an event that names a purchase it cannot find yet", async () => {
    const ref = {
      id: randomUUID(),
      workspaceId: randomUUID(),
      checkoutSessionId: null,
      amountMinor: 900,
      currency: "USD",
    };
    const event = intentSucceeded(ref, `pi_test_${randomUUID().slice(0, 8)}`);
    await deliver(runtime, event);
    await drain(runtime);

    const [stored] = await runtime.db
      .select()
      .from(stripeEvents)
      .where(eq(stripeEvents.id, event.id));
    expect(stored?.processedAt).toBeNull();
  });

  it("acknowledges payments that are not Tally purchases and changes nothing", async () => {
    const foreign = eventFrom("payment_intent.succeeded", { object: { id: "pi_someone_else" } });
    const before = await countRows(runtime, "credit_grants");
    expect((await deliver(runtime, foreign)).status).toBe(200);
    await drain(runtime);

    const [stored] = await runtime.db
      .select()
      .from(stripeEvents)
      .where(eq(stripeEvents.id, foreign.id));
    expect(stored?.processedAt).not.toBeNull();
    expect(await countRows(runtime, "credit_grants")).toBe(before);
  });
});
