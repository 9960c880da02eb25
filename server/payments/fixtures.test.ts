import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

import { eq, inArray } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  creditGrants,
  creditPurchases,
  deadLetters,
  disputes,
  invoices,
  paymentRefunds,
  payments,
  stripeEvents,
} from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { seedPacks } from "@/server/db/seed";
import type { GatewayPayment } from "@/server/payments/gateway";
import type { Runtime } from "@/server/runtime";
import {
  callerFor,
  countRows,
  drain,
  expectLedgerInvariant,
  makeWorkspace,
  testRuntime,
} from "@/test/support/runtime";
import {
  deliver,
  eventFrom,
  fixtures,
  purchaseRef,
  type Fixture,
  type PurchaseRef,
  type StripeEventBody,
} from "@/test/support/stripe-events";
import { freeWithEveryFeature } from "@/test/support/tiers";

/**
 * Every captured Stripe event in test/fixtures/stripe, re-addressed to one
 * test purchase (its session, payment intent, charge, a refund made at the
 * gateway and a dispute), delivered through the signed webhook route once in
 * order, then twice each (the second under a new event id) in shuffled
 * orders. Whatever the order, the end state is the same. The current-API
 * fixtures name nothing of Tally's: each must parse and be acknowledged.
 *
 * The gateway's read calls answer for the test's own charge, as the gateway
 * would: events that arrive before the payment they name are converged from
 * what it reports.
 */

const clock = new ManualClock("2027-07-01T09:00:00Z");
const STARTER = seedPacks[0]; // 5,000 credits for $9.00
let runtime: Runtime;
let originalReads: Pick<Runtime["gateway"], "retrieveCharge" | "retrievePayment">;
/** What the gateway knows about the charges the scenarios made, by charge and intent id. */
const known = new Map<string, GatewayPayment>();

beforeAll(async () => {
  runtime = await testRuntime({ clock });
  const gateway = runtime.gateway;
  originalReads = {
    retrieveCharge: gateway.retrieveCharge.bind(gateway),
    retrievePayment: gateway.retrievePayment.bind(gateway),
  };
  gateway.retrieveCharge = async (id) => known.get(id) ?? null;
  gateway.retrievePayment = async (id) => known.get(id) ?? null;
});
afterAll(async () => {
  Object.assign(runtime.gateway, originalReads);
  await runtime.stop();
});
afterEach(async () => {
  expect(await countRows(runtime, "dead_letters")).toBe(0);
});

/** A small deterministic generator (mulberry32), so a failing order can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const next = random(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }

  return out;
}

interface Scenario {
  tag: string;
  workspaceId: string;
  purchase: PurchaseRef;
  intentId: string;
  chargeId: string;
  refundId: string;
  disputeId: string;
}

async function scenario(): Promise<Scenario> {
  const workspace = await makeWorkspace(runtime, {
    tierCode: (await freeWithEveryFeature(runtime)).code,
  });
  const caller = await callerFor(runtime, workspace.userId);
  const { purchaseId } = await caller.credits.purchases.start({
    workspaceId: workspace.workspaceId,
    packId: STARTER.id,
  });
  const tag = randomUUID().replaceAll("-", "").slice(0, 12);
  const s: Scenario = {
    tag,
    workspaceId: workspace.workspaceId,
    purchase: await purchaseRef(runtime, purchaseId),
    intentId: `pi_fx_${tag}`,
    chargeId: `ch_fx_${tag}`,
    refundId: `re_fx_${tag}`,
    disputeId: `dp_fx_${tag}`,
  };
  const reported: GatewayPayment = {
    paymentIntentId: s.intentId,
    chargeId: s.chargeId,
    customerId: null,
    status: "succeeded",
    amountMinor: s.purchase.amountMinor,
    amountReceivedMinor: s.purchase.amountMinor,
    amountRefundedMinor: 0,
    currency: s.purchase.currency,
    metadata: { purchase_id: purchaseId, workspace_id: workspace.workspaceId },
    createdAt: clock.now(),
  };
  known.set(s.chargeId, reported);
  known.set(s.intentId, reported);

  return s;
}

/** One fixture, re-addressed to the scenario's objects. */
function readdressed(name: Fixture, s: Scenario): StripeEventBody {
  const metadata = { purchase_id: s.purchase.id, workspace_id: s.workspaceId };
  const amount = s.purchase.amountMinor;
  const currency = s.purchase.currency.toLowerCase();
  switch (name) {
    case "checkout.session.completed":
      return eventFrom(name, {
        object: {
          id: s.purchase.checkoutSessionId,
          client_reference_id: s.purchase.id,
          metadata,
          payment_intent: s.intentId,
          amount_subtotal: amount,
          amount_total: amount,
          currency,
        },
      });
    case "payment_intent.succeeded":
    case "payment_intent.payment_failed":
      return eventFrom(name, {
        object: {
          id: s.intentId,
          metadata,
          amount,
          amount_received: name === "payment_intent.succeeded" ? amount : 0,
          currency,
          latest_charge: name === "payment_intent.succeeded" ? s.chargeId : null,
        },
      });
    case "charge.refunded": {
      const half = amount / 2;
      return eventFrom(name, {
        object: {
          id: s.chargeId,
          amount,
          amount_captured: amount,
          amount_refunded: half,
          refunded: false,
          currency,
          payment_intent: s.intentId,
          refunds: {
            object: "list",
            data: [
              {
                id: s.refundId,
                object: "refund",
                amount: half,
                charge: s.chargeId,
                currency,
                metadata: {},
                payment_intent: s.intentId,
                status: "succeeded",
              },
            ],
            has_more: false,
            total_count: 1,
          },
        },
      });
    }
    case "charge.dispute.created":
      return eventFrom(name, {
        object: { id: s.disputeId, charge: s.chargeId, amount, currency },
      });
    default:
      // Stripe Billing's invoices and subscriptions: Tally bills itself and uses neither.
      return eventFrom(name, { object: {} });
  }
}

/** Delivers, drains, and lets retried events run until every one is processed. */
async function deliverAll(events: StripeEventBody[]): Promise<void> {
  for (const event of events) expect((await deliver(runtime, event)).status).toBe(200);
  const ids = events.map((event) => event.id);
  for (let round = 0; round < 10; round++) {
    await drain(runtime);
    const open = await runtime.db
      .select({ id: stripeEvents.id, processedAt: stripeEvents.processedAt })
      .from(stripeEvents)
      .where(inArray(stripeEvents.id, ids));
    if (open.every((row) => row.processedAt !== null)) return;
    clock.advance(60 * 60 * 1000);
  }
}

/** The scenario's end state, with its own ids replaced so scenarios compare. */
async function endState(s: Scenario) {
  const [purchase] = await runtime.db
    .select()
    .from(creditPurchases)
    .where(eq(creditPurchases.id, s.purchase.id));
  const paymentRows = await runtime.db
    .select()
    .from(payments)
    .where(eq(payments.purchaseId, s.purchase.id));
  const paymentIds = paymentRows.map((row) => row.id);
  const refundRows = paymentIds.length
    ? await runtime.db
        .select()
        .from(paymentRefunds)
        .where(inArray(paymentRefunds.paymentId, paymentIds))
    : [];
  const disputeRows = await runtime.db
    .select()
    .from(disputes)
    .where(eq(disputes.workspaceId, s.workspaceId));
  const invoiceRows = await runtime.db
    .select()
    .from(invoices)
    .where(eq(invoices.workspaceId, s.workspaceId));
  const grants = await runtime.db
    .select()
    .from(creditGrants)
    .where(eq(creditGrants.purchaseId, s.purchase.id));
  const ledger = await expectLedgerInvariant(runtime, s.workspaceId);
  const clawedBack = disputeRows.reduce((sum, row) => sum + row.clawedBackCredits, 0);

  const state = {
    purchase: {
      status: purchase?.status,
      paymentIntentId: purchase?.paymentIntentId,
      refundedMinor: purchase?.refundedMinor,
      grants: grants.length,
    },
    payments: paymentRows.map((row) => ({
      kind: row.kind,
      trigger: row.trigger,
      status: row.status,
      paymentIntentId: row.paymentIntentId,
      chargeId: row.chargeId,
      amountMinor: row.amountMinor,
      amountRefundedMinor: row.amountRefundedMinor,
    })),
    refunds: refundRows.map((row) => ({
      origin: row.origin,
      gatewayRefundId: row.gatewayRefundId,
      amountMinor: row.amountMinor,
      status: row.status,
    })),
    disputes: disputeRows.map((row) => ({
      gatewayDisputeId: row.gatewayDisputeId,
      gatewayStatus: row.gatewayStatus,
      outcome: row.outcome,
      amountMinor: row.amountMinor,
    })),
    // Which of the refund and the dispute takes which credits depends on which came first; what
    // they take together does not.
    creditsTakenBack: clawedBack + (purchase?.refundedCredits ?? 0),
    balance: ledger.balance,
    invoices: invoiceRows.map((row) => ({
      kind: row.kind,
      status: row.status,
      totalMinor: row.totalMinor,
      amountRefundedMinor: row.amountRefundedMinor,
    })),
  };

  return JSON.parse(
    JSON.stringify(state).replaceAll(s.tag, "<tag>").replaceAll(s.purchase.id, "<purchase>"),
  ) as typeof state;
}

describe("the captured Stripe events, in any order", () => {
  let reference: Awaited<ReturnType<typeof endState>>;

  it("reach the expected state delivered once, in order", async () => {
    const s = await scenario();
    await deliverAll(fixtures.map((name) => readdressed(name, s)));

    reference = await endState(s);
    expect(reference).toEqual({
      purchase: { status: "paid", paymentIntentId: "pi_fx_<tag>", refundedMinor: 450, grants: 1 },
      payments: [
        {
          kind: "purchase",
          trigger: "checkout",
          status: "succeeded",
          paymentIntentId: "pi_fx_<tag>",
          chargeId: "ch_fx_<tag>",
          amountMinor: 900,
          amountRefundedMinor: 450,
        },
      ],
      refunds: [
        {
          origin: "gateway",
          gatewayRefundId: "re_fx_<tag>",
          amountMinor: 450,
          status: "succeeded",
        },
      ],
      disputes: [
        {
          gatewayDisputeId: "dp_fx_<tag>",
          gatewayStatus: "warning_needs_response",
          outcome: "open",
          amountMinor: 900,
        },
      ],
      creditsTakenBack: 5_000,
      // The allowance and the bonus; every purchased credit was refunded or clawed back.
      balance: 1_250,
      invoices: [{ kind: "purchase", status: "paid", totalMinor: 900, amountRefundedMinor: 450 }],
    });
    expect(await countRows(runtime, "stripe_events", "processed_at IS NULL")).toBe(0);
  });

  for (const seed of [1, 7, 42, 2027, 31337]) {
    it(`reach the same state delivered twice each, shuffled (seed ${seed})`, async () => {
      const s = await scenario();
      const events = fixtures.flatMap((name) => {
        const event = readdressed(name, s);
        return [event, { ...event, id: `${event.id}_again` }];
      });
      await deliverAll(shuffled(events, seed));

      expect(await endState(s)).toEqual(reference);
      expect(await countRows(runtime, "stripe_events", "processed_at IS NULL")).toBe(0);
    });
  }
});

describe("the current API's event shapes", () => {
  const folder = path.resolve("test/fixtures/stripe/current-api");

  for (const file of readdirSync(folder).filter((name) => name.endsWith(".json"))) {
    it(`acknowledges ${file}, which names nothing of Tally's`, async () => {
      const event = JSON.parse(readFileSync(path.join(folder, file), "utf8")) as StripeEventBody;
      const resent = { ...event, id: `${event.id}_${randomUUID().slice(0, 8)}` };
      const grantsBefore = await countRows(runtime, "credit_grants");

      expect((await deliver(runtime, resent)).status).toBe(200);
      await drain(runtime);

      const [stored] = await runtime.db
        .select()
        .from(stripeEvents)
        .where(eq(stripeEvents.id, resent.id));
      expect(stored?.processedAt).not.toBeNull();
      expect(await runtime.db.select().from(deadLetters)).toEqual([]);
      expect(await countRows(runtime, "credit_grants")).toBe(grantsBefore);
    });
  }
});
