import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { outbox, simulatedObjects, subscriptions } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import { seedPacks } from "@/server/db/seed";
import type { Runtime } from "@/server/runtime";
import { saveCardOnPage } from "@/test/support/billing";
import { failure } from "@/test/support/failure";
import { issueTestInvoice } from "@/test/support/invoices";
import { buyPaidPack, gatewayCustomerOf, simulatedGatewayOf } from "@/test/support/purchases";
import { callerFor, drain, makeWorkspace, testRuntime } from "@/test/support/runtime";

import { voidInvoice } from "./admin";

const clock = new ManualClock("2027-03-01T09:00:00Z");
let runtime: Runtime;

beforeAll(async () => {
  runtime = await testRuntime({ clock, env: { TALLY_TAX_RATES: "" } });
});
afterAll(async () => {
  await runtime.stop();
});

async function cardOf(workspaceId: string) {
  const [row] = await runtime.db
    .select({ ref: subscriptions.paymentMethodRef, label: subscriptions.paymentMethodLabel })
    .from(subscriptions)
    .where(eq(subscriptions.workspaceId, workspaceId));

  return row;
}

async function cardUpdates(workspaceId: string) {
  return runtime.db
    .select()
    .from(outbox)
    .where(
      and(eq(outbox.name, "billing/payment-method-updated"), eq(outbox.workspaceId, workspaceId)),
    );
}

describe("saving a card", () => {
  it("opens a setup page that returns to the billing page, and records the card it saves once", async () => {
    const workspace = await makeWorkspace(runtime);
    const caller = await callerFor(runtime, workspace.userId);
    const { url } = await caller.billing.startCardSetup({ workspaceId: workspace.workspaceId });
    const sessionId = /cs_[A-Za-z0-9]+/.exec(url)![0];
    const session = await simulatedGatewayOf(runtime).checkoutSession(sessionId);
    expect(session?.successUrl).toMatch(new RegExp(`/w/${workspace.slug}/billing\\?card=saved$`));
    // Each click opens a page of its own.
    const second = await caller.billing.startCardSetup({ workspaceId: workspace.workspaceId });
    expect(second.url).not.toBe(url);

    await simulatedGatewayOf(runtime).payCheckoutSession(sessionId, "4242424242424242");
    await drain(runtime);
    const card = await cardOf(workspace.workspaceId);
    expect(card?.label).toBe("Visa ending 4242");
    expect(card?.ref).toMatch(/^pm_/);
    const customerId = await gatewayCustomerOf(runtime, workspace.workspaceId);
    expect(await runtime.gateway.defaultPaymentMethod(customerId)).toEqual(card);

    // The page's webhook arrives again: nothing new.
    await simulatedGatewayOf(runtime).payCheckoutSession(sessionId, "4242424242424242");
    await drain(runtime);
    expect(await cardUpdates(workspace.workspaceId)).toHaveLength(1);
  });

  it("replaces the card with the next one saved", async () => {
    const workspace = await makeWorkspace(runtime);
    await saveCardOnPage(runtime, workspace, "4242424242424242");
    await saveCardOnPage(runtime, workspace, "4000000000000341");
    expect((await cardOf(workspace.workspaceId))?.label).toBe("Visa ending 0341");
    expect(await cardUpdates(workspace.workspaceId)).toHaveLength(2);
  });

  it("takes up the card a credit pack's checkout saved when none is saved, and only then", async () => {
    const workspace = await makeWorkspace(runtime);
    await buyPaidPack(runtime, workspace, seedPacks[0]!.id);
    expect((await cardOf(workspace.workspaceId))?.label).toBe("Visa ending 4242");
    expect(await cardUpdates(workspace.workspaceId)).toHaveLength(1);

    await saveCardOnPage(runtime, workspace, "4000000000000341");
    await buyPaidPack(runtime, workspace, seedPacks[0]!.id);
    expect((await cardOf(workspace.workspaceId))?.label).toBe("Visa ending 0341");
    expect(await cardUpdates(workspace.workspaceId)).toHaveLength(2);
  });
});

describe("paying an invoice now", () => {
  it("refuses another workspace's invoice, and one no longer open", async () => {
    const workspace = await makeWorkspace(runtime);
    const other = await makeWorkspace(runtime);
    await saveCardOnPage(runtime, workspace, "4000000000000341");
    const invoice = await issueTestInvoice(runtime, workspace.workspaceId);
    await drain(runtime);
    const caller = await callerFor(runtime, workspace.userId);
    const otherCaller = await callerFor(runtime, other.userId);

    const elsewhere = await failure(
      otherCaller.billing.payInvoice({ workspaceId: other.workspaceId, invoiceId: invoice.id }),
    );
    expect(elsewhere).toMatchObject({ code: "NOT_FOUND" });

    await execute(
      runtime,
      voidInvoice,
      { invoiceId: invoice.id, reason: "issued in error" },
      { actor: { type: "system", reason: "test" } },
    );
    const voided = await failure(
      caller.billing.payInvoice({ workspaceId: workspace.workspaceId, invoiceId: invoice.id }),
    );
    expect(voided).toMatchObject({ code: "CONFLICT" });
    expect(voided.message).toBe(`${invoice.number} is void`);
    expect(
      await runtime.db
        .select()
        .from(simulatedObjects)
        .where(eq(simulatedObjects.idempotencyKey, `invoice:${invoice.id}:2`)),
    ).toHaveLength(0);
  });
});
