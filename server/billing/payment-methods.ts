import { randomUUID } from "node:crypto";

import { and, eq, inArray } from "drizzle-orm";
import { z } from "zod";

import { billingCustomers, invoices, payments, subscriptions, workspaces } from "@/drizzle/schema";
import { defineCommand, execute, type CommandMeta } from "@/server/commands";
import type { Tx } from "@/server/db/client";
import { AppError } from "@/server/errors";
import { event, type EventDraft } from "@/server/events/catalogue";
import { writeEvents } from "@/server/events/outbox";
import type { ReactionDeps } from "@/server/events/reactions";
import type { Logger } from "@/server/logger";
import type { SavedPaymentMethod } from "@/server/payments/gateway";
import type { StripeEventHandler } from "@/server/payments/reactions";
import type { Runtime } from "@/server/runtime";

import { chargeInvoice, remainingOf, type ChargeOutcome } from "./collection";

/**
 * The card a workspace's invoices are charged to, and paying an invoice on
 * demand. The card is saved on a hosted page in setup mode (startCardSetup);
 * the gateway's checkout.session.completed webhook makes it the customer's
 * default and records it on the subscription (payment_method_ref/label),
 * which emits billing/payment-method-updated, and an open dunning case
 * retries at once (dunning.ts). A card saved while buying credits becomes
 * the invoices' card too when the workspace has none.
 */

type BillingRuntime = Pick<
  Runtime,
  "db" | "clock" | "logger" | "wake" | "gateway" | "env" | "executeDeps"
>;

const workspaceInput = z.object({ workspaceId: z.uuid() });

async function customerOf(tx: Tx, workspaceId: string) {
  const [customer] = await tx
    .select()
    .from(billingCustomers)
    .where(eq(billingCustomers.workspaceId, workspaceId));
  if (!customer) {
    throw new AppError(
      "conflict",
      "Payments for this workspace are still being set up; try again in a minute",
    );
  }

  return customer;
}

/**
 * Asks for a card page: checks the workspace can still pay and has a
 * customer at the gateway, and names the setup (a fresh id, the gateway's
 * idempotency key) that beginCardSetup then opens.
 */
export const startCardSetup = defineCommand({
  name: "billing.startCardSetup",
  input: workspaceInput,
  async run({ tx }, input) {
    const [workspace] = await tx
      .select({ slug: workspaces.slug, status: workspaces.status })
      .from(workspaces)
      .where(eq(workspaces.id, input.workspaceId));
    if (!workspace) throw new AppError("not_found", "Workspace not found");
    if (workspace.status === "cancelled") {
      throw new AppError(
        "workspace_read_only",
        "This workspace is cancelled; it pays nothing more",
      );
    }
    const customer = await customerOf(tx, input.workspaceId);
    const setupId = randomUUID();

    return {
      result: {
        setupId,
        slug: workspace.slug,
        customerId: customer.customerId,
        gateway: customer.gateway,
      },
      workspaceId: input.workspaceId,
      audit: { setupId },
    };
  },
});

/**
 * Opens a hosted page on which the customer saves (or replaces) the
 * workspace's card; returns where to send the browser. The page returns to
 * the billing page either way.
 */
export async function beginCardSetup(
  runtime: BillingRuntime,
  input: z.input<typeof workspaceInput>,
  meta: CommandMeta,
): Promise<{ url: string }> {
  const started = await execute(runtime, startCardSetup, input, meta);
  if (started.gateway !== runtime.gateway.kind) {
    throw new AppError(
      "conflict",
      `This workspace pays through the ${started.gateway} gateway, which is not the one in use`,
    );
  }
  const billingUrl = `${runtime.env.APP_URL}/w/${started.slug}/billing`;
  try {
    const session = await runtime.gateway.createSetupSession(
      {
        workspaceId: input.workspaceId,
        customerId: started.customerId,
        successUrl: `${billingUrl}?card=saved`,
        cancelUrl: `${billingUrl}?card=cancelled`,
      },
      `setup:${started.setupId}`,
    );

    return { url: session.url };
  } catch (error) {
    (meta.log ?? runtime.logger).error(
      { err: error, setupId: started.setupId },
      "card setup page could not be opened",
    );
    throw new AppError("internal", "The card page could not be opened; try again", {
      cause: error,
    });
  }
}

/**
 * Records `card` as the workspace's card for invoices: the customer's
 * default at the gateway and the subscription's card, with
 * billing/payment-method-updated. The same card again changes nothing.
 */
export async function recordSavedCard(
  tx: Tx,
  deps: ReactionDeps,
  log: Logger,
  input: { workspaceId: string; customerId: string; card: SavedPaymentMethod },
): Promise<EventDraft[]> {
  const [subscription] = await tx
    .select({ ref: subscriptions.paymentMethodRef, label: subscriptions.paymentMethodLabel })
    .from(subscriptions)
    .where(eq(subscriptions.workspaceId, input.workspaceId))
    .for("update");
  if (!subscription) {
    log.info({ workspaceId: input.workspaceId }, "no subscription to save the card on");
    return [];
  }
  if (subscription.ref === input.card.ref && subscription.label === input.card.label) return [];

  await deps.gateway.setDefaultPaymentMethod(input.customerId, input.card.ref);
  await tx
    .update(subscriptions)
    .set({
      paymentMethodRef: input.card.ref,
      paymentMethodLabel: input.card.label,
      updatedAt: deps.clock.now(),
    })
    .where(eq(subscriptions.workspaceId, input.workspaceId));
  log.info({ workspaceId: input.workspaceId, card: input.card.label }, "card saved for invoices");

  return [
    event("billing/payment-method-updated", {
      workspaceId: input.workspaceId,
      paymentMethodRef: input.card.ref,
      label: input.card.label,
    }),
  ];
}

const completedSession = z
  .object({
    id: z.string(),
    object: z.literal("checkout.session"),
    mode: z.string().nullish(),
    status: z.string().nullish(),
    customer: z.union([z.string(), z.object({ id: z.string() }).loose()]).nullish(),
    metadata: z.record(z.string(), z.unknown()).nullish(),
  })
  .loose();

/**
 * checkout.session.completed: a setup session saves its card as the
 * workspace's card for invoices; a payment session (a credit purchase)
 * makes the card it saved the workspace's card when it has none yet.
 */
const sessionCompleted: StripeEventHandler = async (tx, payload, { deps, log }) => {
  const parsed = completedSession.safeParse((payload.data as { object?: unknown })?.object);
  if (!parsed.success) return [];
  const session = parsed.data;
  const customerId =
    typeof session.customer === "string" ? session.customer : (session.customer?.id ?? null);
  if (!customerId) return [];
  const [customer] = await tx
    .select()
    .from(billingCustomers)
    .where(eq(billingCustomers.customerId, customerId));
  if (!customer) {
    log.info({ sessionId: session.id }, "checkout session of no Tally customer; acknowledged");
    return [];
  }
  const workspaceId = customer.workspaceId;

  if (session.mode === "setup") {
    const full = await deps.gateway.retrieveCheckoutSession(session.id);
    const card = full?.setupPaymentMethod ?? null;
    if (!card) throw new Error(`Setup session ${session.id} names no saved card (yet)`);

    return recordSavedCard(tx, deps, log, { workspaceId, customerId, card });
  }

  const [subscription] = await tx
    .select({ ref: subscriptions.paymentMethodRef })
    .from(subscriptions)
    .where(eq(subscriptions.workspaceId, workspaceId));
  if (!subscription || subscription.ref) return [];
  const card = await deps.gateway.defaultPaymentMethod(customerId);
  if (!card) return [];

  return recordSavedCard(tx, deps, log, { workspaceId, customerId, card });
};

export const paymentMethodWebhookHandlers: Record<string, StripeEventHandler> = {
  "checkout.session.completed": sessionCompleted,
};

// ---------------------------------------------------------------------------
// Pay now.

export const payInvoiceInput = z.object({
  workspaceId: z.uuid(),
  invoiceId: z.uuid({ error: "Not an invoice id" }),
});

/**
 * Checks that an invoice can be paid now with the saved card: the
 * workspace's own, open, money remaining, a card saved, no payment of it in
 * flight. The charge follows (payInvoiceNow), through the same path as
 * collection and dunning.
 */
export const payInvoice = defineCommand({
  name: "billing.payInvoice",
  input: payInvoiceInput,
  async run({ tx }, input) {
    const [invoice] = await tx
      .select()
      .from(invoices)
      .where(and(eq(invoices.id, input.invoiceId), eq(invoices.workspaceId, input.workspaceId)));
    if (!invoice) throw new AppError("not_found", "Invoice not found", { field: "invoiceId" });
    if (invoice.status !== "open") {
      throw new AppError("conflict", `${invoice.number ?? "This invoice"} is ${invoice.status}`, {
        field: "invoiceId",
        details: { status: invoice.status },
      });
    }
    if (remainingOf(invoice) === 0) {
      throw new AppError("conflict", `Nothing remains to pay on ${invoice.number}`, {
        field: "invoiceId",
      });
    }
    const [subscription] = await tx
      .select({ ref: subscriptions.paymentMethodRef, label: subscriptions.paymentMethodLabel })
      .from(subscriptions)
      .where(eq(subscriptions.workspaceId, input.workspaceId));
    if (!subscription?.ref) {
      throw new AppError(
        "payment_method_required",
        "No card is saved for this workspace: save a card first, then pay",
        { field: "invoiceId" },
      );
    }
    const inFlight = await tx
      .select({ id: payments.id })
      .from(payments)
      .where(
        and(
          eq(payments.invoiceId, invoice.id),
          inArray(payments.status, ["pending", "processing"]),
        ),
      );
    if (inFlight.length > 0) {
      throw new AppError(
        "conflict",
        `A payment of ${invoice.number} is already in progress; wait for its result`,
        { field: "invoiceId" },
      );
    }

    return {
      result: { invoiceId: invoice.id, number: invoice.number, card: subscription.label },
      workspaceId: input.workspaceId,
      audit: {
        invoiceId: invoice.id,
        number: invoice.number,
        amountMinor: remainingOf(invoice),
        currency: invoice.currency,
      },
    };
  },
});

/**
 * Pays an open invoice now with the saved card: the checks, then the charge
 * under the invoice's lock, ended at once by the gateway's answer (a
 * success pays the invoice and closes its dunning case, which reactivates a
 * workspace dunning suspended). A decline is an answer, not an error.
 */
export async function payInvoiceNow(
  runtime: BillingRuntime,
  input: z.input<typeof payInvoiceInput>,
  meta: CommandMeta,
): Promise<{ status: "succeeded" | "processing" | "failed"; message: string | null }> {
  const checked = await execute(runtime, payInvoice, input, meta);
  const log = (meta.log ?? runtime.logger).child({ invoiceId: checked.invoiceId });
  const outcome: ChargeOutcome = await runtime.db.transaction(async (tx) => {
    const charged = await chargeInvoice(tx, runtime.executeDeps, log, {
      invoiceId: checked.invoiceId,
      trigger: "customer",
    });
    await writeEvents(tx, charged.events, runtime.clock, { requestId: meta.requestId ?? null });

    return charged.outcome;
  });
  runtime.wake();
  if (outcome.status === "skipped") {
    throw new AppError("conflict", `Not charged: ${outcome.reason}`, { field: "invoiceId" });
  }

  return {
    status: outcome.status,
    message:
      outcome.status === "failed"
        ? `${checked.card ?? "The card"} was declined: ${outcome.failureMessage ?? "no reason given"}`
        : null,
  };
}
