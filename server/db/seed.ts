import { and, eq, isNull } from "drizzle-orm";

import {
  apiKeys,
  creditPacks,
  subscriptions,
  tiers,
  users,
  workspaces,
  type FeaturePrice,
} from "@/drizzle/schema";
import { hashPassword } from "@/server/auth/password";
import { execute, type CommandRuntime } from "@/server/commands";
import { AppError } from "@/server/errors";
import type { PaymentGateway } from "@/server/payments/gateway";
import { isSimulatedGateway } from "@/server/payments/simulated";
import { displayPrefix, hashApiKey } from "@/server/workspaces/api-keys";
import { createWorkspace } from "@/server/workspaces/commands";

import type { Db } from "./client";

/**
 * The demo accounts of the embedded default. README lists them; never seeded against DATABASE_URL
 * unless asked.
 */
export const DEMO = {
  admin: { email: "admin@example.com", password: "tally-admin", name: "Demo Admin" },
  customer: { email: "customer@example.com", password: "tally-demo", name: "Demo Customer" },
  workspace: { name: "Demo Workspace", slug: "demo" },
  apiKey: "tally_sk_demo_local_development_key",
  /** The simulated test card the demo workspace's invoices are charged to. */
  card: "4242424242424242",
} as const;

const standardFeatures: FeaturePrice[] = [
  {
    featureCode: "summarize",
    name: "Summarize text",
    baseCredits: 1,
    bytesPerUnit: 1024,
    creditsPerUnit: 1,
    minimumCredits: 1,
  },
  {
    featureCode: "translate",
    name: "Translate text",
    baseCredits: 2,
    bytesPerUnit: 512,
    creditsPerUnit: 1,
    minimumCredits: 2,
  },
  {
    featureCode: "image-generate",
    name: "Generate an image",
    baseCredits: 20,
    bytesPerUnit: 1_048_576,
    creditsPerUnit: 5,
    minimumCredits: 20,
  },
];

export const seedTiers = [
  {
    code: "free",
    name: "Free",
    currency: "USD",
    monthlyPriceMinor: 0,
    monthlyCredits: 1_000,
    signupBonusCredits: 250,
    lowBalanceThreshold: 100,
    overagePolicy: "hard_stop",
    overageCapCredits: 0,
    overageUnitCredits: 1_000,
    overageUnitPriceMinor: 0,
    rolloverCapCredits: null,
    rolloverCapPercent: null,
    rolloverExpiryPeriods: 1,
    includedSeats: 2,
    seatPriceMinor: 0,
    maxSeats: 2,
    otherPrices: [],
    quotas: [{ featureCode: "image-generate", period: "day", maxCalls: 20 }],
    features: ["api_keys"],
    apiRatePerSecond: 10,
    apiRateBurst: 20,
  },
  {
    code: "pro",
    name: "Pro",
    currency: "USD",
    monthlyPriceMinor: 4_900,
    monthlyCredits: 25_000,
    signupBonusCredits: 2_500,
    lowBalanceThreshold: 2_500,
    // Up to 5,000 credits past zero per period, billed at $2.50 per started 1,000.
    overagePolicy: "soft_cap",
    overageCapCredits: 5_000,
    overageUnitCredits: 1_000,
    overageUnitPriceMinor: 250,
    // Half the allowance may carry over, for one more period.
    rolloverCapCredits: null,
    rolloverCapPercent: 50,
    rolloverExpiryPeriods: 1,
    includedSeats: 5,
    seatPriceMinor: 1_200,
    maxSeats: null,
    otherPrices: [
      {
        currency: "EUR",
        monthlyPriceMinor: 4_500,
        seatPriceMinor: 1_100,
        overageUnitPriceMinor: 230,
      },
    ],
    quotas: [{ featureCode: "image-generate", period: "month", maxCalls: 2_000 }],
    features: ["api_keys", "webhooks", "transfers", "auto_top_up", "holds"],
    apiRatePerSecond: 50,
    apiRateBurst: 100,
  },
  {
    code: "business",
    name: "Business",
    currency: "USD",
    monthlyPriceMinor: 19_900,
    monthlyCredits: 150_000,
    signupBonusCredits: 10_000,
    lowBalanceThreshold: 15_000,
    overagePolicy: "soft_cap",
    overageCapCredits: 50_000,
    overageUnitCredits: 1_000,
    overageUnitPriceMinor: 200,
    // Up to 300,000 carried credits at once, each lasting three more periods.
    rolloverCapCredits: 300_000,
    rolloverCapPercent: null,
    rolloverExpiryPeriods: 3,
    includedSeats: 20,
    seatPriceMinor: 1_000,
    maxSeats: null,
    otherPrices: [
      {
        currency: "EUR",
        monthlyPriceMinor: 18_500,
        seatPriceMinor: 900,
        overageUnitPriceMinor: 185,
      },
    ],
    quotas: [],
    features: ["api_keys", "webhooks", "transfers", "auto_top_up", "holds"],
    apiRatePerSecond: 200,
    apiRateBurst: 400,
  },
] as const;

/** The three standard tiers, once; later versions made by admins are left alone. */
export async function ensureTiers(db: Db): Promise<void> {
  await db
    .insert(tiers)
    .values(
      seedTiers.map((tier) => ({
        ...tier,
        otherPrices: [...tier.otherPrices],
        quotas: [...tier.quotas],
        features: [...tier.features],
        version: 1,
        priceTable: standardFeatures,
      })),
    )
    .onConflictDoNothing();
}

/**
 * Credit packs on offer until an admin changes them. Fixed ids make seeding
 * idempotent: a pack an admin edited or archived is left as it is.
 */
export const seedPacks = [
  {
    id: "5e1d0c4a-7b1f-4c2e-9a6d-0f3b8c1d2e01",
    name: "Starter",
    credits: 5_000,
    priceMinor: 900,
    currency: "USD",
  },
  {
    id: "5e1d0c4a-7b1f-4c2e-9a6d-0f3b8c1d2e02",
    name: "Growth",
    credits: 25_000,
    priceMinor: 3_900,
    currency: "USD",
  },
  {
    id: "5e1d0c4a-7b1f-4c2e-9a6d-0f3b8c1d2e03",
    name: "Scale",
    credits: 100_000,
    priceMinor: 12_900,
    currency: "USD",
  },
] as const;

export async function ensurePacks(db: Db): Promise<void> {
  await db
    .insert(creditPacks)
    .values(seedPacks.map((pack) => ({ ...pack })))
    .onConflictDoNothing({ target: creditPacks.id });
}

async function ensureUser(
  db: Db,
  account: { email: string; password: string; name: string },
  isPlatformAdmin: boolean,
  verifiedAt: Date,
) {
  const [existing] = await db
    .select({ id: users.id })
    .from(users)
    .where(eq(users.email, account.email));
  if (existing) return existing.id;

  await db
    .insert(users)
    .values({
      email: account.email,
      name: account.name,
      passwordHash: await hashPassword(account.password),
      isPlatformAdmin,
      emailVerified: verifiedAt,
    })
    .onConflictDoNothing({ target: users.email });
  const [user] = await db
    .select({ id: users.id })
    .from(users)
    .where(eq(users.email, account.email));
  if (!user) throw new Error(`Demo user ${account.email} missing after insert`);

  return user.id;
}

/**
 * Saves the demo card on the workspace's gateway customer, created here under
 * the key the billing-setup reaction uses, so that reaction finds the same
 * customer. Only when the workspace is new: a card the user chose later stays.
 */
async function giveDemoCard(
  runtime: CommandRuntime & { gateway: PaymentGateway },
  workspaceId: string,
): Promise<void> {
  const { gateway } = runtime;
  if (!isSimulatedGateway(gateway)) return;
  const { customerId } = await gateway.createCustomer(
    { workspaceId, email: DEMO.customer.email, name: DEMO.workspace.name },
    `tally:customer:${workspaceId}`,
  );
  const card = await gateway.saveCard(customerId, DEMO.card);
  await runtime.db
    .update(subscriptions)
    .set({
      paymentMethodRef: card.ref,
      paymentMethodLabel: card.label,
      updatedAt: runtime.clock.now(),
    })
    .where(and(eq(subscriptions.workspaceId, workspaceId), isNull(subscriptions.paymentMethodRef)));
}

/**
 * The demo admin, the demo customer and the customer's workspace with a known
 * API key. The workspace is created through the normal command, so its
 * credits, gateway customer and welcome email arrive through the reactions.
 * With the simulated gateway the new workspace also gets the 4242 test card,
 * so its Pro invoices are paid as they are issued instead of starting dunning.
 */
export async function ensureDemo(
  runtime: CommandRuntime & { gateway: PaymentGateway },
): Promise<void> {
  const { db } = runtime;
  const now = runtime.clock.now();
  await ensureUser(db, DEMO.admin, true, now);
  const customerId = await ensureUser(db, DEMO.customer, false, now);

  let [workspace] = await db
    .select({ id: workspaces.id })
    .from(workspaces)
    .where(eq(workspaces.slug, DEMO.workspace.slug));
  if (!workspace) {
    try {
      const created = await execute(
        runtime,
        createWorkspace,
        {
          name: DEMO.workspace.name,
          slug: DEMO.workspace.slug,
          tierCode: "pro",
          ownerUserId: customerId,
        },
        { actor: { type: "system", reason: "demo seed" } },
      );
      workspace = { id: created.workspaceId };
      await giveDemoCard(runtime, created.workspaceId);
    } catch (error) {
      // Another process seeded it first.
      if (!(error instanceof AppError && error.code === "conflict")) throw error;
      [workspace] = await db
        .select({ id: workspaces.id })
        .from(workspaces)
        .where(eq(workspaces.slug, DEMO.workspace.slug));
    }
  }
  if (!workspace) throw new Error("Demo workspace missing after seeding");

  await db
    .insert(apiKeys)
    .values({
      workspaceId: workspace.id,
      name: "Demo key (embedded default only)",
      prefix: displayPrefix(DEMO.apiKey),
      keyHash: hashApiKey(DEMO.apiKey),
      createdBy: customerId,
    })
    .onConflictDoNothing({ target: apiKeys.keyHash });
}
