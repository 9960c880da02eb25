import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import { InngestTestEngine } from "@inngest/test";
import { eq } from "drizzle-orm";
import { Inngest } from "inngest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { creditBalances, outbox } from "@/drizzle/schema";
import { parseEnv } from "@/server/env";
import { Relay } from "@/server/events/relay";
import type { WireEvent } from "@/server/events/reactions";
import { balanceSummary } from "@/server/credits/queries";
import type { Runtime } from "@/server/runtime";
import { execute } from "@/server/commands";
import { createWorkspace } from "@/server/workspaces/commands";
import { makeUser, testRuntime, uniqueSuffix } from "@/test/support/runtime";

import { bus } from "./bus";
import { createInngest, inngestTransport } from "./client";
import { buildInngestFunctions } from "./functions";

let runtime: Runtime;
beforeAll(async () => {
  runtime = await testRuntime();
});
afterAll(async () => {
  await runtime.stop();
});

/** A workspace whose workspace/created event is committed but not yet relayed. */
async function createdEvent(): Promise<WireEvent> {
  const user = await makeUser(runtime);
  const slug = `inngest-${uniqueSuffix()}`;
  const { workspaceId } = await execute(
    runtime,
    createWorkspace,
    { name: slug, slug, tierCode: "free" },
    { actor: { type: "user", userId: user.id } },
  );
  const [row] = await runtime.db.select().from(outbox).where(eq(outbox.workspaceId, workspaceId));
  if (!row) throw new Error("no workspace/created in the outbox");

  return {
    id: row.id,
    name: row.name,
    version: row.version,
    workspaceId: row.workspaceId,
    streamSeq: row.streamSeq,
    object: { type: row.objectType ?? "", id: row.objectId ?? "" },
    occurredAt: row.occurredAt.toISOString(),
    causationId: row.causationId,
    data: row.data,
  };
}

describe("the Inngest functions", () => {
  const inngest = new Inngest({ id: "tally-test", isDev: true });
  const functions = buildInngestFunctions(inngest, bus, async () => runtime.executeDeps);

  it("are one per row of the event bus table, with its trigger, retries and concurrency", () => {
    expect(functions.map((fn) => fn.id())).toEqual(bus.map((reaction) => reaction.id));
    for (const [index, reaction] of bus.entries()) {
      const opts = functions[index]!.opts as unknown as Record<string, unknown>;
      expect(opts.retries).toBe(reaction.retries);
      expect(opts.triggers).toEqual([
        reaction.kind === "event" ? { event: reaction.event } : { cron: reaction.cron },
      ]);
      expect(opts.concurrency).toEqual(
        reaction.concurrency === "workspace"
          ? { key: "event.data.workspaceId", limit: 1 }
          : undefined,
      );
    }
  });

  it("run the same reaction through the same inbox as the in-process driver", async () => {
    const wire = await createdEvent();
    const allocation = functions[bus.findIndex((r) => r.id === "credits-initial-allocation")]!;
    const engine = new InngestTestEngine({
      function: allocation,
      events: [{ id: wire.id, name: wire.name, data: wire as unknown as Record<string, unknown> }],
    });

    const first = await engine.execute();
    expect(first.result).toBe("handled");
    expect((await balanceSummary(runtime.db, wire.workspaceId!)).balance).toBe(1_250);

    // Inngest redelivering the event (or the in-process driver seeing it too) changes nothing.
    const second = await new InngestTestEngine({
      function: allocation,
      events: [{ id: wire.id, name: wire.name, data: wire as unknown as Record<string, unknown> }],
    }).execute();
    expect(second.result).toBe("duplicate");
    const [balance] = await runtime.db
      .select()
      .from(creditBalances)
      .where(eq(creditBalances.workspaceId, wire.workspaceId!));
    expect(balance?.balance).toBe(1_250);
  });
});

describe("the Inngest transport", () => {
  let server: Server;
  const received: { path: string; body: unknown }[] = [];
  let baseUrl = "";
  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString()));
      request.on("end", () => {
        const events = JSON.parse(body) as { id: string }[];
        received.push({ path: request.url ?? "", body: events });
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ ids: events.map((e) => e.id), status: 200 }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("sends relayed events to Inngest's event API with the outbox id as the event id", async () => {
    const wire = await createdEvent();
    const env = parseEnv({
      INNGEST_DEV: "1",
      INNGEST_BASE_URL: baseUrl,
      INNGEST_EVENT_KEY: "test-key",
    });
    const relay = new Relay(
      runtime.db,
      inngestTransport(createInngest(env, runtime.logger)),
      runtime.clock,
      runtime.logger,
    );

    expect(await relay.drain()).toBeGreaterThanOrEqual(1);
    const sent = received.flatMap((request) => request.body as Record<string, unknown>[]);
    expect(received[0]?.path).toMatch(/^\/e\//);
    expect(sent).toContainEqual(
      expect.objectContaining({
        id: wire.id,
        name: "workspace/created",
        data: expect.objectContaining({ id: wire.id, workspaceId: wire.workspaceId, streamSeq: 1 }),
        v: "1",
      }),
    );
    const [row] = await runtime.db.select().from(outbox).where(eq(outbox.id, wire.id));
    expect(row?.publishedAt).not.toBeNull();
  });
});
