import { randomUUID } from "node:crypto";

import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { auditLog, notifications, tiers, workspaces } from "@/drizzle/schema";
import { MeteringApi, type ApiRequest } from "@/server/api/metering";
import { RateLimiter } from "@/server/api/rate-limit";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import { consumeCredits } from "@/server/credits/consume";
import type { EventEnvelope } from "@/server/events/catalogue";
import type { ReactionDeps } from "@/server/events/reactions";
import type { Runtime } from "@/server/runtime";
import { apiKeyFor, bytesCosting } from "@/test/support/credits";
import { failure } from "@/test/support/failure";
import { callerFor, drain, makeUser, makeWorkspace, testRuntime } from "@/test/support/runtime";
import { eventsNamed, makeTier } from "@/test/support/tiers";

import {
  checkQuotas,
  createTier,
  quotaUsage,
  tierDefinitionSchema,
  tierHasFeature,
  tierPrice,
  type TierDefinitionInput,
} from "./tiers";

const clock = new ManualClock("2027-05-12T10:00:00.000Z");
let runtime: Runtime;
beforeAll(async () => {
  runtime = await testRuntime({ clock, pool: 12 });
});
afterAll(async () => {
  await runtime.stop();
});

/** A valid definition to break one field of at a time. */
function definition(overrides: Partial<TierDefinitionInput> = {}): TierDefinitionInput {
  return {
    name: "Team",
    currency: "USD",
    monthlyPriceMinor: 2_900,
    monthlyCredits: 10_000,
    signupBonusCredits: 500,
    lowBalanceThreshold: 1_000,
    overagePolicy: "hard_stop",
    overageCapCredits: 0,
    overageUnitCredits: 1_000,
    overageUnitPriceMinor: 0,
    rolloverCapCredits: null,
    rolloverCapPercent: 25,
    rolloverExpiryPeriods: 1,
    priceTable: [
      {
        featureCode: "summarize",
        name: "Summarize text",
        baseCredits: 1,
        bytesPerUnit: 1024,
        creditsPerUnit: 1,
        minimumCredits: 1,
      },
    ],
    includedSeats: 3,
    seatPriceMinor: 900,
    maxSeats: 10,
    otherPrices: [
      { currency: "EUR", monthlyPriceMinor: 2_700, seatPriceMinor: 800, overageUnitPriceMinor: 0 },
    ],
    quotas: [{ featureCode: "summarize", period: "day", maxCalls: 1_000 }],
    features: ["api_keys", "webhooks"],
    apiRatePerSecond: 20,
    apiRateBurst: 40,
    ...overrides,
  };
}

/** The first issue of an invalid definition, as the editor would show it: path and message. */
function issueOf(input: TierDefinitionInput): { path: string; message: string } | undefined {
  const parsed = tierDefinitionSchema.safeParse(input);
  if (parsed.success) return undefined;
  const [issue] = parsed.error.issues;

  return issue && { path: issue.path.join("."), message: issue.message };
}

describe("the tier definition", () => {
  it("accepts a complete definition and keeps feature flags in their canonical order", () => {
    const parsed = tierDefinitionSchema.parse(definition({ features: ["webhooks", "api_keys"] }));
    expect(parsed.features).toEqual(["api_keys", "webhooks"]);
  });

  it("accepts the seeded tiers as they are", async () => {
    const seeded = await runtime.db.select().from(tiers);
    for (const code of ["free", "pro", "business"]) {
      const row = seeded.find((tier) => tier.code === code);
      expect(row, code).toBeDefined();
      expect(tierDefinitionSchema.safeParse(row).success, code).toBe(true);
    }
  });

  it.each([
    [
      "a feature priced twice",
      {
        priceTable: [...definition().priceTable, { ...definition().priceTable[0]!, name: "Again" }],
      },
      "priceTable.1.featureCode",
      /summarize is priced twice/,
    ],
    [
      "a quota on a feature the table does not price",
      { quotas: [{ featureCode: "translate", period: "month" as const, maxCalls: 5 }] },
      "quotas.0.featureCode",
      /not in the price table/,
    ],
    ["a lower-case currency", { currency: "usd" }, "currency", /three-letter ISO/],
    [
      "another price in the tier's own currency",
      {
        otherPrices: [
          {
            currency: "USD",
            monthlyPriceMinor: 1,
            seatPriceMinor: 1,
            overageUnitPriceMinor: 1,
          },
        ],
      },
      "otherPrices.0.currency",
      /already priced in USD/,
    ],
    ["a negative price", { monthlyPriceMinor: -1 }, "monthlyPriceMinor", /at least 0/],
    ["a fractional credit count", { monthlyCredits: 10.5 }, "monthlyCredits", /whole number/],
    ["a missing number", { monthlyCredits: Number.NaN }, "monthlyCredits", /whole number/],
    ["a percentage over 100", { rolloverCapPercent: 101 }, "rolloverCapPercent", /0 to 100/],
    [
      "a rollover cap given both ways",
      { rolloverCapCredits: 5_000, rolloverCapPercent: 25 },
      "rolloverCapPercent",
      /not both/,
    ],
    [
      "a soft cap without a cap",
      { overagePolicy: "soft_cap" as const, overageCapCredits: 0 },
      "overageCapCredits",
      /soft cap needs a cap/,
    ],
    [
      "an auto top-up policy without the feature",
      { overagePolicy: "auto_top_up" as const, features: ["api_keys" as const] },
      "features",
      /auto top-up feature/,
    ],
    ["fewer seats allowed than included", { maxSeats: 2 }, "maxSeats", /below the 3 included/],
    ["a rate without a burst", { apiRateBurst: null }, "apiRateBurst", /both the rate and/],
    ["an unknown feature flag", { features: ["teleport" as never] }, "features.0", /Features are/],
  ])("refuses %s, naming the field", (_what, overrides, path, message) => {
    const issue = issueOf(definition(overrides));
    expect(issue?.path).toBe(path);
    expect(issue?.message).toMatch(message);
  });

  it("prices a tier in its own currency and its other ones, and names them for any other", () => {
    const tier = { ...tierDefinitionSchema.parse(definition()), name: "Team" };
    expect(tierPrice(tier, "USD").monthlyPriceMinor).toBe(2_900);
    expect(tierPrice(tier, "eur")).toEqual({
      currency: "EUR",
      monthlyPriceMinor: 2_700,
      seatPriceMinor: 800,
      overageUnitPriceMinor: 0,
    });
    expect(() => tierPrice(tier, "GBP")).toThrow(
      "The Team tier is not priced in GBP; it is priced in USD, EUR",
    );
    expect(tierHasFeature(tier, "webhooks")).toBe(true);
    expect(tierHasFeature(tier, "holds")).toBe(false);
  });
});

describe("tier versions", () => {
  it("keeps workspaces on their version when a new one is published; new ones get it", async () => {
    const admin = await makeUser(runtime, { isPlatformAdmin: true });
    const caller = await callerFor(runtime, admin.id);
    const code = `team-${randomUUID().slice(0, 8)}`;
    const created = await caller.tiers.create({ ...definition({ monthlyPriceMinor: 0 }), code });
    expect(created.version).toBe(1);
    const early = await makeWorkspace(runtime, { tierCode: code });
    const [v1Before] = await runtime.db.select().from(tiers).where(eq(tiers.id, created.id));

    const v2 = await caller.tiers.publishVersion({
      ...definition({ monthlyPriceMinor: 0, monthlyCredits: 20_000 }),
      code,
    });
    expect(v2.version).toBe(2);
    const late = await makeWorkspace(runtime, { tierCode: code });

    const tierOf = async (workspaceId: string) =>
      (
        await runtime.db
          .select({ tierId: workspaces.tierId })
          .from(workspaces)
          .where(eq(workspaces.id, workspaceId))
      )[0]?.tierId;
    expect(await tierOf(early.workspaceId)).toBe(created.id);
    expect(await tierOf(late.workspaceId)).toBe(v2.id);
    // Version 1 is exactly what it was: nothing of it was edited.
    expect((await runtime.db.select().from(tiers).where(eq(tiers.id, created.id)))[0]).toEqual(
      v1Before,
    );

    const entry = (await caller.tiers.all()).find((tier) => tier.code === code);
    expect(entry?.versions.map((version) => [version.version, version.workspaceCount])).toEqual([
      [2, 1],
      [1, 1],
    ]);
    expect(entry?.offered?.version).toBe(2);
    expect((await caller.tiers.offered()).find((tier) => tier.code === code)?.monthlyCredits).toBe(
      20_000,
    );

    // Archiving v2 offers v1 again; unarchiving brings v2 back.
    await caller.tiers.archive({ tierId: v2.id, archived: true });
    expect((await caller.tiers.offered()).find((tier) => tier.code === code)?.version).toBe(1);
    const afterArchive = await makeWorkspace(runtime, { tierCode: code });
    expect(await tierOf(afterArchive.workspaceId)).toBe(created.id);
    await caller.tiers.archive({ tierId: v2.id, archived: false });
    expect((await caller.tiers.offered()).find((tier) => tier.code === code)?.version).toBe(2);
    // The tier new workspaces start on keeps a version on offer.
    const free = (await caller.tiers.offered()).find((tier) => tier.code === "free");
    await expect(caller.tiers.archive({ tierId: free!.id, archived: true })).rejects.toMatchObject({
      code: "CONFLICT",
      cause: { field: "tierId" },
    });
    expect((await caller.tiers.offered()).find((tier) => tier.code === "free")?.id).toBe(free!.id);

    const audit = await runtime.db
      .select({ command: auditLog.command })
      .from(auditLog)
      .where(and(eq(auditLog.actorId, admin.id)));
    expect(audit.map((row) => row.command).sort()).toEqual([
      "tiers.archive",
      "tiers.archive",
      "tiers.create",
      "tiers.publishVersion",
    ]);
  });

  it("gives two versions published at once the next two numbers", async () => {
    const admin = await makeUser(runtime, { isPlatformAdmin: true });
    const caller = await callerFor(runtime, admin.id);
    const code = `race-${randomUUID().slice(0, 8)}`;
    await caller.tiers.create({ ...definition(), code });
    const published = await Promise.all(
      [1, 2, 3].map(() => caller.tiers.publishVersion({ ...definition(), code })),
    );
    expect(published.map((row) => row.version).sort()).toEqual([2, 3, 4]);
  });

  it("refuses a taken code, an unknown code and callers who are not platform admins", async () => {
    const admin = await callerFor(runtime, (await makeUser(runtime, { isPlatformAdmin: true })).id);
    expect(await failure(admin.tiers.create({ ...definition(), code: "pro" }))).toMatchObject({
      appCode: "conflict",
      field: "code",
    });
    expect(
      await failure(admin.tiers.publishVersion({ ...definition(), code: "no-such-tier" })),
    ).toMatchObject({ appCode: "not_found", field: "code" });

    const customer = await callerFor(runtime, (await makeUser(runtime)).id);
    expect(await failure(customer.tiers.create({ ...definition(), code: "mine" }))).toMatchObject({
      appCode: "forbidden",
    });
  });
});

describe("feature flags", () => {
  it("refuses webhooks, transfers and auto top-up on Free, naming the tiers that have them", async () => {
    const { workspaceId, userId } = await makeWorkspace(runtime);
    const other = await makeWorkspace(runtime, { userId });
    const caller = await callerFor(runtime, userId);
    const refusal = (feature: string) => ({
      cause: {
        code: "feature_not_in_tier",
        // Other tests' tiers are on offer too; the seeded ones are what matter here.
        details: { feature, tier: "Free", includedIn: expect.arrayContaining(["Pro", "Business"]) },
      },
      message: expect.stringMatching(/not part of the Free tier; they come with .*Pro.* and /),
    });

    await expect(
      caller.webhooks.create({
        workspaceId,
        url: "http://127.0.0.1:9/hooks",
        eventTypes: ["*"],
      }),
    ).rejects.toMatchObject(refusal("webhooks"));
    await expect(
      caller.credits.transfer({
        toWorkspaceId: other.workspaceId,
        credits: 10,
        reason: "Moving credits",
        idempotencyKey: randomUUID(),
        workspaceId,
      }),
    ).rejects.toMatchObject(refusal("transfers"));
    const [pack] = await caller.credits.packs.list();
    const autoTopUp = { workspaceId, packId: pack!.id, thresholdCredits: 100, monthlyLimit: 1 };
    await expect(
      caller.credits.autoTopUp.set({ ...autoTopUp, enabled: true }),
    ).rejects.toMatchObject(refusal("auto_top_up"));
    // Turning it off is always possible.
    await caller.credits.autoTopUp.set({ ...autoTopUp, enabled: false });
  });

  it("refuses API keys on a tier without them", async () => {
    const { code } = await makeTier(runtime, { features: [] });
    const { workspaceId, userId } = await makeWorkspace(runtime, { tierCode: code });
    const caller = await callerFor(runtime, userId);
    await expect(caller.workspaces.createApiKey({ workspaceId, name: "ci" })).rejects.toMatchObject(
      {
        code: "FORBIDDEN",
        cause: { code: "feature_not_in_tier", details: { feature: "api_keys" } },
      },
    );
  });

  it("answers 403 feature_not_in_tier on the holds endpoints, and serves usage", async () => {
    const { workspaceId, userId } = await makeWorkspace(runtime);
    const key = await apiKeyFor(runtime, workspaceId, userId);
    const api = new MeteringApi(runtime, { rateLimiter: null });
    try {
      const hold = await api.handle(request("POST", "/api/v1/holds", key, { credits: 5 }));
      expect(hold.status).toBe(403);
      expect(hold.body).toMatchObject({
        error: {
          code: "feature_not_in_tier",
          message: expect.stringContaining("Holds on the metering API are not part of the Free"),
          details: { feature: "holds", includedIn: expect.arrayContaining(["Pro", "Business"]) },
        },
      });
      const release = await api.handle(
        request("POST", `/api/v1/holds/${randomUUID()}/release`, key),
      );
      expect(release.status).toBe(403);
      const usage = await api.handle(
        request("POST", "/api/v1/usage", key, { feature: "summarize", inputBytes: 10 }),
      );
      expect(usage.status).toBe(200);
    } finally {
      await api.stop();
    }
  });
});

function request(method: string, path: string, key: string, body?: unknown): ApiRequest {
  const headers: Record<string, string> = {
    authorization: `Bearer ${key}`,
    "idempotency-key": randomUUID(),
    "content-type": "application/json",
  };

  return {
    method,
    path,
    header: (name) => headers[name],
    text: async () => (body === undefined ? "" : JSON.stringify(body)),
  };
}

describe("the API rate limit of a tier", () => {
  it("refuses past the tier's burst, and leaves tiers without a rate on the default", async () => {
    const limited = await makeTier(runtime, { apiRatePerSecond: 1, apiRateBurst: 3 });
    const open = await makeTier(runtime, { apiRatePerSecond: null, apiRateBurst: null });
    const keyOn = async (tierCode: string) => {
      const { workspaceId, userId } = await makeWorkspace(runtime, { tierCode });
      return apiKeyFor(runtime, workspaceId, userId);
    };
    const limitedKey = await keyOn(limited.code);
    const openKey = await keyOn(open.code);
    const rateClock = new ManualClock("2027-05-12T10:00:00.000Z");
    const api = new MeteringApi(runtime, {
      rateLimiter: new RateLimiter({ perSecond: 100, burst: 10 }, rateClock),
    });
    const balance = async (key: string) =>
      api.handle(request("GET", "/api/v1/balance", key)).then((response) => response);
    try {
      for (let call = 0; call < 3; call++) expect((await balance(limitedKey)).status).toBe(200);
      const refused = await balance(limitedKey);
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ error: { code: "rate_limited" } });
      expect(refused.headers["retry-after"]).toBe("1");

      // The default's burst of 10 applies to a tier without its own rate.
      const statuses = [];
      for (let call = 0; call < 11; call++) statuses.push((await balance(openKey)).status);
      expect(statuses.filter((status) => status === 200)).toHaveLength(10);
      expect(statuses.at(-1)).toBe(429);

      // One second later the limited key has one token again: its own rate, not the default's.
      rateClock.advance(1_000);
      expect((await balance(limitedKey)).status).toBe(200);
      expect((await balance(limitedKey)).status).toBe(429);
    } finally {
      await api.stop();
    }
  });
});

describe("quotas", () => {
  async function quotaWorkspace(maxCalls: number) {
    const { code } = await makeTier(runtime, {
      monthlyCredits: 100_000,
      quotas: [
        { featureCode: "summarize", period: "day", maxCalls },
        { featureCode: "translate", period: "month", maxCalls: 1_000 },
      ],
    });

    return makeWorkspace(runtime, { tierCode: code });
  }

  const call = (workspaceId: string) =>
    execute(
      runtime,
      consumeCredits,
      {
        workspaceId,
        featureCode: "summarize",
        inputBytes: bytesCosting(1),
        idempotencyKey: randomUUID(),
      },
      { actor: { type: "system", reason: "test" } },
    );

  it("emits usage/quota-exceeded and notifies once, however many calls race past it", async () => {
    const { workspaceId } = await quotaWorkspace(5);
    await Promise.all(Array.from({ length: 12 }, () => call(workspaceId)));
    await drain(runtime);
    await Promise.all(Array.from({ length: 4 }, () => call(workspaceId)));
    await drain(runtime);

    const exceeded = await eventsNamed(runtime, workspaceId, "usage/quota-exceeded");
    expect(exceeded).toHaveLength(1);
    expect(exceeded[0]?.data).toMatchObject({
      featureCode: "summarize",
      quota: 5,
      periodStart: "2027-05-12T00:00:00.000Z",
    });
    const notices = await runtime.db
      .select()
      .from(notifications)
      .where(
        and(
          eq(notifications.workspaceId, workspaceId),
          eq(notifications.type, "usage.quota_exceeded"),
        ),
      );
    expect(notices).toHaveLength(1);

    const usage = await quotaUsage(runtime.db, workspaceId, clock.now());
    expect(
      usage.map(({ featureCode, period, used, maxCalls, exceeded: over }) => ({
        featureCode,
        period,
        used,
        maxCalls,
        over,
      })),
    ).toEqual([
      { featureCode: "summarize", period: "day", used: 16, maxCalls: 5, over: true },
      { featureCode: "translate", period: "month", used: 0, maxCalls: 1_000, over: false },
    ]);
  });

  it("claims the period once when the check itself runs concurrently and is retried", async () => {
    const { workspaceId } = await quotaWorkspace(2);
    for (let i = 0; i < 3; i++) await call(workspaceId);
    const [consumed] = await eventsNamed(runtime, workspaceId, "credits/consumed");
    if (!consumed) throw new Error("no credits/consumed event");
    const envelope = {
      id: consumed.id,
      name: "credits/consumed",
      version: consumed.version,
      workspaceId,
      streamSeq: 0,
      object: { type: "credit_balance", id: workspaceId },
      occurredAt: clock.now(),
      causationId: null,
      data: consumed.data,
    } as unknown as EventEnvelope<"credits/consumed">;
    const run = () =>
      runtime.db.transaction(async (tx) =>
        checkQuotas({ tx, event: envelope, deps: {} as ReactionDeps, log: runtime.logger }),
      );
    const results = await Promise.all(Array.from({ length: 6 }, run));
    expect(results.map((drafts) => drafts?.length ?? 0).sort()).toEqual([0, 0, 0, 0, 0, 1]);
  });

  it("counts a day quota again from the next UTC day", async () => {
    const { workspaceId } = await quotaWorkspace(1);
    await call(workspaceId);
    await call(workspaceId);
    await drain(runtime);
    clock.advance(24 * 3_600_000);
    try {
      const [summarize] = await quotaUsage(runtime.db, workspaceId, clock.now());
      expect(summarize).toMatchObject({ used: 0, exceeded: false });
      expect(summarize?.periodStart.toISOString()).toBe("2027-05-13T00:00:00.000Z");
      await call(workspaceId);
      await call(workspaceId);
      await drain(runtime);
      expect(await eventsNamed(runtime, workspaceId, "usage/quota-exceeded")).toHaveLength(2);
    } finally {
      clock.set("2027-05-12T10:00:00.000Z");
    }
  });
});

describe("creating a tier through the command", () => {
  it("takes a seeded tier's row as a new tier's definition, as the benchmark does", async () => {
    const [free] = await runtime.db.select().from(tiers).where(eq(tiers.code, "free"));
    const code = `copy-${randomUUID().slice(0, 8)}`;
    const row = await execute(
      runtime,
      createTier,
      { ...free!, code, apiRatePerSecond: null, apiRateBurst: null },
      { actor: { type: "system", reason: "test" } },
    );
    const [stored] = await runtime.db.select().from(tiers).where(eq(tiers.id, row.id));
    expect(stored).toMatchObject({
      code,
      version: 1,
      monthlyCredits: free!.monthlyCredits,
      quotas: free!.quotas,
      priceTable: free!.priceTable,
      apiRatePerSecond: null,
    });
  });

  it("records who created it", async () => {
    const admin = await makeUser(runtime, { isPlatformAdmin: true });
    const code = `cmd-${randomUUID().slice(0, 8)}`;
    const row = await execute(
      runtime,
      createTier,
      { ...definition(), code },
      { actor: { type: "user", userId: admin.id } },
    );
    const [stored] = await runtime.db.select().from(tiers).where(eq(tiers.id, row.id));
    expect(stored).toMatchObject({ code, version: 1, createdBy: admin.id, archivedAt: null });
  });
});
