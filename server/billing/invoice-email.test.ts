import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { emailMessages, users, workspaceMembers } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import type { Runtime } from "@/server/runtime";
import { issueTestInvoice } from "@/test/support/invoices";
import { drain, makeUser, makeWorkspace, testRuntime } from "@/test/support/runtime";

const clock = new ManualClock("2027-01-05T09:00:00Z");
let runtime: Runtime;

beforeAll(async () => {
  runtime = await testRuntime({
    clock,
    env: { TALLY_TAX_RATES: "EUR=20", TALLY_INVOICE_DUE_DAYS: "14" },
  });
});
afterAll(async () => {
  await runtime.stop();
});

async function invoiceEmails(workspaceId: string) {
  return runtime.db
    .select()
    .from(emailMessages)
    .where(
      and(
        eq(emailMessages.workspaceId, workspaceId),
        eq(emailMessages.type, "billing.invoice_issued"),
      ),
    );
}

describe("invoice email", () => {
  it("goes to billing members and up with the PDF attached and the billing page linked", async () => {
    const { workspaceId, slug, userId } = await makeWorkspace(runtime);
    const billing = await makeUser(runtime);
    const viewer = await makeUser(runtime);
    await runtime.db.insert(workspaceMembers).values([
      { workspaceId, userId: billing.id, role: "billing" },
      { workspaceId, userId: viewer.id, role: "viewer" },
    ]);
    const [owner] = await runtime.db.select().from(users).where(eq(users.id, userId));

    const invoice = await issueTestInvoice(runtime, workspaceId, { currency: "EUR" });
    await drain(runtime);

    const emails = await invoiceEmails(workspaceId);
    expect(emails.map((email) => email.toAddress).sort()).toEqual(
      [owner!.email!, billing.email!].sort(),
    );
    for (const email of emails) {
      // 69.00 + 20% tax = 82.80, due 14 days after 5 Jan.
      expect(email.subject).toBe(`Invoice ${invoice.number} — €82.80 due by 19 Jan 2027`);
      expect(email.text).toContain(`/w/${slug}/billing`);
      expect(email.attachments).toEqual([
        {
          filename: `${invoice.number}.pdf`,
          contentType: "application/pdf",
          size: expect.any(Number),
        },
      ]);
      expect(email.attachments[0]!.size).toBeGreaterThan(1_000);
    }
  });

  it("says paid when nothing is left to pay", async () => {
    const { workspaceId } = await makeWorkspace(runtime);
    const invoice = await issueTestInvoice(runtime, workspaceId, { paidAt: clock.now() });
    await drain(runtime);

    const [email] = await invoiceEmails(workspaceId);
    expect(email?.subject).toBe(`Invoice ${invoice.number} — $69.00 paid`);
  });
});
