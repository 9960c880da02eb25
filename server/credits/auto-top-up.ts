import { and, eq, gte, inArray, isNull, ne, sql } from "drizzle-orm";
import { z } from "zod";

import {
  autoTopUps,
  billingCustomers,
  creditBalances,
  creditPacks,
  creditPurchases,
  payments,
  workspaces,
} from "@/drizzle/schema";
import { defineCommand } from "@/server/commands";
import type { Db, DbOrTx, Tx } from "@/server/db/client";
import { AppError } from "@/server/errors";
import { requireTierFeature } from "@/server/workspaces/tiers";
import { event, type EventDraft } from "@/server/events/catalogue";
import type { ReactionDeps, ReactionHandler } from "@/server/events/reactions";
import type { Logger } from "@/server/logger";

import { lockBalance, MAX_CREDITS } from "./ledger";
import { completePurchase, failPurchase, packDescription, uuidFromName } from "./purchases";

/**
 * Auto top-up: when the balance falls below the workspace's threshold, buy
 * its chosen pack off session with the card saved at checkout.
 *
 * The ledger emits credits/top-up-due once per downward crossing of
 * credit_balances.top_up_threshold (ledger.ts settleBalance); the reaction
 * here makes the purchase. At most one top-up is in flight per workspace
 * (a partial unique index on pending auto top-ups) and at most the monthly
 * limit are bought per calendar month in UTC. A charge that succeeds
 * completes the purchase at once through completePurchase, and the gateway's
 * webhook later finds it paid; a declined charge fails the purchase and
 * emits credits/top-up-failed, which notifies the billing members.
 */

export const MONTHLY_LIMIT_MAX = 100;

export const autoTopUpInput = z.object({
  workspaceId: z.uuid(),
  enabled: z.boolean(),
  packId: z.uuid({ error: "Choose the pack to buy" }),
  thresholdCredits: z
    .number({ error: "Enter a whole number of credits" })
    .int("Enter a whole number of credits")
    .min(1, "The threshold is at least 1 credit")
    .max(MAX_CREDITS, "That is more credits than a balance can hold"),
  monthlyLimit: z
    .number({ error: "Enter how many top-ups a month at most" })
    .int("Enter a whole number of top-ups")
    .min(1, "Allow at least 1 top-up a month")
    .max(MONTHLY_LIMIT_MAX, `Allow at most ${MONTHLY_LIMIT_MAX} top-ups a month`),
});

/**
 * Saves the settings and the threshold the ledger watches. Turning it on
 * while the balance is already below the threshold counts as a crossing:
 * a top-up is asked for at once. Saving again while below asks for nothing
 * new; turning it off clears the threshold.
 */
export const setAutoTopUp = defineCommand({
  name: "credits.setAutoTopUp",
  input: autoTopUpInput,
  async run({ tx, clock }, input) {
    // Turning it off is always possible, e.g. after a move to a tier without it.
    if (input.enabled) await requireTierFeature(tx, input.workspaceId, "auto_top_up");
    const [pack] = await tx.select().from(creditPacks).where(eq(creditPacks.id, input.packId));
    if (!pack || (pack.archivedAt && input.enabled)) {
      throw new AppError("invalid_request", "This pack is no longer offered; choose another", {
        field: "packId",
      });
    }
    const settings = {
      enabled: input.enabled,
      packId: input.packId,
      thresholdCredits: input.thresholdCredits,
      monthlyLimit: input.monthlyLimit,
      updatedAt: clock.now(),
    };
    await tx
      .insert(autoTopUps)
      .values({ workspaceId: input.workspaceId, ...settings })
      .onConflictDoUpdate({ target: autoTopUps.workspaceId, set: settings });

    const locked = await lockBalance(tx, input.workspaceId);
    const events: EventDraft[] = [];
    let below = false;
    if (input.enabled) {
      below = locked.balance < input.thresholdCredits;
      const alreadyAsked = locked.topUpThreshold !== null && locked.belowTopUp;
      if (below && !alreadyAsked) {
        events.push(
          event("credits/top-up-due", {
            workspaceId: input.workspaceId,
            balance: locked.balance,
            threshold: input.thresholdCredits,
          }),
        );
      }
    }
    await tx
      .update(creditBalances)
      .set({
        topUpThreshold: input.enabled ? input.thresholdCredits : null,
        belowTopUp: below,
        updatedAt: clock.now(),
      })
      .where(eq(creditBalances.workspaceId, input.workspaceId));

    return {
      result: { ...settings, topUpAsked: events.length > 0 },
      workspaceId: input.workspaceId,
      events,
    };
  },
});

/** The first instant of the clock's calendar month, in UTC. */
export function monthStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

async function topUpsThisMonth(db: DbOrTx, workspaceId: string, now: Date, except?: string) {
  const [row] = await db
    .select({ count: sql<number>`count(*)::int` })
    .from(creditPurchases)
    .where(
      and(
        eq(creditPurchases.workspaceId, workspaceId),
        eq(creditPurchases.origin, "auto_top_up"),
        inArray(creditPurchases.status, ["paid", "pending"]),
        gte(creditPurchases.createdAt, monthStart(now)),
        except ? ne(creditPurchases.id, except) : undefined,
      ),
    );

  return row?.count ?? 0;
}

/** The settings, the pack and this month's count, for the settings form. */
export async function autoTopUpSettings(db: Db, workspaceId: string, now: Date) {
  const [row] = await db
    .select({ settings: autoTopUps, pack: creditPacks })
    .from(autoTopUps)
    .innerJoin(creditPacks, eq(creditPacks.id, autoTopUps.packId))
    .where(eq(autoTopUps.workspaceId, workspaceId));

  return {
    enabled: row?.settings.enabled ?? false,
    packId: row?.settings.packId ?? null,
    packName: row?.pack.name ?? null,
    packArchived: row ? row.pack.archivedAt !== null : false,
    thresholdCredits: row?.settings.thresholdCredits ?? null,
    monthlyLimit: row?.settings.monthlyLimit ?? null,
    usedThisMonth: await topUpsThisMonth(db, workspaceId, now),
  };
}

function nextMonthName(now: Date): string {
  const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));

  return next.toLocaleDateString("en-US", { month: "long", day: "numeric", timeZone: "UTC" });
}

/** What asks for a top-up, and whether it still wants one once the balance is read. */
export interface TopUpRequest {
  workspaceId: string;
  /** The event asking: the purchase id and the gateway's key are derived from it. */
  sourceEventId: string;
  /**
   * Buy only while the balance is below the threshold (a crossing of it). False when the
   * request stands on its own, e.g. overage was charged whatever the balance is now.
   */
  onlyBelowThreshold: boolean;
}

/**
 * credits/top-up-due → one purchase of the chosen pack, charged off session.
 *
 * A concurrent top-up waits on the in-flight index (see buyTopUp) and, once
 * the first has committed, finds the balance back above the threshold and
 * buys nothing.
 */
export const runAutoTopUp: ReactionHandler<"credits/top-up-due"> = async ({
  tx,
  event: due,
  deps,
  log,
}) =>
  buyTopUp(tx, deps, log, {
    workspaceId: due.data.workspaceId,
    sourceEventId: due.id,
    onlyBelowThreshold: true,
  });

/**
 * The auto top-up purchase, for whichever event asks for it: when the
 * workspace has auto top-up on, buys its chosen pack off session within the
 * monthly limit. The purchase id is derived from the asking event's id, so a
 * retried run makes the same purchase and charges under the same gateway key
 * (`top-up:<id>`): never twice. Inserting it first claims the workspace's one
 * in-flight slot.
 */
export async function buyTopUp(
  tx: Tx,
  deps: ReactionDeps,
  log: Logger,
  request: TopUpRequest,
): Promise<EventDraft[] | undefined> {
  const { workspaceId } = request;
  const [row] = await tx
    .select({ settings: autoTopUps, pack: creditPacks })
    .from(autoTopUps)
    .innerJoin(creditPacks, eq(creditPacks.id, autoTopUps.packId))
    .where(eq(autoTopUps.workspaceId, workspaceId));
  if (!row?.settings.enabled) {
    log.info("auto top-up is off; nothing bought");
    return;
  }
  const { settings, pack } = row;
  const [workspace] = await tx
    .select({ status: workspaces.status })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId));
  if (workspace?.status !== "active") {
    // Its API answers 403 whatever the balance: charging the card would buy nothing usable.
    log.info({ status: workspace?.status }, "workspace not active; no top-up bought");
    return;
  }
  const failed = (reason: string, purchaseId: string | null = null) => [
    event("credits/top-up-failed", { workspaceId, purchaseId, reason }),
  ];
  if (pack.archivedAt) {
    return failed(
      "the chosen pack is no longer offered; choose another in the auto top-up settings",
    );
  }
  const [customer] = await tx
    .select()
    .from(billingCustomers)
    .where(eq(billingCustomers.workspaceId, workspaceId));
  if (!customer) throw new Error(`Workspace ${workspaceId} has no gateway customer yet`);

  const purchaseId = uuidFromName(`auto-top-up:${request.sourceEventId}`);
  const now = deps.clock.now();
  const inserted = await tx
    .insert(creditPurchases)
    .values({
      id: purchaseId,
      workspaceId,
      packId: pack.id,
      credits: pack.credits,
      amountMinor: pack.priceMinor,
      currency: pack.currency,
      origin: "auto_top_up",
      gateway: customer.gateway,
      createdAt: now,
    })
    .onConflictDoNothing()
    .returning({ id: creditPurchases.id });
  if (!inserted[0]) {
    log.info("an auto top-up is already in flight; nothing more bought");
    return;
  }
  // Read after the insert: a top-up that committed while this one waited is visible now.
  const [balance] = await tx
    .select({ balance: creditBalances.balance })
    .from(creditBalances)
    .where(eq(creditBalances.workspaceId, workspaceId));
  const skip = async () => tx.delete(creditPurchases).where(eq(creditPurchases.id, purchaseId));
  if (request.onlyBelowThreshold && (balance?.balance ?? 0) >= settings.thresholdCredits) {
    await skip();
    log.info("the balance is back at or above the threshold; nothing bought");
    return;
  }
  if ((await topUpsThisMonth(tx, workspaceId, now, purchaseId)) >= settings.monthlyLimit) {
    await skip();
    log.info({ monthlyLimit: settings.monthlyLimit }, "monthly auto top-up limit reached");
    return failed(
      `this month's limit of ${settings.monthlyLimit} auto top-ups is reached; it resets on ` +
        nextMonthName(now),
    );
  }
  if (customer.gateway !== deps.gateway.kind) {
    throw new Error(
      `Workspace ${workspaceId} pays through ${customer.gateway}; the gateway in use is ` +
        deps.gateway.kind,
    );
  }

  // The card the off-session charge takes, named on the purchase's payment once it is recorded.
  const card = await deps.gateway.defaultPaymentMethod(customer.customerId);
  const charge = await deps.gateway.chargeOffSession(
    {
      customerId: customer.customerId,
      amountMinor: pack.priceMinor,
      currency: pack.currency,
      description: `Auto top-up: ${packDescription(pack)}`,
      metadata: { purchase_id: purchaseId, workspace_id: workspaceId },
    },
    `top-up:${purchaseId}`,
  );
  if (charge.paymentIntentId) {
    await tx
      .update(creditPurchases)
      .set({ paymentIntentId: charge.paymentIntentId })
      .where(eq(creditPurchases.id, purchaseId));
  }
  if (charge.status === "failed") {
    const events = await failPurchase(
      tx,
      log,
      {
        purchaseId,
        reason: charge.failureReason,
        final: true,
        paymentIntentId: charge.paymentIntentId,
        failureCode: charge.failureCode,
      },
      deps.clock,
    );
    await labelPayment(tx, purchaseId, card?.label ?? null);

    return events;
  }
  if (charge.status === "processing") {
    // TODO: a top-up left processing is recorded by its webhook later, without the card's label.
    log.info({ purchaseId }, "top-up payment processing; the gateway's webhook completes it");
    return;
  }

  const events = await completePurchase(tx, deps.clock, log, {
    purchaseId,
    paymentIntentId: charge.paymentIntentId,
    chargeId: charge.chargeId,
    amountMinor: pack.priceMinor,
    currency: pack.currency,
    actor: { type: "system", reason: "auto top-up" },
  });
  await labelPayment(tx, purchaseId, card?.label ?? null);

  return events;
}

/** Names on a purchase's payment row the card it was charged to, unless one is named already. */
async function labelPayment(tx: Tx, purchaseId: string, label: string | null) {
  if (!label) return;
  await tx
    .update(payments)
    .set({ paymentMethodLabel: label })
    .where(and(eq(payments.purchaseId, purchaseId), isNull(payments.paymentMethodLabel)));
}
