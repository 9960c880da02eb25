import { eq } from "drizzle-orm";

import { tiers, workspaces } from "@/drizzle/schema";
import { execute } from "@/server/commands";
import { consumeCredits } from "@/server/credits/consume";
import { grantCredits } from "@/server/credits/ledger";
import type { Runtime } from "@/server/runtime";
import { createApiKey } from "@/server/workspaces/api-keys";

/** Input bytes that make "summarize" (1 base credit + 1 per started KiB) cost exactly `credits`. */
export function bytesCosting(credits: number): number {
  if (credits < 1) throw new Error("summarize costs at least 1 credit");

  return (credits - 1) * 1024;
}

export async function consume(
  runtime: Runtime,
  workspaceId: string,
  credits: number,
  key: string | null = null,
) {
  return execute(
    runtime,
    consumeCredits,
    {
      workspaceId,
      featureCode: "summarize",
      inputBytes: bytesCosting(credits),
      idempotencyKey: key,
    },
    { actor: { type: "system", reason: "test" } },
  );
}

export async function grant(runtime: Runtime, workspaceId: string, amount: number, key: string) {
  const [row] = await runtime.db
    .select({ threshold: tiers.lowBalanceThreshold })
    .from(workspaces)
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .where(eq(workspaces.id, workspaceId));

  return runtime.db.transaction((tx) =>
    grantCredits(tx, runtime.clock, {
      workspaceId,
      source: "adjustment",
      amount,
      idempotencyKey: key,
      reason: "test adjustment",
      actor: { type: "system", reason: "test" },
      lowBalanceThreshold: row?.threshold ?? 0,
    }),
  );
}

export async function apiKeyFor(
  runtime: Runtime,
  workspaceId: string,
  userId: string,
): Promise<string> {
  const { key } = await execute(
    runtime,
    createApiKey,
    { workspaceId, name: "test" },
    { actor: { type: "user", userId } },
  );

  return key;
}
