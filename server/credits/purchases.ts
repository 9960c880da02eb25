import { createHash, randomUUID } from "node:crypto";

import { and, desc, eq, inArray } from "drizzle-orm";
import { z } from "zod";

import {
  billingCustomers,
  creditGrants,
  creditPacks,
  creditPurchases,
  creditRefunds,
  payments,
  workspaces,
} from "@/drizzle/schema";
import type { Actor } from "@/server/actor";
import type { Clock } from "@/server/clock";
import { defineCommand, execute, type CommandMeta } from "@/server/commands";
import type { Db, Tx } from "@/server/db/client";
import { AppError } from "@/server/errors";
import { event, type EventDraft } from "@/server/events/catalogue";
import type { Logger } from "@/server/logger";
import { formatMoney } from "@/server/money";
import type { Runtime } from "@/server/runtime";

import { grantCredits, lowBalanceThresholdOf } from "./ledger";
import { proRataMinor } from "./refund-rule";

/**
 * Buying credit packs. A purchase is one attempt to buy one pack, with the
 * pack's credits and price copied in. It starts pending; the gateway's
 * success events (checkout.session.completed, payment_intent.succeeded, or
 * the answer to an off-session charge) complete it through one function,
 * completePurchase, which locks the purchase row and grants its credits once
 * (grant key `purchase:<id>`), whichever of them arrives first and however
 * often each arrives.
 */

/** Purchased credits are drawn last: after allowances (100), bonuses (110) and adjustments (150). */
export const PURCHASE_PRIORITY = 200;

/**
 * A UUID derived from a name, so a retried reaction makes the same purchase
 * (and so the same gateway idempotency key) rather than a second one.
 */
export function uuidFromName(name: string): string {
  const bytes = createHash("sha256").update(name).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");

  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function packDescription(pack: { name: string; credits: number }): string {
  return `${pack.name}: ${pack.credits.toLocaleString("en-US")} credits`;
}

export const startPurchaseInput = z.object({
  workspaceId: z.uuid(),
  packId: z.uuid({ error: "Choose a credit pack" }),
});

/**
 * A pending purchase of one pack by checkout. The checkout session is opened
 * after this commits (buyPack), since it is a call to the gateway.
 */
export const startPurchase = defineCommand({
  name: "credits.startPurchase",
  input: startPurchaseInput,
  async run({ tx, actor, clock }, input) {
    const [workspace] = await tx
      .select({ slug: workspaces.slug, status: workspaces.status })
      .from(workspaces)
      .where(eq(workspaces.id, input.workspaceId));
    if (!workspace) throw new AppError("not_found", "Workspace not found");
    // A suspended workspace may still buy credits, ready for when it is reactivated; a cancelled
    // one cannot.
    if (workspace.status === "cancelled") {
      throw new AppError(
        "workspace_read_only",
        "This workspace is cancelled; it cannot buy credits",
      );
    }
    const [pack] = await tx.select().from(creditPacks).where(eq(creditPacks.id, input.packId));
    if (!pack || pack.archivedAt) {
      throw new AppError("invalid_request", "This pack is no longer offered; choose another", {
        field: "packId",
      });
    }
    const [customer] = await tx
      .select()
      .from(billingCustomers)
      .where(eq(billingCustomers.workspaceId, input.workspaceId));
    if (!customer) {
      throw new AppError(
        "conflict",
        "Payments for this workspace are still being set up; try again in a minute",
      );
    }

    const purchaseId = randomUUID();
    await tx.insert(creditPurchases).values({
      id: purchaseId,
      workspaceId: input.workspaceId,
      packId: pack.id,
      credits: pack.credits,
      amountMinor: pack.priceMinor,
      currency: pack.currency,
      origin: "checkout",
      gateway: customer.gateway,
      userId: actor.type === "user" ? actor.userId : null,
      createdAt: clock.now(),
    });

    return {
      result: {
        purchaseId,
        workspaceSlug: workspace.slug,
        customerId: customer.customerId,
        gateway: customer.gateway,
        description: packDescription(pack),
        amountMinor: pack.priceMinor,
        currency: pack.currency,
      },
      workspaceId: input.workspaceId,
      audit: {
        purchaseId,
        packId: pack.id,
        credits: pack.credits,
        amountMinor: pack.priceMinor,
        currency: pack.currency,
      },
    };
  },
});

/** Records the checkout session opened for a pending purchase, or why none could be. */
export const recordCheckout = defineCommand({
  name: "credits.recordCheckout",
  input: z.object({
    workspaceId: z.uuid(),
    purchaseId: z.uuid(),
    outcome: z.discriminatedUnion("kind", [
      z.object({ kind: z.literal("opened"), sessionId: z.string().min(1), url: z.string().min(1) }),
      z.object({ kind: z.literal("failed"), reason: z.string().min(1).max(500) }),
    ]),
  }),
  async run({ tx }, input) {
    const { outcome } = input;
    const set =
      outcome.kind === "opened"
        ? { checkoutSessionId: outcome.sessionId, checkoutUrl: outcome.url }
        : { status: "failed" as const, failureReason: outcome.reason };
    await tx
      .update(creditPurchases)
      .set(set)
      .where(
        and(
          eq(creditPurchases.id, input.purchaseId),
          eq(creditPurchases.workspaceId, input.workspaceId),
          eq(creditPurchases.status, "pending"),
        ),
      );

    return { result: undefined, workspaceId: input.workspaceId };
  },
});

/**
 * Starts buying a pack: a pending purchase, then a checkout session at the
 * gateway (idempotency key `checkout:<purchaseId>`), whose page the customer
 * pays on. Returns where to send the browser.
 */
export async function buyPack(
  runtime: Pick<Runtime, "db" | "clock" | "logger" | "wake" | "gateway" | "env">,
  input: z.input<typeof startPurchaseInput>,
  meta: CommandMeta,
): Promise<{ purchaseId: string; checkoutUrl: string }> {
  const started = await execute(runtime, startPurchase, input, meta);
  const scope = { workspaceId: input.workspaceId };
  if (started.gateway !== runtime.gateway.kind) {
    await execute(
      runtime,
      recordCheckout,
      {
        ...scope,
        purchaseId: started.purchaseId,
        outcome: {
          kind: "failed",
          reason: `The workspace's customer is at the ${started.gateway} gateway`,
        },
      },
      meta,
    );
    throw new AppError(
      "conflict",
      `This workspace pays through the ${started.gateway} gateway, which is not the one in use`,
    );
  }

  const successUrl =
    `${runtime.env.APP_URL}/w/${started.workspaceSlug}/credits?purchase=` + started.purchaseId;
  let session;
  try {
    session = await runtime.gateway.createCheckoutSession(
      {
        purchaseId: started.purchaseId,
        workspaceId: input.workspaceId,
        customerId: started.customerId,
        description: started.description,
        amountMinor: started.amountMinor,
        currency: started.currency,
        successUrl,
        cancelUrl: `${successUrl}&checkout=cancelled`,
      },
      `checkout:${started.purchaseId}`,
    );
  } catch (error) {
    (meta.log ?? runtime.logger).error(
      { err: error, purchaseId: started.purchaseId },
      "checkout session could not be created",
    );
    await execute(
      runtime,
      recordCheckout,
      {
        ...scope,
        purchaseId: started.purchaseId,
        outcome: { kind: "failed", reason: "The payment page could not be opened" },
      },
      meta,
    );
    throw new AppError("internal", "The payment page could not be opened; try again", {
      cause: error,
    });
  }
  await execute(
    runtime,
    recordCheckout,
    {
      ...scope,
      purchaseId: started.purchaseId,
      outcome: { kind: "opened", sessionId: session.sessionId, url: session.url },
    },
    meta,
  );

  return { purchaseId: started.purchaseId, checkoutUrl: session.url };
}

type PurchaseRow = typeof creditPurchases.$inferSelect;

async function lockPurchase(tx: Tx, purchaseId: string): Promise<PurchaseRow | undefined> {
  const [row] = await tx
    .select()
    .from(creditPurchases)
    .where(eq(creditPurchases.id, purchaseId))
    .for("update");

  return row;
}

export interface PaymentFacts {
  purchaseId: string;
  /** The gateway's payment id; null when the event does not name one. */
  paymentIntentId: string | null;
  /** The charge (ch_…) that took the money, when the event names it. */
  chargeId?: string | null;
  /** What the gateway says was paid; an event that does not say is refused. */
  amountMinor: number | null;
  currency: string | null;
  /** The checkout session the event is about, when it is one. */
  checkoutSessionId?: string | null;
  /** The workspace the event's metadata names, when it names one. */
  workspaceId?: unknown;
  actor: Actor;
}

/**
 * Marks a purchase paid and grants its credits, once. Every success path
 * ends here with the purchase row locked: the second event, a duplicate, or
 * the webhook after a synchronous top-up finds it paid and changes nothing
 * (beyond recording a payment id it did not know yet).
 *
 * A payment that does not match the purchase (another or no amount or
 * currency, another checkout session, another workspace) is refused with an
 * error: the event is retried and then dead-lettered for an admin, rather
 * than granting the wrong credits. A second, different payment intent for a
 * paid purchase grants nothing and is logged as an error.
 */
export async function completePurchase(
  tx: Tx,
  clock: Clock,
  log: Logger,
  facts: PaymentFacts,
): Promise<EventDraft[]> {
  const purchase = await lockPurchase(tx, facts.purchaseId);
  if (!purchase) throw new Error(`Purchase ${facts.purchaseId} not found`);
  const refused = (why: string) =>
    new Error(`The payment event does not match purchase ${purchase.id}: ${why}`);
  if (
    facts.amountMinor === null ||
    facts.currency === null ||
    facts.amountMinor !== purchase.amountMinor ||
    facts.currency.toUpperCase() !== purchase.currency.toUpperCase()
  ) {
    throw refused(
      `it says ${facts.amountMinor ?? "no amount"} ${facts.currency ?? "in no currency"}; the ` +
        `purchase costs ${purchase.amountMinor} ${purchase.currency}`,
    );
  }
  if (facts.checkoutSessionId && facts.checkoutSessionId !== purchase.checkoutSessionId) {
    throw refused(
      `it is about checkout session ${facts.checkoutSessionId}; the purchase's is ` +
        `${purchase.checkoutSessionId ?? "none"}`,
    );
  }
  if (
    facts.workspaceId !== undefined &&
    facts.workspaceId !== null &&
    facts.workspaceId !== purchase.workspaceId
  ) {
    throw refused(
      `it names workspace ${String(facts.workspaceId)}; the purchase is ${purchase.workspaceId}'s`,
    );
  }
  if (purchase.status === "paid") {
    if (
      purchase.paymentIntentId &&
      facts.paymentIntentId &&
      purchase.paymentIntentId !== facts.paymentIntentId
    ) {
      // TODO: a second payment for a paid purchase is only logged; it is neither recorded as a payment nor refunded, so an admin must refund it at the gateway.
      log.error(
        {
          purchaseId: purchase.id,
          paidWith: purchase.paymentIntentId,
          paidAgainWith: facts.paymentIntentId,
        },
        "purchase paid again with another payment intent: money taken twice; nothing granted again",
      );
      return [];
    }
    if (!purchase.paymentIntentId && facts.paymentIntentId) {
      await tx
        .update(creditPurchases)
        .set({ paymentIntentId: facts.paymentIntentId })
        .where(eq(creditPurchases.id, purchase.id));
    }
    await recordPurchasePayment(tx, clock, purchase, {
      status: "succeeded",
      paymentIntentId: purchase.paymentIntentId ?? facts.paymentIntentId,
      chargeId: facts.chargeId ?? null,
      settledAt: purchase.paidAt ?? clock.now(),
    });
    log.info({ purchaseId: purchase.id }, "purchase already paid; nothing granted again");

    return [];
  }
  if (purchase.status !== "pending") {
    // Money was taken after the purchase was given up (another card after a decline, a late
    // event): the customer paid, so the credits are theirs.
    log.warn({ purchaseId: purchase.id, status: purchase.status }, "payment for a closed purchase");
  }

  const [pack] = await tx
    .select({ name: creditPacks.name })
    .from(creditPacks)
    .where(eq(creditPacks.id, purchase.packId));
  const grant = await grantCredits(tx, clock, {
    workspaceId: purchase.workspaceId,
    source: "purchase",
    amount: purchase.credits,
    idempotencyKey: `purchase:${purchase.id}`,
    reason:
      `${purchase.origin === "auto_top_up" ? "Auto top-up" : "Purchase"}: ${pack?.name ?? "pack"}, ` +
      formatMoney(purchase.amountMinor, purchase.currency),
    actor: facts.actor,
    priority: PURCHASE_PRIORITY,
    purchaseId: purchase.id,
    lowBalanceThreshold: await lowBalanceThresholdOf(tx, purchase.workspaceId),
  });
  const paymentIntentId = purchase.paymentIntentId ?? facts.paymentIntentId;
  await tx
    .update(creditPurchases)
    .set({
      status: "paid",
      paidAt: clock.now(),
      grantId: grant.grantId,
      paymentIntentId,
      failureReason: null,
    })
    .where(eq(creditPurchases.id, purchase.id));
  await recordPurchasePayment(tx, clock, purchase, {
    status: "succeeded",
    paymentIntentId,
    chargeId: facts.chargeId ?? null,
    settledAt: clock.now(),
  });
  log.info(
    { purchaseId: purchase.id, credits: purchase.credits },
    "purchase paid; credits granted",
  );

  return [
    ...grant.events,
    event("credits/purchased", {
      workspaceId: purchase.workspaceId,
      purchaseId: purchase.id,
      grantId: grant.grantId,
      packId: purchase.packId,
      credits: purchase.credits,
      amountMinor: purchase.amountMinor,
      currency: purchase.currency,
      paymentId: paymentIntentId ?? purchase.checkoutSessionId ?? purchase.id,
      origin: purchase.origin,
    }),
  ];
}

/**
 * A payment attempt failed. An auto top-up fails for good (and says so with
 * credits/top-up-failed); a checkout stays open for another card until its
 * session ends, so only the reason is recorded, unless `final`.
 */
export async function failPurchase(
  tx: Tx,
  log: Logger,
  input: {
    purchaseId: string;
    reason: string;
    final: boolean;
    paymentIntentId?: string | null;
    failureCode?: string | null;
  },
  clock?: Clock,
): Promise<EventDraft[]> {
  const purchase = await lockPurchase(tx, input.purchaseId);
  if (!purchase) throw new Error(`Purchase ${input.purchaseId} not found`);
  if (purchase.status !== "pending") return [];

  const reason = input.reason.slice(0, 500);
  const ends = input.final || purchase.origin === "auto_top_up";
  await tx
    .update(creditPurchases)
    .set({
      failureReason: reason,
      ...(ends ? { status: "failed" as const } : {}),
      ...(!purchase.paymentIntentId && input.paymentIntentId
        ? { paymentIntentId: input.paymentIntentId }
        : {}),
    })
    .where(eq(creditPurchases.id, purchase.id));
  if (ends && purchase.amountMinor > 0) {
    await recordPurchasePayment(tx, clock ?? null, purchase, {
      status: "failed",
      paymentIntentId: purchase.paymentIntentId ?? input.paymentIntentId ?? null,
      chargeId: null,
      settledAt: clock?.now() ?? null,
      failureCode: input.failureCode ?? null,
      failureMessage: reason,
    });
  }
  log.info({ purchaseId: purchase.id, ends, reason }, "purchase payment failed");
  if (!ends || purchase.origin !== "auto_top_up") return [];

  return [
    event("credits/top-up-failed", {
      workspaceId: purchase.workspaceId,
      purchaseId: purchase.id,
      reason,
    }),
  ];
}

/**
 * The purchase's row in `payments` (key `purchase:<purchaseId>`), written
 * once and brought up to date by later events: a success overwrites a
 * failure (money taken after a decline is still taken), a charge id is filled
 * in when an event first names it, and nothing else changes a settled row.
 */
export async function recordPurchasePayment(
  tx: Tx,
  clock: Clock | null,
  purchase: PurchaseRow,
  outcome: {
    status: "succeeded" | "failed";
    paymentIntentId: string | null;
    chargeId: string | null;
    settledAt: Date | null;
    failureCode?: string | null;
    failureMessage?: string | null;
  },
): Promise<void> {
  if (purchase.amountMinor <= 0) return;
  const key = `purchase:${purchase.id}`;
  const [existing] = await tx
    .select()
    .from(payments)
    .where(eq(payments.idempotencyKey, key))
    .for("update");
  if (!existing) {
    await tx.insert(payments).values({
      workspaceId: purchase.workspaceId,
      kind: "purchase",
      purchaseId: purchase.id,
      gateway: purchase.gateway,
      attempt: 1,
      trigger: purchase.origin === "auto_top_up" ? "auto_top_up" : "checkout",
      idempotencyKey: key,
      paymentIntentId: outcome.paymentIntentId,
      chargeId: outcome.chargeId,
      status: outcome.status,
      amountMinor: purchase.amountMinor,
      currency: purchase.currency,
      failureCode: outcome.failureCode ?? null,
      failureMessage: outcome.failureMessage ?? null,
      createdAt: clock?.now() ?? purchase.createdAt,
      settledAt: outcome.settledAt,
    });
    return;
  }
  const succeeds = outcome.status === "succeeded" && existing.status !== "succeeded";
  const set: Partial<typeof payments.$inferInsert> = {};
  if (!existing.paymentIntentId && outcome.paymentIntentId) {
    set.paymentIntentId = outcome.paymentIntentId;
  }
  if (!existing.chargeId && outcome.chargeId) set.chargeId = outcome.chargeId;
  if (succeeds) {
    Object.assign(set, {
      status: "succeeded",
      failureCode: null,
      failureMessage: null,
      settledAt: outcome.settledAt,
    });
  }
  if (Object.keys(set).length > 0) {
    await tx.update(payments).set(set).where(eq(payments.id, existing.id));
  }
}

/** The checkout ended unpaid (expired or cancelled); a paid purchase stays paid. */
export async function cancelPurchase(tx: Tx, log: Logger, purchaseId: string): Promise<void> {
  const purchase = await lockPurchase(tx, purchaseId);
  if (!purchase) throw new Error(`Purchase ${purchaseId} not found`);
  if (purchase.status !== "pending") return;

  await tx
    .update(creditPurchases)
    .set({ status: "cancelled" })
    .where(eq(creditPurchases.id, purchase.id));
  log.info({ purchaseId }, "checkout ended unpaid; purchase cancelled");
}

// Queries

export interface PurchaseView {
  id: string;
  packId: string;
  packName: string;
  credits: number;
  amountMinor: number;
  currency: string;
  origin: "checkout" | "auto_top_up";
  status: "pending" | "paid" | "failed" | "cancelled";
  failureReason: string | null;
  checkoutUrl: string | null;
  createdAt: Date;
  paidAt: Date | null;
  refundedCredits: number;
  refundedMinor: number;
  /** Unused credits of this purchase that a refund could still give back, and for how much. */
  refundableCredits: number;
  refundableMinor: number;
  refunds: {
    id: string;
    credits: number;
    amountMinor: number;
    status: "pending" | "succeeded" | "failed";
    reason: string;
    createdAt: Date;
  }[];
}

/** A workspace's purchases, newest first, each with what is still refundable. */
export async function listPurchases(
  db: Db,
  workspaceId: string,
  options: { limit?: number; purchaseId?: string } = {},
): Promise<PurchaseView[]> {
  const rows = await db
    .select({
      purchase: creditPurchases,
      packName: creditPacks.name,
      grantRemaining: creditGrants.remaining,
    })
    .from(creditPurchases)
    .innerJoin(creditPacks, eq(creditPacks.id, creditPurchases.packId))
    .leftJoin(creditGrants, eq(creditGrants.id, creditPurchases.grantId))
    .where(
      and(
        eq(creditPurchases.workspaceId, workspaceId),
        options.purchaseId ? eq(creditPurchases.id, options.purchaseId) : undefined,
      ),
    )
    .orderBy(desc(creditPurchases.createdAt), desc(creditPurchases.id))
    .limit(options.limit ?? 50);
  const ids = rows.map((row) => row.purchase.id);
  const refunds = ids.length
    ? await db
        .select()
        .from(creditRefunds)
        .where(inArray(creditRefunds.purchaseId, ids))
        .orderBy(desc(creditRefunds.createdAt))
    : [];

  return rows.map(({ purchase, packName, grantRemaining }) => {
    const refundableCredits = purchase.status === "paid" ? (grantRemaining ?? 0) : 0;
    const refundableMinor =
      refundableCredits > 0
        ? proRataMinor(
            purchase.amountMinor,
            purchase.credits,
            purchase.refundedCredits + refundableCredits,
          ) - purchase.refundedMinor
        : 0;

    return {
      id: purchase.id,
      packId: purchase.packId,
      packName,
      credits: purchase.credits,
      amountMinor: purchase.amountMinor,
      currency: purchase.currency,
      origin: purchase.origin,
      status: purchase.status,
      failureReason: purchase.failureReason,
      checkoutUrl: purchase.status === "pending" ? purchase.checkoutUrl : null,
      createdAt: purchase.createdAt,
      paidAt: purchase.paidAt,
      refundedCredits: purchase.refundedCredits,
      refundedMinor: purchase.refundedMinor,
      refundableCredits,
      refundableMinor,
      refunds: refunds
        .filter((refund) => refund.purchaseId === purchase.id)
        .map((refund) => ({
          id: refund.id,
          credits: refund.credits,
          amountMinor: refund.amountMinor,
          status: refund.status,
          reason: refund.reason,
          createdAt: refund.createdAt,
        })),
    };
  });
}

export async function getPurchase(
  db: Db,
  workspaceId: string,
  purchaseId: string,
): Promise<PurchaseView> {
  const [purchase] = await listPurchases(db, workspaceId, { purchaseId, limit: 1 });
  if (!purchase) throw new AppError("not_found", "No such purchase in this workspace");

  return purchase;
}
