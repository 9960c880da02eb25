import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { invoices, payments, subscriptions, workspaces } from "@/drizzle/schema";
import type { Runtime } from "@/server/runtime";
import { drain, testRuntime } from "@/test/support/runtime";

import { DEMO, ensureDemo, ensurePacks, ensureTiers } from "./seed";

describe("the demo seed", () => {
  let runtime: Runtime;

  beforeAll(async () => {
    runtime = await testRuntime();
    await ensureTiers(runtime.db);
    await ensurePacks(runtime.db);
  });
  afterAll(async () => runtime?.stop());

  it("gives the new demo workspace the 4242 card, so its first Pro invoice is paid, not dunned", async () => {
    await ensureDemo(runtime);
    await drain(runtime);

    const [workspace] = await runtime.db
      .select({ id: workspaces.id })
      .from(workspaces)
      .where(eq(workspaces.slug, DEMO.workspace.slug));
    const [subscription] = await runtime.db
      .select()
      .from(subscriptions)
      .where(eq(subscriptions.workspaceId, workspace!.id));
    expect(subscription?.paymentMethodLabel).toBe("Visa ending 4242");
    expect(subscription?.status).toBe("active");

    const issued = await runtime.db
      .select({ status: invoices.status, due: invoices.amountDueMinor })
      .from(invoices)
      .where(eq(invoices.workspaceId, workspace!.id));
    expect(issued).toEqual([{ status: "paid", due: expect.any(Number) }]);
    expect(issued[0]!.due).toBeGreaterThan(0);
    const charged = await runtime.db
      .select({ status: payments.status })
      .from(payments)
      .where(eq(payments.workspaceId, workspace!.id));
    expect(charged).toEqual([{ status: "succeeded" }]);
  });

  it("leaves a card chosen later alone when the seed runs again at the next start", async () => {
    const [workspace] = await runtime.db
      .select({ id: workspaces.id })
      .from(workspaces)
      .where(eq(workspaces.slug, DEMO.workspace.slug));
    await runtime.db
      .update(subscriptions)
      .set({ paymentMethodRef: "pm_chosen_later", paymentMethodLabel: "Visa ending 0341" })
      .where(eq(subscriptions.workspaceId, workspace!.id));

    await ensureDemo(runtime);
    await drain(runtime);

    const [subscription] = await runtime.db
      .select({ label: subscriptions.paymentMethodLabel })
      .from(subscriptions)
      .where(eq(subscriptions.workspaceId, workspace!.id));
    expect(subscription?.label).toBe("Visa ending 0341");
  });
});
