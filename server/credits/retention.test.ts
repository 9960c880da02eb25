import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { idempotencyKeys } from "@/drizzle/schema";
import { cronWireEvent } from "@/inngest/reaction";
import { ManualClock } from "@/server/clock";
import type { Runtime } from "@/server/runtime";
import { consume } from "@/test/support/credits";
import { makeWorkspace, testRuntime } from "@/test/support/runtime";

const clock = new ManualClock("2027-04-01T00:00:00Z");
let runtime: Runtime;
beforeAll(async () => {
  runtime = await testRuntime({ clock });
});
afterAll(async () => {
  await runtime.stop();
});

describe("idempotency key retention", () => {
  it("forgets keys after 30 days, after which the same key is a new request", async () => {
    const { workspaceId } = await makeWorkspace(runtime);
    await consume(runtime, workspaceId, 2, "monthly-job");
    await runtime.db
      .update(idempotencyKeys)
      .set({ createdAt: new Date("2027-02-01T00:00:00Z") })
      .where(
        and(eq(idempotencyKeys.workspaceId, workspaceId), eq(idempotencyKeys.key, "monthly-job")),
      );
    await consume(runtime, workspaceId, 3, "recent-job");

    const at = new Date("2027-04-01T00:41:00.000Z");
    await runtime.runReaction(
      "credits-prune-idempotency-keys",
      cronWireEvent("credits-prune-idempotency-keys", at),
    );

    const keys = await runtime.db
      .select({ key: idempotencyKeys.key })
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.workspaceId, workspaceId));
    expect(keys.map((k) => k.key)).toEqual(["recent-job"]);
    expect(await consume(runtime, workspaceId, 5, "monthly-job")).toMatchObject({
      replayed: false,
      credits: 5,
    });
  });
});
