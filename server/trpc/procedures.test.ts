import { TRPCError } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { workspaceMembers } from "@/drizzle/schema";
import type { Runtime } from "@/server/runtime";
import { callerFor, makeUser, makeWorkspace, testRuntime } from "@/test/support/runtime";

import { createContext } from "./init";
import { appRouter, createCaller } from "./router";

let runtime: Runtime;
beforeAll(async () => {
  runtime = await testRuntime();
});
afterAll(async () => {
  await runtime.stop();
});

/**
 * Calls a mutation through tRPC's HTTP handler, as the browser does, and returns the error it sees.
 */
async function overHttp(path: string, input: unknown, userId: string | null = null) {
  const response = await fetchRequestHandler({
    endpoint: "/api/trpc",
    req: new Request(`http://localhost/api/trpc/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(superjson.serialize(input)),
    }),
    router: appRouter,
    createContext: () => createContext(runtime, userId),
  });
  const body = (await response.json()) as { error: { json: Record<string, any> } };

  return { status: response.status, error: body.error.json };
}

/** The tRPC error a call failed with: its code and the app's data (appCode, field, fieldErrors). */
async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof TRPCError)) throw error;
    const cause = error.cause as { code?: string; field?: string } | undefined;

    return { code: error.code, appCode: cause?.code, field: cause?.field, message: error.message };
  }
  throw new Error("expected the call to fail");
}

describe("procedure builders", () => {
  it("refuse signed-out callers on signed-in procedures", async () => {
    const anonymous = await callerFor(runtime, null);
    expect(await failure(anonymous.workspaces.list())).toMatchObject({
      code: "UNAUTHORIZED",
      appCode: "unauthenticated",
    });
    expect(await anonymous.auth.me()).toBeNull();
  });

  it("hide another workspace from a non-member", async () => {
    const { workspaceId } = await makeWorkspace(runtime);
    const stranger = await callerFor(runtime, (await makeUser(runtime)).id);

    expect(await failure(stranger.credits.balance({ workspaceId }))).toMatchObject({
      code: "NOT_FOUND",
      appCode: "not_found",
    });
    expect(
      await failure(
        stranger.credits.consume({
          workspaceId,
          featureCode: "summarize",
          inputBytes: 1,
          idempotencyKey: "x",
        }),
      ),
    ).toMatchObject({ code: "NOT_FOUND" });
  });

  it("refuse a member below the procedure's minimum role", async () => {
    const { workspaceId } = await makeWorkspace(runtime);
    const member = await makeUser(runtime);
    await runtime.db
      .insert(workspaceMembers)
      .values({ workspaceId, userId: member.id, role: "member" });
    const caller = await callerFor(runtime, member.id);

    expect((await caller.credits.balance({ workspaceId })).balance).toBe(1_250);
    expect(
      await failure(caller.workspaces.createApiKey({ workspaceId, name: "ci" })),
    ).toMatchObject({
      code: "FORBIDDEN",
      appCode: "forbidden",
    });
  });

  it("keep platform-admin procedures to platform admins", async () => {
    const customer = await callerFor(runtime, (await makeUser(runtime)).id);
    const admin = await callerFor(runtime, (await makeUser(runtime, { isPlatformAdmin: true })).id);

    expect(await failure(customer.events.deadLetters())).toMatchObject({ code: "FORBIDDEN" });
    expect(await admin.events.deadLetters()).toEqual(expect.any(Array));
    expect((await admin.events.backlog()).driver).toBe("in-process driver");
  });
});

describe("the dev mailbox", () => {
  it("is open in the embedded default, for platform admins only otherwise", async () => {
    expect(await (await callerFor(runtime, null)).notifications.mailbox({})).toEqual(
      expect.any(Array),
    );

    const production = { ...runtime, devMailboxOpen: false } as Runtime;
    const anonymous = createCaller(await createContext(production, null));
    const admin = createCaller(
      await createContext(production, (await makeUser(runtime, { isPlatformAdmin: true })).id),
    );

    expect(await failure(anonymous.notifications.mailbox({}))).toMatchObject({ code: "FORBIDDEN" });
    expect(await admin.notifications.mailbox({})).toEqual(expect.any(Array));
    expect((await anonymous.auth.signInOptions()).devMailbox).toBe(false);
  });
});

describe("errors", () => {
  it("name the field for input validation and for domain rules", async () => {
    const anonymous = await callerFor(runtime, null);
    const weak = await overHttp("auth.signUp", {
      name: "A",
      email: "weak@example.com",
      password: "short",
    });
    expect(weak.status).toBe(400);
    expect(weak.error).toMatchObject({
      message: "Use at least 8 characters",
      data: {
        appCode: "invalid_request",
        field: "password",
        fieldErrors: { password: "Use at least 8 characters" },
      },
    });

    const taken = await makeUser(runtime);
    expect(
      await failure(
        anonymous.auth.signUp({
          name: "Second",
          email: taken.email!.toUpperCase(),
          password: "long enough",
        }),
      ),
    ).toMatchObject({ code: "CONFLICT", appCode: "conflict", field: "email" });
  });

  it("refuse text the database cannot store, in queries and commands alike", async () => {
    const { userId } = await makeWorkspace(runtime);
    const caller = await callerFor(runtime, userId);

    expect(await failure(caller.workspaces.bySlug({ slug: "a\u0000b" }))).toMatchObject({
      code: "BAD_REQUEST",
      appCode: "invalid_request",
      field: "slug",
    });
    expect(
      await failure(
        caller.workspaces.create({ name: "Bad \ud800 name", slug: "bad-name", tierCode: "free" }),
      ),
    ).toMatchObject({ code: "BAD_REQUEST", field: "name" });
  });

  it("turn a refused consumption into insufficient_credits beside the size field", async () => {
    const { workspaceId, userId } = await makeWorkspace(runtime);
    const caller = await callerFor(runtime, userId);
    const refused = await failure(
      caller.credits.consume({
        workspaceId,
        featureCode: "summarize",
        inputBytes: 10_000_000,
        idempotencyKey: "big",
      }),
    );

    expect(refused).toMatchObject({
      code: "PAYMENT_REQUIRED",
      appCode: "insufficient_credits",
      field: "inputBytes",
    });
  });

  it("reach the browser with the HTTP status, app code and per-field messages", async () => {
    const { userId } = await makeWorkspace(runtime);
    const user = await callerFor(runtime, userId);
    const taken = (await user.workspaces.list())[0]!.slug;
    const response = await overHttp(
      "workspaces.create",
      { name: "Again", slug: taken, tierCode: "free" },
      userId,
    );

    expect(response.status).toBe(409);
    expect(response.error).toMatchObject({
      message: `The address "${taken}" is taken; choose another`,
      data: {
        appCode: "conflict",
        field: "slug",
        fieldErrors: { slug: expect.any(String) },
        httpStatus: 409,
      },
    });
    expect(response.error.data.stack).toBeUndefined();
  });
});

/** Calls a query through tRPC's HTTP handler with GET, as the browser does. */
async function queryOverHttp(path: string, input: unknown, userId: string) {
  const encoded = encodeURIComponent(JSON.stringify(superjson.serialize(input)));
  const response = await fetchRequestHandler({
    endpoint: "/api/trpc",
    req: new Request(`http://localhost/api/trpc/${path}?input=${encoded}`),
    router: appRouter,
    createContext: () => createContext(runtime, userId),
  });
  const body = (await response.json()) as { error?: { json: Record<string, any> } };

  return { status: response.status, error: body.error?.json };
}

describe("date inputs", () => {
  it("refuse days and instants outside the years Tally means with a 400 naming the field", async () => {
    const admin = await makeUser(runtime, { isPlatformAdmin: true });
    for (const [input, field, message] of [
      [{ issuedTo: "9999-12-31" }, null, null],
      [{ issuedFrom: "0000-01-01" }, "issuedFrom", "The first day must fall in the years"],
      [{ issuedFrom: "1999-12-31" }, "issuedFrom", "The first day must fall in the years"],
      [{ issuedTo: "30000-01-01" }, "issuedTo", "The last day must be a date like 2027-06-30"],
    ] as const) {
      const { status, error } = await queryOverHttp("adminBilling.invoices", input, admin.id);
      if (field === null) {
        expect(status).toBe(200);
        continue;
      }
      expect(status).toBe(400);
      expect(error).toMatchObject({ data: { appCode: "invalid_request", field } });
      expect(error?.message).toContain(message);
    }

    const { workspaceId, userId } = await makeWorkspace(runtime);
    const id = crypto.randomUUID();
    for (const finalizedAt of [
      new Date(8.64e15),
      new Date(-62198755200000),
      "notadate",
      "+275760-09-13T00:00:00.000Z",
    ]) {
      const { status, error } = await queryOverHttp(
        "billing.invoices",
        { workspaceId, cursor: { finalizedAt, id } },
        userId,
      );
      expect(status).toBe(400);
      expect(error).toMatchObject({
        data: { appCode: "invalid_request", field: "cursor.finalizedAt" },
      });
      expect(error?.message).toMatch(/^The cursor's finalizedAt must /);
    }
    const fine = await queryOverHttp(
      "billing.invoices",
      { workspaceId, cursor: { finalizedAt: new Date("2027-01-01T00:00:00Z"), id } },
      userId,
    );
    expect(fine.status).toBe(200);

    const history = await queryOverHttp(
      "credits.history",
      { workspaceId, from: new Date(-62198755200000) },
      userId,
    );
    expect(history.status).toBe(400);
    expect(history.error).toMatchObject({ data: { appCode: "invalid_request", field: "from" } });
  });
});
