import { randomUUID } from "node:crypto";

import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { invoices } from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import type { Runtime } from "@/server/runtime";
import { makeWorkspace, testRuntime } from "@/test/support/runtime";

import { ROUNDING } from "./invoice-math";
import { issueInvoice } from "./invoices";

/** Invoice numbers: sequential per year, given out when an invoice leaves draft, never reused. */
const clock = new ManualClock("2031-03-01T10:00:00Z");
let runtime: Runtime;
let workspaceId: string;

beforeAll(async () => {
  runtime = await testRuntime({ clock, pool: 12 });
  workspaceId = (await makeWorkspace(runtime)).workspaceId;
});
afterAll(async () => {
  await runtime.stop();
});

async function issue(amountMinor = 1_000) {
  return runtime.db.transaction(async (tx) => {
    const issued = await issueInvoice(tx, clock, runtime.executeDeps.billing, {
      workspaceId,
      kind: "proration",
      currency: "USD",
      sourceKey: `test:${randomUUID()}`,
      lines: [
        {
          kind: "proration",
          description: "A test line",
          quantity: 1,
          unitAmountMinor: null,
          amountMinor,
          rounding: ROUNDING.exact,
        },
      ],
    });

    return issued.invoice.number;
  });
}

describe("invoice numbers", () => {
  it("run on in order within a year", async () => {
    clock.set("2031-03-01T10:00:00Z");
    expect([await issue(), await issue(), await issue()]).toEqual([
      "INV-2031-000001",
      "INV-2031-000002",
      "INV-2031-000003",
    ]);
  });

  it("start again at 1 in a new year, by the moment the invoice leaves draft", async () => {
    clock.set("2032-12-31T23:59:59Z");
    expect(await issue()).toBe("INV-2032-000001");
    clock.set("2033-01-01T00:00:00Z");
    expect(await issue()).toBe("INV-2033-000001");
    clock.set("2032-12-31T23:59:59Z");
    expect(await issue()).toBe("INV-2032-000002");
  });

  it("are distinct and consecutive when invoices are finalized at the same time", async () => {
    clock.set("2034-05-05T05:00:00Z");
    const numbers = await Promise.all(Array.from({ length: 8 }, () => issue()));
    expect(numbers.toSorted()).toEqual(
      Array.from({ length: 8 }, (_, i) => `INV-2034-00000${i + 1}`),
    );
  });

  it("are never given to two invoices: a rolled-back finalization leaves no gap and no twin", async () => {
    clock.set("2035-06-06T06:00:00Z");
    expect(await issue()).toBe("INV-2035-000001");
    await expect(
      runtime.db.transaction(async (tx) => {
        await issueInvoice(tx, clock, runtime.executeDeps.billing, {
          workspaceId,
          kind: "proration",
          currency: "USD",
          sourceKey: "test:rolled-back",
          lines: [],
        });
        throw new Error("the rest of the transaction failed");
      }),
    ).rejects.toThrow("the rest of the transaction failed");
    expect(await issue()).toBe("INV-2035-000002");
    expect(await issue()).toBe("INV-2035-000003");

    const rows = await runtime.db
      .select({ number: invoices.number, sourceKey: invoices.sourceKey })
      .from(invoices)
      .where(eq(invoices.workspaceId, workspaceId));
    const numbers = rows.map((row) => row.number);
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(rows.some((row) => row.sourceKey === "test:rolled-back")).toBe(false);
  });

  it("issue one invoice per source, however often asked", async () => {
    clock.set("2036-01-10T10:00:00Z");
    const input = {
      workspaceId,
      kind: "proration" as const,
      currency: "USD",
      sourceKey: "test:once",
      lines: [],
    };
    const [first, second] = await Promise.all([
      runtime.db.transaction((tx) => issueInvoice(tx, clock, runtime.executeDeps.billing, input)),
      runtime.db.transaction((tx) => issueInvoice(tx, clock, runtime.executeDeps.billing, input)),
    ]);
    expect(first.invoice.id).toBe(second.invoice.id);
    expect([first.created, second.created].toSorted()).toEqual([false, true]);
    // No lines: nothing due, so it is paid at once.
    expect(first.invoice).toMatchObject({ status: "paid", number: "INV-2036-000001" });
  });
});
