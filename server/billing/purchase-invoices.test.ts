import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { emailMessages, invoiceLines, invoices } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { seedPacks } from "@/server/db/seed";
import type { EventEnvelope } from "@/server/events/catalogue";
import type { Runtime } from "@/server/runtime";
import { buyPaidPack } from "@/test/support/purchases";
import { drain, makeWorkspace, testRuntime } from "@/test/support/runtime";
import { eventsNamed } from "@/test/support/tiers";

import { issuePurchaseInvoice } from "./purchase-invoices";

const clock = new ManualClock("2027-03-10T09:30:00Z");
const [STARTER, GROWTH] = seedPacks;
let runtime: Runtime;

beforeAll(async () => {
  // 20% on USD, so the invoice has tax to show inside the price paid.
  runtime = await testRuntime({ clock, env: { TALLY_TAX_RATES: "USD=20" } });
});
afterAll(async () => {
  await runtime.stop();
});

async function invoicesOf(workspaceId: string) {
  return runtime.db.select().from(invoices).where(eq(invoices.workspaceId, workspaceId));
}

describe("credit pack purchase invoices", () => {
  it("issues one paid invoice per purchase: the amount paid, tax inside", async () => {
    const workspace = await makeWorkspace(runtime);
    const purchase = await buyPaidPack(runtime, workspace, GROWTH!.id);

    const [invoice, ...more] = await invoicesOf(workspace.workspaceId);
    expect(more).toHaveLength(0);
    // 3,900 with 20% inside: tax 3,900 × 20/120 = 650, the rest 3,250.
    expect(invoice).toMatchObject({
      kind: "purchase",
      status: "paid",
      number: "INV-2027-000001",
      purchaseId: purchase.id,
      currency: "USD",
      subtotalMinor: 3_250,
      taxRateBps: 2_000,
      taxMinor: 650,
      totalMinor: 3_900,
      amountDueMinor: 3_900,
      amountPaidMinor: 3_900,
      paidAt: purchase.paidAt,
    });
    expect(invoice!.totalMinor).toBe(purchase.amountMinor);
    expect(
      await runtime.db.select().from(invoiceLines).where(eq(invoiceLines.invoiceId, invoice!.id)),
    ).toMatchObject([
      {
        position: 1,
        kind: "purchase",
        description: "Growth: 25,000 credits",
        quantity: 1,
        unitAmountMinor: 3_900,
        amountMinor: 3_900,
        rounding: "exact: whole units at a whole price",
      },
    ]);
    // Paid already: nothing is asked of the payment collection.
    expect(
      (await eventsNamed(runtime, workspace.workspaceId, "billing/invoice-generated")).map(
        (row) => row.data,
      ),
    ).toEqual([expect.objectContaining({ invoiceId: invoice!.id, kind: "purchase" })]);
    expect(
      await eventsNamed(runtime, workspace.workspaceId, "billing/payment-requested"),
    ).toHaveLength(0);
  });

  it("sends one email for a purchase: the receipt, with the invoice attached", async () => {
    const workspace = await makeWorkspace(runtime);
    await buyPaidPack(runtime, workspace, STARTER!.id);
    await drain(runtime);

    const [invoice] = await invoicesOf(workspace.workspaceId);
    const emails = await runtime.db
      .select()
      .from(emailMessages)
      .where(eq(emailMessages.workspaceId, workspace.workspaceId));
    const types = emails.map((email) => email.type);
    expect(types).toContain("credits.purchase_receipt");
    expect(types).not.toContain("billing.invoice_issued");
    const receipt = emails.find((email) => email.type === "credits.purchase_receipt");
    expect(receipt?.attachments).toEqual([
      expect.objectContaining({
        filename: `${invoice!.number}.pdf`,
        contentType: "application/pdf",
      }),
    ]);
  });

  it("issues nothing more when the purchase event is delivered again", async () => {
    const workspace = await makeWorkspace(runtime);
    const purchase = await buyPaidPack(runtime, workspace, STARTER!.id);
    const [row] = await eventsNamed(runtime, workspace.workspaceId, "credits/purchased");
    const delivered: EventEnvelope<"credits/purchased"> = {
      id: row!.id,
      name: "credits/purchased",
      version: row!.version,
      workspaceId: workspace.workspaceId,
      streamSeq: row!.streamSeq,
      object: { type: "credit_purchase", id: purchase.id },
      occurredAt: row!.occurredAt,
      causationId: row!.causationId,
      data: row!.data as EventEnvelope<"credits/purchased">["data"],
    };

    const again = await runtime.db.transaction((tx) =>
      issuePurchaseInvoice({
        tx,
        event: delivered,
        deps: runtime.executeDeps,
        log: runtime.logger,
      }),
    );
    await drain(runtime);

    expect(again).toEqual([]);
    const [invoice, ...more] = await invoicesOf(workspace.workspaceId);
    expect(more).toHaveLength(0);
    expect(invoice).toMatchObject({ purchaseId: purchase.id, totalMinor: 900, taxMinor: 150 });
    expect(invoice!.number).toMatch(/^INV-2027-\d{6}$/);
  });
});
