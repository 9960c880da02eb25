import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { billingCustomers, emailMessages, outbox } from "@/drizzle/schema";
import { balanceSummary } from "@/server/credits/queries";
import type { Runtime } from "@/server/runtime";
import {
  callerFor,
  countRows,
  drain,
  expectLedgerInvariant,
  makeUser,
  makeWorkspace,
} from "@/test/support/runtime";
import { testRuntime } from "@/test/support/runtime";

let runtime: Runtime;
beforeAll(async () => {
  runtime = await testRuntime();
});
afterAll(async () => {
  await runtime.stop();
});

describe("creating a workspace", () => {
  it("allocates credits, records a customer, sends the welcome: all reactions", async () => {
    const { workspaceId } = await makeWorkspace(runtime, { tierCode: "free" });

    const summary = await balanceSummary(runtime.db, workspaceId);
    expect(summary.balance).toBe(1_000 + 250);
    expect(summary.grants.map((grant) => grant.source)).toEqual([
      "tier_allocation",
      "signup_bonus",
    ]);

    const [customer] = await runtime.db
      .select()
      .from(billingCustomers)
      .where(eq(billingCustomers.workspaceId, workspaceId));
    expect(customer?.customerId).toMatch(/^cus_sim[0-9A-Za-z]{24}$/);

    const emails = await runtime.db
      .select()
      .from(emailMessages)
      .where(eq(emailMessages.workspaceId, workspaceId));
    expect(emails.map((email) => email.type)).toEqual(["account.welcome"]);
    expect(emails[0]?.text).toContain("1,250 credits");

    await expectLedgerInvariant(runtime, workspaceId);
  });

  it("runs nothing twice when the whole outbox is relayed again", async () => {
    const { workspaceId } = await makeWorkspace(runtime);
    await runtime.db.update(outbox).set({ publishedAt: null });
    await drain(runtime);

    expect((await balanceSummary(runtime.db, workspaceId)).balance).toBe(1_250);
    expect(await countRows(runtime, "email_messages", `workspace_id = '${workspaceId}'`)).toBe(1);
    expect(await countRows(runtime, "billing_customers", `workspace_id = '${workspaceId}'`)).toBe(
      1,
    );
    await expectLedgerInvariant(runtime, workspaceId);
  });
});

describe("choosing a tier", () => {
  it("lets users pick free tiers only, until paid tiers can take a payment", async () => {
    const user = await makeUser(runtime);
    const caller = await callerFor(runtime, user.id);

    await expect(
      caller.workspaces.create({
        name: "Paid",
        slug: `paid-${user.id.slice(0, 8)}`,
        tierCode: "business",
      }),
    ).rejects.toMatchObject({ cause: { code: "invalid_request", field: "tierCode" } });
    await expect(
      caller.workspaces.create({ name: "\u2067Acme\u2069", slug: `bidi-${user.id.slice(0, 8)}` }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/invisible text-direction characters/),
    });
    expect((await caller.tiers.offered()).map((tier) => [tier.code, tier.selfServe])).toEqual([
      ["free", true],
      ["pro", false],
      ["business", false],
    ]);
  });
});
