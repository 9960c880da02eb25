import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { invoices, workspaceMembers } from "@/drizzle/schema";
import type { WorkspaceRole } from "@/server/auth/roles";
import { ManualClock } from "@/server/clock";
import type { Runtime } from "@/server/runtime";
import { draftTestInvoice, issueTestInvoice, sampleLines } from "@/test/support/invoices";
import { pdfText } from "@/test/support/pdf-text";
import { makeUser, makeWorkspace, testRuntime } from "@/test/support/runtime";

import { amountRemainingMinor, percentOfBps, totalRows } from "./invoice-view";
import { printableInvoice, renderInvoicePdf } from "./pdf";
import { invoicePdfResponse } from "./pdf-route";

const clock = new ManualClock("2027-01-05T09:00:00Z");
let runtime: Runtime;

beforeAll(async () => {
  runtime = await testRuntime({
    clock,
    env: {
      TALLY_TAX_RATES: "EUR=20,USD=7.25",
      TALLY_SELLER_NAME: "Tally Labs GmbH",
      TALLY_SELLER_ADDRESS: "Invalidenstraße 1|10115 Berlin",
      TALLY_SELLER_TAX_ID: "DE123456789",
      TALLY_INVOICE_DUE_DAYS: "14",
    },
  });
});
afterAll(async () => {
  await runtime.stop();
});

async function member(workspaceId: string, role: WorkspaceRole) {
  const user = await makeUser(runtime);
  await runtime.db.insert(workspaceMembers).values({ workspaceId, userId: user.id, role });

  return user.id;
}

describe("the invoice view", () => {
  it("prints basis points as a percentage with integer maths", () => {
    expect([2000, 725, 1750, 5, 0, 10_000].map(percentOfBps)).toEqual([
      "20%",
      "7.25%",
      "17.5%",
      "0.05%",
      "0%",
      "100%",
    ]);
  });

  it("shows credits and payments only when they are there, and what is still owed", () => {
    const base = {
      status: "paid" as const,
      kind: "subscription",
      subtotalMinor: 6_900,
      discountMinor: 0,
      taxRateBps: 0,
      taxMinor: 0,
      totalMinor: 5_900,
      amountDueMinor: 5_900,
      amountPaidMinor: 5_900,
    };
    const rows = totalRows(base, [
      { kind: "tier_fee", amountMinor: 6_900 },
      { kind: "credit_applied", amountMinor: -1_000 },
    ]);
    expect(rows.map((row) => [row.label, row.amountMinor])).toEqual([
      ["Subtotal", 6_900],
      ["Credit applied", -1_000],
      ["Total", 5_900],
      ["Amount paid", -5_900],
      ["Amount due", 0],
    ]);
  });

  it("owes nothing on an invoice that is not open, whatever its amount due", () => {
    const open = {
      status: "open" as const,
      kind: "subscription",
      subtotalMinor: 48_055,
      discountMinor: 0,
      taxRateBps: 0,
      taxMinor: 0,
      totalMinor: 48_055,
      amountDueMinor: 48_055,
      amountPaidMinor: 0,
    };
    expect(amountRemainingMinor(open)).toBe(48_055);
    expect(amountRemainingMinor({ ...open, amountPaidMinor: 10_000 })).toBe(38_055);
    for (const status of ["void", "uncollectible", "paid", "draft"] as const) {
      expect(amountRemainingMinor({ ...open, status })).toBe(0);
      expect(totalRows({ ...open, status }, []).at(-1)).toEqual({
        label: "Amount due",
        amountMinor: 0,
        emphasis: true,
      });
    }
  });

  it("reads a purchase's price as tax included: the total, the tax in it and the rest", () => {
    // A 39.00 pack at 20%: 39.00 × 20 / 120 = 6.50 of tax, 32.50 net.
    const purchase = {
      status: "paid" as const,
      kind: "purchase",
      subtotalMinor: 3_250,
      discountMinor: 0,
      taxRateBps: 2_000,
      taxMinor: 650,
      totalMinor: 3_900,
      amountDueMinor: 3_900,
      amountPaidMinor: 3_900,
    };
    const rows = totalRows(purchase, [{ kind: "purchase", amountMinor: 3_900 }]);
    expect(rows.map((row) => [row.label, row.amountMinor])).toEqual([
      ["Total (tax included)", 3_900],
      ["of which tax (20%)", 650],
      ["Net of tax", 3_250],
      ["Amount paid", -3_900],
      ["Amount due", 0],
    ]);
    // Without a tax rate there is nothing to include or split.
    expect(
      totalRows({ ...purchase, taxRateBps: 0, taxMinor: 0, subtotalMinor: 3_900 }, []).map(
        (row) => row.label,
      ),
    ).toEqual(["Total", "Amount paid", "Amount due"]);
  });
});

describe("invoice PDF", () => {
  it("prints number, parties, status, lines with their rounding, tax and totals", async () => {
    const { workspaceId } = await makeWorkspace(runtime);
    const invoice = await issueTestInvoice(runtime, workspaceId, { currency: "EUR" });
    const printable = await printableInvoice(runtime.db, invoice.id);
    expect(printable).toBeDefined();

    const pdf = await renderInvoicePdf(printable!);
    expect(pdf.subarray(0, 5).toString("latin1")).toBe("%PDF-");
    const text = pdfText(pdf).join("");
    expect(invoice.number).toMatch(/^INV-2027-\d{6}$/);
    for (const expected of [
      invoice.number!,
      "OPEN",
      "Tally Labs GmbH",
      "Invalidenstraße 1",
      "Tax ID DE123456789",
      printable!.invoice.buyer!.name,
      "Pro tier",
      "Extra seats",
      "Rounding: exact: whole units at a whole price",
      "Tax (20%)",
      // 49.00 + 2 × 10.00 = 69.00, 20% tax 13.80, total 82.80.
      "€69.00",
      "€13.80",
      "€82.80",
      "5 Jan 2027",
      "19 Jan 2027",
      "Page 1 of 1",
    ]) {
      expect(text).toContain(expected);
    }
  });

  it("runs onto more pages when the lines are many", async () => {
    const { workspaceId } = await makeWorkspace(runtime);
    const start = clock.now();
    const end = new Date(start.getTime() + 86_400_000);
    const [fee] = sampleLines(start, end);
    const lines = Array.from({ length: 60 }, (_, index) => ({
      ...fee!,
      description: `Line ${index + 1}`,
    }));
    const invoice = await issueTestInvoice(runtime, workspaceId, { lines });

    const text = pdfText(await renderInvoicePdf((await printableInvoice(runtime.db, invoice.id))!));
    expect(text).toContain("Line 60");
    expect(text.some((run) => /^Page 1 of [3-9]$/.test(run))).toBe(true);
  });

  it("marks a voided invoice VOID with its reason and nothing due", async () => {
    const { workspaceId } = await makeWorkspace(runtime);
    const invoice = await issueTestInvoice(runtime, workspaceId);
    await runtime.db
      .update(invoices)
      .set({ status: "void", voidedAt: clock.now(), voidReason: "Issued twice" })
      .where(eq(invoices.id, invoice.id));

    const text = pdfText(
      await renderInvoicePdf((await printableInvoice(runtime.db, invoice.id))!),
    ).join("");
    expect(text).toContain("VOID");
    expect(text).toContain("Issued twice");
    expect(text).toContain("Amount due$0.00");
  });

  it("does not exist for a draft", async () => {
    const { workspaceId } = await makeWorkspace(runtime);
    const draft = await draftTestInvoice(runtime, workspaceId);

    expect(await printableInvoice(runtime.db, draft.id)).toBeUndefined();
  });
});

describe("GET /api/invoices/<id>/pdf", () => {
  const get = (userId: string | null, invoiceId: string) =>
    invoicePdfResponse(runtime, userId, invoiceId, "test-request");

  it("serves the PDF to the owner, billing members and platform admins", async () => {
    const { workspaceId, userId: owner } = await makeWorkspace(runtime);
    const invoice = await issueTestInvoice(runtime, workspaceId);
    const billing = await member(workspaceId, "billing");
    const admin = (await makeUser(runtime, { isPlatformAdmin: true })).id;

    for (const userId of [owner, billing, admin]) {
      const response = await get(userId, invoice.id);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("application/pdf");
      expect(response.headers.get("content-disposition")).toBe(
        `attachment; filename="${invoice.number}.pdf"`,
      );
      const body = Buffer.from(await response.arrayBuffer());
      expect(body.subarray(0, 5).toString("latin1")).toBe("%PDF-");
    }
  });

  it("answers 404 to lower roles, other workspaces, the signed-out, drafts and bad ids", async () => {
    const { workspaceId } = await makeWorkspace(runtime);
    const invoice = await issueTestInvoice(runtime, workspaceId);
    const draft = await draftTestInvoice(runtime, workspaceId);
    const { userId: stranger } = await makeWorkspace(runtime);
    const memberId = await member(workspaceId, "member");
    const viewer = await member(workspaceId, "viewer");
    const admin = (await makeUser(runtime, { isPlatformAdmin: true })).id;

    const cases: [string | null, string][] = [
      [memberId, invoice.id],
      [viewer, invoice.id],
      [stranger, invoice.id],
      [null, invoice.id],
      [admin, draft.id],
      [admin, "not-a-uuid"],
      [admin, crypto.randomUUID()],
    ];
    for (const [userId, invoiceId] of cases) {
      const response = await get(userId, invoiceId);
      expect(response.status, `${userId} ${invoiceId}`).toBe(404);
      expect(await response.json()).toMatchObject({ error: { code: "not_found" } });
    }
  });
});
