import { randomBytes } from "node:crypto";

import { eq } from "drizzle-orm";

import { simulatedCustomers } from "@/drizzle/schema";
import type { Db } from "@/server/db/client";

import type { CreateCustomerInput, PaymentGateway } from "./gateway";

/** Stripe-shaped ids: a type prefix, then 24 base-62 characters. */
export function simulatedId(prefix: string): string {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const bytes = randomBytes(24);
  let id = "";
  for (const byte of bytes) id += alphabet[byte % alphabet.length];

  return `${prefix}_sim${id}`;
}

/**
 * The gateway of the embedded default: it keeps its customers in its own
 * table, honours idempotency keys as Stripe does (same key, same object),
 * and never leaves the machine.
 */
export class SimulatedGateway implements PaymentGateway {
  readonly kind = "simulated" as const;

  constructor(private readonly db: Db) {}

  async createCustomer(
    input: CreateCustomerInput,
    idempotencyKey: string,
  ): Promise<{ customerId: string }> {
    const inserted = await this.db
      .insert(simulatedCustomers)
      .values({
        id: simulatedId("cus"),
        idempotencyKey,
        email: input.email,
        name: input.name,
        metadata: { workspace_id: input.workspaceId },
      })
      .onConflictDoNothing({ target: simulatedCustomers.idempotencyKey })
      .returning({ id: simulatedCustomers.id });
    if (inserted[0]) return { customerId: inserted[0].id };

    const [existing] = await this.db
      .select({ id: simulatedCustomers.id })
      .from(simulatedCustomers)
      .where(eq(simulatedCustomers.idempotencyKey, idempotencyKey));
    if (!existing) throw new Error("Simulated customer vanished after an idempotency conflict");

    return { customerId: existing.id };
  }
}
