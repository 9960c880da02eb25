import { and, eq } from "drizzle-orm";

import { outbox, tiers } from "@/drizzle/schema";
import type { Runtime } from "@/server/runtime";
import { TIER_FEATURES } from "@/server/workspaces/tiers";

import { uniqueSuffix } from "./runtime";

type TierRow = typeof tiers.$inferInsert;

/**
 * A self-serve tier of the test's own, priced like the seeded free tier
 * ("summarize" costs 1 credit plus 1 per started KiB) unless overridden, so
 * rollover, overage and threshold rules can be set per test. It has every
 * feature flag and the server's default API rate unless overridden.
 */
export async function makeTier(
  runtime: Runtime,
  overrides: Partial<Omit<TierRow, "id" | "code" | "version">> = {},
): Promise<{ code: string; id: string }> {
  const [free] = await runtime.db.select().from(tiers).where(eq(tiers.code, "free"));
  if (!free) throw new Error("the seeded free tier is missing");
  const code = `test-${uniqueSuffix()}`;
  const [tier] = await runtime.db
    .insert(tiers)
    .values({
      code,
      version: 1,
      name: `Test ${code}`,
      currency: "USD",
      monthlyPriceMinor: 0,
      monthlyCredits: 1_000,
      signupBonusCredits: 0,
      lowBalanceThreshold: 100,
      priceTable: free.priceTable,
      // Every feature, so rule tests are not refused for a feature; pass `features` to narrow.
      features: [...TIER_FEATURES],
      ...overrides,
    })
    .returning({ id: tiers.id });
  if (!tier) throw new Error("tier insert returned nothing");

  return { code, id: tier.id };
}

/** The outbox rows of one workspace with this event name, oldest first. */
export async function eventsNamed(runtime: Runtime, workspaceId: string, name: string) {
  return runtime.db
    .select()
    .from(outbox)
    .where(and(eq(outbox.workspaceId, workspaceId), eq(outbox.name, name)))
    .orderBy(outbox.seq);
}

/**
 * The seeded Free tier's terms (allowance, bonus, prices, quotas) with every
 * feature flag on and the server's default API rate: for tests of webhooks,
 * transfers, auto top-up and holds that were written against Free before
 * Free lost those features, so their numbers stay what they were.
 */
export async function freeWithEveryFeature(
  runtime: Runtime,
): Promise<{ code: string; id: string }> {
  const [free] = await runtime.db.select().from(tiers).where(eq(tiers.code, "free"));
  if (!free) throw new Error("the seeded free tier is missing");
  const { id: _id, code: _code, version: _version, createdAt: _createdAt, ...terms } = free;

  return makeTier(runtime, {
    ...terms,
    name: "Free with every feature",
    features: [...TIER_FEATURES],
    apiRatePerSecond: null,
    apiRateBurst: null,
  });
}
