import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { creditGrants, creditPurchases, reconciliationDrifts } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { seedPacks } from "@/server/db/seed";
import type { Runtime } from "@/server/runtime";
import { startStripeStandIn, type StripeStandIn } from "@/test/support/stripe-stand-in";
import {
  callerFor,
  drain,
  expectLedgerInvariant,
  makeUser,
  makeWorkspace,
  runCron,
  testRuntime,
} from "@/test/support/runtime";

import { reconcileWithGateway } from "./reconciliation";
import { createStripeClient, StripeGateway } from "./stripe";

/**
 * The reconciliation against Stripe's API (the local stand-in, through the
 * real SDK): a checkout paid at Stripe whose webhook never arrived is found
 * as a missing grant and repaired from Stripe's own payment intent.
 */
const clock = new ManualClock("2027-05-20T03:00:00Z");
let standIn: StripeStandIn;
let runtime: Runtime;
beforeAll(async () => {
  standIn = await startStripeStandIn();
  const gateway = new StripeGateway(
    createStripeClient({ secretKey: "sk_test_standin", apiBase: standIn.url }),
  );
  runtime = await testRuntime({ clock, gateway });
});
afterAll(async () => {
  await runtime.stop();
  await standIn.close();
});

describe("reconciling with Stripe", () => {
  it("finds a paid checkout whose webhook never came, and grants it once on repair", async () => {
    const owner = await makeWorkspace(runtime);
    const { purchaseId } = await (
      await callerFor(runtime, owner.userId)
    ).credits.purchases.start({ workspaceId: owner.workspaceId, packId: seedPacks[0]!.id });
    const [purchase] = await runtime.db
      .select()
      .from(creditPurchases)
      .where(eq(creditPurchases.id, purchaseId));
    const { paymentIntent } = standIn.completeCheckout(purchase!.checkoutSessionId!);
    // Stripe stamps its own time; put the payment an hour before the run.
    paymentIntent.created = Math.floor(clock.now().getTime() / 1000) - 3_600;

    await runCron(runtime, reconcileWithGateway);
    await drain(runtime);
    const [drift] = await runtime.db
      .select()
      .from(reconciliationDrifts)
      .where(eq(reconciliationDrifts.gatewayObjectId, paymentIntent.id));
    expect(drift).toMatchObject({
      kind: "missing_grant",
      workspaceId: owner.workspaceId,
      amountMinor: purchase!.amountMinor,
      currency: purchase!.currency,
    });
    const listed = standIn.requests.find(
      (r) => r.method === "GET" && r.path === "/v1/payment_intents",
    );
    expect(listed?.params.get("created[lt]")).toBe(
      String(Math.floor(clock.now().getTime() / 1000) - 600),
    );

    const admin = await callerFor(runtime, (await makeUser(runtime, { isPlatformAdmin: true })).id);
    expect(await admin.adminReconciliation.repair({ driftId: drift!.id })).toMatchObject({
      status: "repaired",
    });
    await drain(runtime);

    const [paid] = await runtime.db
      .select()
      .from(creditPurchases)
      .where(eq(creditPurchases.id, purchaseId));
    expect(paid).toMatchObject({ status: "paid", paymentIntentId: paymentIntent.id });
    const grants = await runtime.db
      .select()
      .from(creditGrants)
      .where(eq(creditGrants.purchaseId, purchaseId));
    expect(grants).toHaveLength(1);
    await expectLedgerInvariant(runtime, owner.workspaceId);
  });
});
