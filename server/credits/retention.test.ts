import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { idempotencyKeys } from "@/drizzle/schema";
import { cronWireEvent } from "@/inngest/reaction";
import { ManualClock } from "@/server/clock";
import type { Runtime } from "@/server/runtime";
import { consume } from "@/test/support/credits";
import { makeWorkspace, testRuntime } from "@/test/support/runtime";

const DAY = 86_400_000;
const clock = new ManualClock("2027-04-01T00:00:00Z");
let runtime: Runtime;
beforeAll(async () => {
  runtime = await testRuntime({ clock });
});
afterAll(async () => {
  await runtime.stop();
});

describe("idempotency key retention", () => {
  it("remembers a consumption's key for 30 days, after which the same key is a new request", async () => {
    const { workspaceId } = await makeWorkspace(runtime);
    const first = await consume(runtime, workspaceId, 2, "monthly-job");

    clock.advance(30 * DAY - 60_000);
    expect(await consume(runtime, workspaceId, 2, "monthly-job")).toEqual({
      ...first,
      replayed: true,
    });

    clock.advance(60_000);
    expect(await consume(runtime, workspaceId, 5, "monthly-job")).toMatchObject({
      replayed: false,
      credits: 5,
    });
  });

  it("forgets other stored keys after 30 days", async () => {
    const { workspaceId } = await makeWorkspace(runtime);
    const stored = { workspaceId, scope: "credits.refund", requestHash: "h", responseStatus: 200 };
    await runtime.db.insert(idempotencyKeys).values([
      {
        ...stored,
        key: "old",
        responseBody: {},
        createdAt: new Date(clock.now().getTime() - 31 * DAY),
      },
      {
        ...stored,
        key: "recent",
        responseBody: {},
        createdAt: new Date(clock.now().getTime() - DAY),
      },
    ]);

    await runtime.runReaction(
      "credits-prune-idempotency-keys",
      cronWireEvent("credits-prune-idempotency-keys", clock.now()),
    );

    const keys = await runtime.db
      .select({ key: idempotencyKeys.key })
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.workspaceId, workspaceId));
    expect(keys.map((k) => k.key)).toEqual(["recent"]);
  });
});
