import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { billingCustomers } from "@/drizzle/schema";
import type { Runtime } from "@/server/runtime";
import { startStripeStandIn, type StripeStandIn } from "@/test/support/stripe-stand-in";
import { drain, makeWorkspace, testRuntime } from "@/test/support/runtime";

import { createStripeClient, STRIPE_API_VERSION, StripeGateway } from "./stripe";

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
