import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  auditLog,
  billingAdjustments,
  invoiceLines,
  invoices,
  outbox,
  workspaces,
} from "@/drizzle/schema";
import { ManualClock } from "@/server/clock";
import { execute } from "@/server/commands";
import { AppError } from "@/server/errors";
import { writeEvents } from "@/server/events/outbox";
import type { Runtime } from "@/server/runtime";
import {
  callerFor,
  makeUser,
  makeWorkspace,
  testRuntime,
  uniqueSuffix,
} from "@/test/support/runtime";

import { markInvoiceUncollectible, voidInvoice } from "./admin";
import { issueInvoice, openAdjustmentLines } from "./invoices";
import { listInvoices } from "./queries";
import { ROUNDING, type DraftLine } from "./invoice-math";

const clock = new ManualClock("2027-06-01T09:00:00.000Z");
let runtime: Runtime;
let admin: { id: string };
let caller: Awaited<ReturnType<typeof callerFor>>;
beforeAll(async () => {
  runtime = await testRuntime({
    clock,
    // Billing config comes from the environment: 20 % tax on euros.
    env: { TALLY_TAX_RATES: "EUR=20" },
  });
  admin = await makeUser(runtime, { isPlatformAdmin: true });
  caller = await callerFor(runtime, admin.id);
});
afterAll(async () => {
  await runtime.stop();
});

const asAdmin = () => ({ actor: { type: "user" as const, userId: admin.id } });

function fee(amountMinor: number, description = "Pro, monthly"): DraftLine {
  return {
    kind: "tier_fee",
    description,
    quantity: 1,
    unitAmountMinor: amountMinor,
    amountMinor,
    rounding: ROUNDING.exact,
  };
}

/** Issues an invoice the way billing does, its events written to the outbox. */
async function issue(workspaceId: string, currency: string, lines: DraftLine[]) {
  return runtime.db.transaction(async (tx) => {
    const issued = await issueInvoice(tx, clock, runtime.executeDeps.billing, {
      workspaceId,
      kind: "subscription",
      currency,
      lines,
      sourceKey: `test:${uniqueSuffix()}`,
    });
    await writeEvents(tx, issued.events, clock);

    return issued.invoice;
  });
}

/** An uninvoiced billing adjustment, as a tier change's proration leaves one. */
async function adjustment(workspaceId: string, amountMinor: number) {
  const [row] = await runtime.db
    .insert(billingAdjustments)
    .values({
      workspaceId,
      currency: "USD",
      amountMinor,
      description: "Upgrade to Business, prorated",
      kind: "proration_charge",
      periodStart: new Date("2027-06-01T00:00:00Z"),
      periodEnd: new Date("2027-07-01T00:00:00Z"),
      sourceEventId: `test:${uniqueSuffix()}`,
    })
    .returning();
  if (!row) throw new Error("adjustment insert returned nothing");

  return row;
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);

  return error;
}

describe("the admin invoice list", () => {
  it("filters by status, currency, workspace, number and issue date, newest first, with totals", async () => {
    const token = `inv${uniqueSuffix()}`;
    const acme = await makeWorkspace(runtime);
    const euro = await makeWorkspace(runtime);
    await runtime.db
      .update(workspaces)
      .set({ name: `Acme ${token}` })
      .where(eq(workspaces.id, acme.workspaceId));

    clock.set("2027-06-02T10:00:00.000Z");
    const first = await issue(acme.workspaceId, "USD", [fee(4_900)]);
    clock.set("2027-06-05T10:00:00.000Z");
    const second = await issue(acme.workspaceId, "USD", [fee(1_000), fee(-1_000, "Credit")]);
    clock.set("2027-06-09T10:00:00.000Z");
    const third = await issue(euro.workspaceId, "EUR", [fee(4_500)]);
    expect([first.status, second.status, third.status]).toEqual(["open", "paid", "open"]);
    expect(third.totalMinor).toBe(5_400);

    const byWorkspace = await caller.adminBilling.invoices({ workspace: token });
    expect(byWorkspace.rows.map((row) => row.number)).toEqual([second.number, first.number]);
    expect(byWorkspace).toMatchObject({ total: 2, pages: 1 });
    expect(byWorkspace.totalsByCurrency).toEqual([
      { currency: "USD", invoices: 2, totalMinor: 4_900, amountRemainingMinor: 4_900 },
    ]);
    expect(byWorkspace.rows[0]).toMatchObject({
      workspaceId: acme.workspaceId,
      workspaceSlug: acme.slug,
      issuedAt: new Date("2027-06-05T10:00:00.000Z"),
    });

    const open = await caller.adminBilling.invoices({ statuses: ["open"], currency: "eur" });
    expect(open.rows.map((row) => row.id)).toContain(third.id);
    expect(open.rows.every((row) => row.currency === "EUR" && row.status === "open")).toBe(true);

    const byNumber = await caller.adminBilling.invoices({ number: first.number!.slice(-6) });
    expect(byNumber.rows.map((row) => row.id)).toEqual([first.id]);

    const inJune = await caller.adminBilling.invoices({
      issuedFrom: "2027-06-03",
      issuedTo: "2027-06-05",
    });
    expect(inJune.rows.map((row) => row.id)).toEqual([second.id]);

    const paged = await caller.adminBilling.invoices({ pageSize: 10, page: 1 });
    expect(paged.rows.map((row) => row.id).slice(0, 3)).toEqual([third.id, second.id, first.id]);

    await expect(
      caller.adminBilling.invoices({ issuedFrom: "2027-06-05", issuedTo: "2027-06-01" }),
    ).rejects.toMatchObject({ cause: { code: "invalid_request", field: "issuedTo" } });
    await expect(caller.adminBilling.invoices({ currency: "EURO" })).rejects.toMatchObject({
      code: "BAD_REQUEST",
    });
  });
});

describe("an invoice's detail", () => {
  it("has the parties, the lines with their rounding, the totals and the invoice's events", async () => {
    const { workspaceId, slug } = await makeWorkspace(runtime);
    const invoice = await issue(workspaceId, "EUR", [fee(4_500), fee(1_100, "1 extra seat")]);

    const detail = await caller.adminBilling.invoice({ invoiceId: invoice.id });
    expect(detail).toMatchObject({
      id: invoice.id,
      number: invoice.number,
      status: "open",
      currency: "EUR",
      subtotalMinor: 5_600,
      taxRateBps: 2_000,
      taxMinor: 1_120,
      totalMinor: 6_720,
      amountDueMinor: 6_720,
      workspace: { id: workspaceId, slug },
      seller: { name: "Tally" },
      buyer: { lines: [`Workspace ${slug}`] },
    });
    expect(detail.lines.map((line) => [line.position, line.amountMinor, line.rounding])).toEqual([
      [1, 4_500, ROUNDING.exact],
      [2, 1_100, ROUNDING.exact],
    ]);
    expect(detail.events.map((event) => event.name)).toEqual([
      "billing/invoice-generated",
      "billing/payment-requested",
    ]);

    await expect(
      caller.adminBilling.invoice({ invoiceId: crypto.randomUUID() }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("voiding an invoice", () => {
  it("voids an open invoice with its reason, releases its adjustments and audits it", async () => {
    const { workspaceId } = await makeWorkspace(runtime);
    const upgrade = await adjustment(workspaceId, 2_500);
    const invoice = await issue(workspaceId, "USD", [
      fee(4_900),
      ...(await openAdjustmentLines(runtime.db, workspaceId, "USD")),
    ]);
    expect(invoice.totalMinor).toBe(7_400);

    clock.set("2027-06-20T08:00:00.000Z");
    const result = await caller.adminBilling.voidInvoice({
      invoiceId: invoice.id,
      reason: "  Billed the wrong tier  ",
    });
    expect(result).toMatchObject({ status: "void", number: invoice.number });

    const [voided] = await runtime.db.select().from(invoices).where(eq(invoices.id, invoice.id));
    expect(voided).toMatchObject({
      status: "void",
      voidReason: "Billed the wrong tier",
      voidedAt: new Date("2027-06-20T08:00:00.000Z"),
      number: invoice.number,
      totalMinor: 7_400,
    });
    const [released] = await runtime.db
      .select()
      .from(billingAdjustments)
      .where(eq(billingAdjustments.id, upgrade.id));
    expect(released).toMatchObject({ invoicedAt: null, invoiceId: null });
    // The voided invoice keeps its lines as issued, without the link the next invoice takes.
    const lines = await runtime.db
      .select()
      .from(invoiceLines)
      .where(eq(invoiceLines.invoiceId, invoice.id));
    expect(lines.map((line) => [line.amountMinor, line.adjustmentId])).toEqual([
      [4_900, null],
      [2_500, null],
    ]);

    const [voidedEvent] = await runtime.db
      .select()
      .from(outbox)
      .where(and(eq(outbox.workspaceId, workspaceId), eq(outbox.name, "billing/invoice-voided")));
    expect(voidedEvent?.data).toEqual({
      workspaceId,
      invoiceId: invoice.id,
      number: invoice.number,
      reason: "Billed the wrong tier",
    });
    const [entry] = await runtime.db
      .select()
      .from(auditLog)
      .where(
        and(eq(auditLog.workspaceId, workspaceId), eq(auditLog.command, "billing.voidInvoice")),
      );
    expect(entry).toMatchObject({
      actorType: "user",
      actorId: admin.id,
      summary: {
        invoiceId: invoice.id,
        from: "open",
        to: "void",
        reason: "Billed the wrong tier",
        releasedAdjustments: [upgrade.id],
      },
    });

    // The next invoice takes the released charge up: nothing is lost.
    const next = await issue(workspaceId, "USD", [
      fee(4_900),
      ...(await openAdjustmentLines(runtime.db, workspaceId, "USD")),
    ]);
    expect(next.totalMinor).toBe(7_400);
    const [takenAgain] = await runtime.db
      .select()
      .from(billingAdjustments)
      .where(eq(billingAdjustments.id, upgrade.id));
    expect(takenAgain?.invoiceId).toBe(next.id);

    const detail = await caller.adminBilling.invoice({ invoiceId: invoice.id });
    expect(detail.events.map((event) => event.name)).toContain("billing/invoice-voided");
  });

  it("refuses a paid, void, uncollectible or draft invoice with conflict, and a missing reason", async () => {
    const { workspaceId } = await makeWorkspace(runtime);
    const paid = await issue(workspaceId, "USD", [fee(0)]);
    expect(paid.status).toBe("paid");
    const open = await issue(workspaceId, "USD", [fee(1_200)]);
    const [draft] = await runtime.db
      .insert(invoices)
      .values({
        workspaceId,
        kind: "proration",
        currency: "USD",
        sourceKey: `draft:${uniqueSuffix()}`,
      })
      .returning();

    const reason = "Duplicate of another invoice";
    const paidError = await refusal(
      execute(runtime, voidInvoice, { invoiceId: paid.id, reason }, asAdmin()),
    );
    expect(paidError).toMatchObject({ code: "conflict", details: { status: "paid" } });
    expect(paidError.message).toBe(`${paid.number} is paid; only an open invoice can be voided`);
    const draftError = await refusal(
      execute(runtime, voidInvoice, { invoiceId: draft!.id, reason }, asAdmin()),
    );
    expect(draftError).toMatchObject({ code: "conflict", details: { status: "draft" } });

    const short = await refusal(
      execute(runtime, voidInvoice, { invoiceId: open.id, reason: " no" }, asAdmin()),
    );
    expect(short).toMatchObject({ code: "invalid_request", field: "reason" });
    await expect(
      caller.adminBilling.voidInvoice({ invoiceId: open.id, reason: "" }),
    ).rejects.toMatchObject({ code: "BAD_REQUEST" });

    await execute(runtime, voidInvoice, { invoiceId: open.id, reason }, asAdmin());
    const again = await refusal(
      execute(runtime, voidInvoice, { invoiceId: open.id, reason }, asAdmin()),
    );
    expect(again).toMatchObject({ code: "conflict", message: `${open.number} is already void` });
    const missing = await refusal(
      execute(runtime, voidInvoice, { invoiceId: crypto.randomUUID(), reason }, asAdmin()),
    );
    expect(missing.code).toBe("not_found");
  });
});

describe("marking an invoice uncollectible", () => {
  it("writes off an open invoice, keeps what it took up, and then refuses to void it", async () => {
    const { workspaceId } = await makeWorkspace(runtime);
    const charge = await adjustment(workspaceId, 800);
    const invoice = await issue(workspaceId, "USD", [
      fee(4_900),
      ...(await openAdjustmentLines(runtime.db, workspaceId, "USD")),
    ]);

    clock.set("2027-07-01T00:00:00.000Z");
    await caller.adminBilling.markUncollectible({ invoiceId: invoice.id });
    const [row] = await runtime.db.select().from(invoices).where(eq(invoices.id, invoice.id));
    expect(row).toMatchObject({
      status: "uncollectible",
      uncollectibleAt: new Date("2027-07-01T00:00:00.000Z"),
    });
    const [kept] = await runtime.db
      .select()
      .from(billingAdjustments)
      .where(eq(billingAdjustments.id, charge.id));
    expect(kept?.invoiceId).toBe(invoice.id);
    const [written] = await runtime.db
      .select()
      .from(outbox)
      .where(
        and(eq(outbox.workspaceId, workspaceId), eq(outbox.name, "billing/invoice-uncollectible")),
      );
    expect(written?.data).toEqual({ workspaceId, invoiceId: invoice.id, number: invoice.number });
    const [entry] = await runtime.db
      .select()
      .from(auditLog)
      .where(
        and(
          eq(auditLog.workspaceId, workspaceId),
          eq(auditLog.command, "billing.markUncollectible"),
        ),
      );
    expect(entry?.summary).toMatchObject({
      from: "open",
      to: "uncollectible",
      amountDueMinor: 5_700,
    });

    const voiding = await refusal(
      execute(runtime, voidInvoice, { invoiceId: invoice.id, reason: "Too late" }, asAdmin()),
    );
    expect(voiding).toMatchObject({ code: "conflict", details: { status: "uncollectible" } });
    const twice = await refusal(
      execute(runtime, markInvoiceUncollectible, { invoiceId: invoice.id }, asAdmin()),
    );
    expect(twice.message).toBe(`${invoice.number} is already marked uncollectible`);
  });
});

describe("what remains to pay", () => {
  it("is nothing on void and uncollectible invoices, in the list, its totals, the detail and the portal", async () => {
    const { workspaceId, slug } = await makeWorkspace(runtime);
    const token = slug;
    clock.set("2027-08-01T00:00:00.000Z");
    const voided = await issue(workspaceId, "USD", [fee(48_055)]);
    const written = await issue(workspaceId, "USD", [fee(2_000)]);
    const open = await issue(workspaceId, "USD", [fee(1_000)]);
    await execute(
      runtime,
      voidInvoice,
      { invoiceId: voided.id, reason: "Billed twice" },
      asAdmin(),
    );
    await execute(runtime, markInvoiceUncollectible, { invoiceId: written.id }, asAdmin());

    const list = await caller.adminBilling.invoices({ workspace: token });
    const remaining = Object.fromEntries(
      list.rows.map((row) => [row.number, row.amountRemainingMinor]),
    );
    expect(remaining).toEqual({ [voided.number!]: 0, [written.number!]: 0, [open.number!]: 1_000 });
    // Totals count every invoice, but only the open one is still to pay.
    expect(list.totalsByCurrency).toEqual([
      { currency: "USD", invoices: 3, totalMinor: 51_055, amountRemainingMinor: 1_000 },
    ]);
    for (const [invoice, due] of [
      [voided, 0],
      [written, 0],
      [open, 1_000],
    ] as const) {
      const detail = await caller.adminBilling.invoice({ invoiceId: invoice.id });
      expect(detail.amountRemainingMinor).toBe(due);
      expect(detail.totals.at(-1)).toEqual({
        label: "Amount due",
        amountMinor: due,
        emphasis: true,
      });
    }
    const portal = await listInvoices(runtime.db, workspaceId);
    expect(
      Object.fromEntries(portal.invoices.map((row) => [row.number, row.amountRemainingMinor])),
    ).toEqual(remaining);
  });
});

describe("the admin workspace detail", () => {
  it("lists the workspace's invoices, newest first", async () => {
    const { workspaceId } = await makeWorkspace(runtime);
    clock.set("2027-07-02T00:00:00.000Z");
    const older = await issue(workspaceId, "USD", [fee(4_900)]);
    clock.set("2027-07-03T00:00:00.000Z");
    const newer = await issue(workspaceId, "USD", [fee(1_200)]);

    const detail = await caller.workspaces.admin.detail({ workspaceId });
    expect(detail.invoices).toEqual([
      expect.objectContaining({
        id: newer.id,
        number: newer.number,
        status: "open",
        totalMinor: 1_200,
      }),
      expect.objectContaining({ id: older.id, number: older.number, totalMinor: 4_900 }),
    ]);
  });
});
