import { and, count, desc, eq, inArray, type SQL } from "drizzle-orm";
import { z } from "zod";

import {
  driftKind,
  driftStatus,
  reconciliationDrifts,
  reconciliationRuns,
  workspaces,
} from "@/drizzle/schema";
import type { Actor } from "@/server/actor";
import { defineCommand, execute, type CommandMeta } from "@/server/commands";
import type { DbOrTx, Tx } from "@/server/db/client";
import { AppError } from "@/server/errors";
import type { ReactionDeps } from "@/server/events/reactions";
import type { Runtime } from "@/server/runtime";
import { adminPagingInput } from "@/server/workspaces/admin-queries";

import type {
  GatewayDispute,
  GatewayPayment,
  GatewayRefundRecord,
  PaymentGateway,
} from "./gateway";
import { applyGatewayObject, handlesEventType } from "./reactions";
import { recheck, runReconciliation } from "./reconciliation";

/**
 * What platform admins read and do about reconciliation drift: the runs and
 * drifts (`adminReconciliation.runs`, `.drifts`), a run now, and the two ends
 * of a drift. A repair fetches the gateway's object as it is now and
 * re-applies it through the same webhook handlers the gateway's own event
 * would have run, then checks the drift again: it is marked repaired only
 * when it no longer holds. A drift that re-applying cannot fix has no repair,
 * only a note on what to check by hand before dismissing it: money Tally does
 * not own (payment_without_invoice), what Tally holds and the gateway does not
 * (refund_not_at_gateway, dispute_not_at_gateway, a payment Tally counts as
 * succeeded that the gateway lacks or did not take), and amounts that differ.
 *
 * The commands need the gateway and the reactions' dependencies, which a
 * command's context does not carry: the functions at the bottom hand them in
 * through the command's `prepare`, run before its transaction opens.
 */

type DriftKind = (typeof driftKind.enumValues)[number];
type Drift = typeof reconciliationDrifts.$inferSelect;

/** The button that repairs each kind, or what to do instead. */
export const repairOf: Record<DriftKind, { label: string } | { manual: string }> = {
  missing_grant: { label: "Grant the credits" },
  status_mismatch: { label: "Re-apply the gateway's payment" },
  refund_not_in_ledger: { label: "Record the refund" },
  dispute_not_recorded: { label: "Record the dispute" },
  payment_without_invoice: {
    manual: "Tally does not own this money: refund it at the gateway by hand, then dismiss",
  },
  refund_not_at_gateway: {
    manual:
      "The gateway never refunded this: check the payment in the gateway's dashboard, then " +
      "correct Tally's refund record by hand and dismiss",
  },
  dispute_not_at_gateway: {
    manual:
      "The gateway has no such chargeback: check the payment in the gateway's dashboard, give " +
      "back by hand any credits Tally clawed back for it, then dismiss",
  },
};

/**
 * How this drift is dealt with: the kind's repair, unless the check that
 * found it said re-applying cannot fix it (`details.manual`). Drifts stored
 * before checks said so are recognised by what the gateway said: only a
 * payment the gateway took can be re-applied.
 */
export function remedyOf(
  drift: Pick<Drift, "kind" | "details">,
): { label: string } | { manual: string } {
  const details = drift.details as { manual?: unknown; gateway?: { status?: unknown } };
  if (typeof details.manual === "string") return { manual: details.manual };
  if (drift.kind === "status_mismatch" && details.gateway?.status !== "succeeded") {
    return {
      manual:
        "Re-applying the gateway's payment cannot undo a success Tally recorded: check in the " +
        "gateway's dashboard whether this money was taken, correct Tally by hand, then dismiss",
    };
  }

  return repairOf[drift.kind];
}

/** The webhook type each repair re-applies; a payment's depends on what the gateway says now. */
function eventTypeOf(kind: DriftKind, payment?: GatewayPayment): string | null {
  switch (kind) {
    case "missing_grant":
    case "status_mismatch":
      // Only a payment the gateway took can fix Tally's side; a failure never undoes a success.
      return payment?.status === "succeeded" ? "payment_intent.succeeded" : null;
    case "refund_not_in_ledger":
      return "charge.refunded";
    case "dispute_not_recorded":
      return "charge.dispute.created";
    case "payment_without_invoice":
    case "refund_not_at_gateway":
    case "dispute_not_at_gateway":
      return null;
  }
}

// Queries

export const driftListInput = z.object({
  statuses: z.array(z.enum(driftStatus.enumValues)).max(3).default(["open"]),
  kinds: z.array(z.enum(driftKind.enumValues)).max(5).default([]),
  ...adminPagingInput,
});
export type DriftListInput = z.input<typeof driftListInput>;

/** The latest runs, newest first. */
export async function listRuns(db: DbOrTx, limit = 10) {
  return db
    .select()
    .from(reconciliationRuns)
    .orderBy(desc(reconciliationRuns.windowEnd), desc(reconciliationRuns.startedAt))
    .limit(limit);
}

/** One page of drifts matching the filters, newest first, with how each is repaired. */
export async function listDrifts(db: DbOrTx, rawInput: DriftListInput) {
  const input = driftListInput.parse(rawInput);
  const conditions: SQL[] = [];
  if (input.statuses.length > 0)
    conditions.push(inArray(reconciliationDrifts.status, input.statuses));
  if (input.kinds.length > 0) conditions.push(inArray(reconciliationDrifts.kind, input.kinds));
  const where = and(...conditions);

  const [rows, [total], byStatus] = await Promise.all([
    db
      .select({
        drift: reconciliationDrifts,
        workspace: { id: workspaces.id, name: workspaces.name, slug: workspaces.slug },
      })
      .from(reconciliationDrifts)
      .leftJoin(workspaces, eq(workspaces.id, reconciliationDrifts.workspaceId))
      .where(where)
      .orderBy(desc(reconciliationDrifts.foundAt), desc(reconciliationDrifts.id))
      .limit(input.pageSize)
      .offset((input.page - 1) * input.pageSize),
    db.select({ n: count() }).from(reconciliationDrifts).where(where),
    db
      .select({ status: reconciliationDrifts.status, n: count() })
      .from(reconciliationDrifts)
      .groupBy(reconciliationDrifts.status),
  ]);
  const matching = total?.n ?? 0;

  return {
    rows: rows.map(({ drift, workspace }) => {
      const repair = remedyOf(drift);
      // Refunds and disputes are repaired by one webhook type; until a feature handles it, say so.
      const fixedType = eventTypeOf(drift.kind);
      const unhandled =
        fixedType !== null && !handlesEventType(fixedType)
          ? `Tally does not handle ${fixedType} yet: resolve it by hand, then dismiss`
          : null;
      return {
        ...drift,
        workspace: workspace?.id ? workspace : null,
        repairLabel: "label" in repair && !unhandled ? repair.label : null,
        manual: unhandled ?? ("manual" in repair ? repair.manual : null),
      };
    }),
    total: matching,
    page: input.page,
    pageSize: input.pageSize,
    pages: Math.max(1, Math.ceil(matching / input.pageSize)),
    counts: Object.fromEntries(byStatus.map((row) => [row.status, row.n])) as Partial<
      Record<Drift["status"], number>
    >,
  };
}

// Commands

const driftIdInput = z.object({ driftId: z.uuid() });

async function lockOpenDrift(tx: Tx, driftId: string): Promise<Drift> {
  const [drift] = await tx
    .select()
    .from(reconciliationDrifts)
    .where(eq(reconciliationDrifts.id, driftId))
    .for("update");
  if (!drift) throw new AppError("not_found", "Drift not found", { field: "driftId" });
  if (drift.status !== "open") {
    throw new AppError("conflict", `This drift was already ${drift.status}`, {
      details: { status: drift.status },
    });
  }

  return drift;
}

function userOf(actor: Actor): string | null {
  return actor.type === "user" ? actor.userId : null;
}

/** The gateway's object now, Stripe-shaped for the handlers, and as the checks read it. */
interface CurrentObject {
  type: string;
  object: Record<string, unknown>;
  current: { payment?: GatewayPayment; refund?: GatewayRefundRecord; dispute?: GatewayDispute };
}

interface RepairPrepared {
  deps: ReactionDeps;
  fetched: CurrentObject;
}

function needsRuntime(): never {
  throw new Error("Run this command through its function in server/payments/repairs.ts");
}

export const repairDriftCommand = defineCommand({
  name: "payments.repairDrift",
  input: driftIdInput,
  async run({ tx, actor, clock, log }, input, prepared: RepairPrepared | undefined) {
    if (!prepared) needsRuntime();
    const drift = await lockOpenDrift(tx, input.driftId);
    const { type, object, current } = prepared.fetched;
    const events = await applyGatewayObject(
      tx,
      { type, object, eventId: `evt_tally_repair_${drift.id}` },
      { deps: { ...prepared.deps, clock }, log },
    );
    const still = await recheck(tx, drift.kind, current);
    const resolvedAt = clock.now();
    if (!still) {
      await tx
        .update(reconciliationDrifts)
        .set({
          status: "repaired",
          resolvedAt,
          resolvedBy: userOf(actor),
          resolution: `Re-applied ${type} from the gateway`,
        })
        .where(eq(reconciliationDrifts.id, drift.id));
    }

    return {
      result: {
        driftId: drift.id,
        status: still ? ("open" as const) : ("repaired" as const),
        applied: type,
        stillHolds: still?.details.summary ?? null,
      },
      events,
      workspaceId: drift.workspaceId,
      audit: {
        driftId: drift.id,
        kind: drift.kind,
        gatewayObjectId: drift.gatewayObjectId,
        applied: type,
        repaired: !still,
        ...(still ? { stillHolds: still.details.summary } : {}),
      },
    };
  },
});

export const dismissDriftInput = driftIdInput.extend({
  reason: z
    .string()
    .trim()
    .min(3, "Say why, in at least 3 characters: it stays on the drift's record")
    .max(300, "Keep the reason under 300 characters"),
});

/** open → dismissed, with a reason: what was done about it outside Tally. */
export const dismissDrift = defineCommand({
  name: "payments.dismissDrift",
  input: dismissDriftInput,
  async run({ tx, actor, clock }, input) {
    const drift = await lockOpenDrift(tx, input.driftId);
    const resolvedAt = clock.now();
    await tx
      .update(reconciliationDrifts)
      .set({ status: "dismissed", resolvedAt, resolvedBy: userOf(actor), resolution: input.reason })
      .where(eq(reconciliationDrifts.id, drift.id));

    return {
      result: { driftId: drift.id, status: "dismissed" as const, resolvedAt },
      workspaceId: drift.workspaceId,
      audit: {
        driftId: drift.id,
        kind: drift.kind,
        gatewayObjectId: drift.gatewayObjectId,
        reason: input.reason,
      },
    };
  },
});

/** A run now, for the window since the last run: the same as the daily cron's. */
export const runReconciliationCommand = defineCommand({
  name: "payments.runReconciliation",
  input: z.object({}),
  async run({ tx, clock, log }, _input, prepared: { gateway: PaymentGateway } | undefined) {
    if (!prepared) needsRuntime();
    const outcome = await runReconciliation(tx, { clock, gateway: prepared.gateway }, log);

    return {
      result: outcome ? { ran: true as const, ...outcome.run } : { ran: false as const },
      events: outcome?.events ?? [],
      audit: outcome
        ? {
            runId: outcome.run.runId,
            windowStart: outcome.run.windowStart.toISOString(),
            windowEnd: outcome.run.windowEnd.toISOString(),
            checked: outcome.run.checked,
            driftsFound: outcome.run.driftsFound,
          }
        : { ran: false },
    };
  },
});

type RepairRuntime = Pick<Runtime, "db" | "clock" | "logger" | "wake" | "executeDeps">;

export function runReconciliationNow(runtime: RepairRuntime, meta: CommandMeta) {
  return execute(
    runtime,
    {
      ...runReconciliationCommand,
      prepare: async () => ({ gateway: runtime.executeDeps.gateway }),
    },
    {},
    meta,
  );
}

/**
 * Repairs an open drift: fetches the gateway's object (before the
 * transaction), re-applies it and re-checks, in the command above. A handler
 * that refuses what the gateway holds (an amount that is not the purchase's)
 * is reported as a conflict, the drift left open.
 */
export async function repairDrift(
  runtime: RepairRuntime,
  input: z.input<typeof driftIdInput>,
  meta: CommandMeta,
) {
  const prepare = async ({ driftId }: { driftId: string }): Promise<RepairPrepared> => {
    const [drift] = await runtime.db
      .select()
      .from(reconciliationDrifts)
      .where(eq(reconciliationDrifts.id, driftId));
    if (!drift) throw new AppError("not_found", "Drift not found", { field: "driftId" });
    if (drift.status !== "open") {
      throw new AppError("conflict", `This drift was already ${drift.status}`);
    }

    return {
      deps: runtime.executeDeps,
      fetched: await currentObject(runtime.executeDeps.gateway, drift),
    };
  };
  try {
    return await execute(runtime, { ...repairDriftCommand, prepare }, input, meta);
  } catch (error) {
    if (error instanceof AppError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new AppError("conflict", `The repair did not go through: ${reason}`, { cause: error });
  }
}

/** Reads the drift's gateway object as it is now, Stripe-shaped for the webhook handlers. */
async function currentObject(gateway: PaymentGateway, drift: Drift): Promise<CurrentObject> {
  const seen = (drift.details.gateway ?? {}) as Record<string, unknown>;
  const remedy = remedyOf(drift);
  if ("manual" in remedy) throw new AppError("conflict", remedy.manual);
  if (drift.kind === "missing_grant" || drift.kind === "status_mismatch") {
    const payment = await gateway.retrievePayment(drift.gatewayObjectId);
    if (!payment) throw gone(drift);
    const type = eventTypeOf(drift.kind, payment);
    if (!type) {
      const settling = payment.status === "processing" || payment.status === "pending";
      throw new AppError(
        "conflict",
        settling
          ? `The gateway's payment is ${payment.status}: wait until it settles, then repair`
          : `The gateway's payment is now ${payment.status}, which re-applying cannot fix: ` +
              "check it by hand, then dismiss",
      );
    }
    return checkedType(type, { type, object: intentObject(payment), current: { payment } });
  }

  const createdAt = new Date(String(seen.createdAt));
  // TODO: the gateway interface has no retrieve call for a refund or a dispute, so a repair lists
  // the second the object was created in and picks it out by id.
  const around = { since: createdAt, until: new Date(createdAt.getTime() + 1000) };
  if (drift.kind === "refund_not_in_ledger") {
    const refund = (await gateway.listRefunds(around)).find(
      (candidate) => candidate.refundId === drift.gatewayObjectId,
    );
    if (!refund) throw gone(drift);
    const payment = refund.chargeId
      ? await gateway.retrieveCharge(refund.chargeId)
      : refund.paymentIntentId
        ? await gateway.retrievePayment(refund.paymentIntentId)
        : null;
    if (!payment) throw gone(drift, "the payment it refunds");
    const type = "charge.refunded";
    return checkedType(type, {
      type,
      object: chargeObject(payment, [refund]),
      current: { refund },
    });
  }

  const dispute = (await gateway.listDisputes(around)).find(
    (candidate) => candidate.disputeId === drift.gatewayObjectId,
  );
  if (!dispute) throw gone(drift);
  const type = "charge.dispute.created";

  return checkedType(type, { type, object: disputeObject(dispute), current: { dispute } });
}

/** A repair whose webhook type no feature handles yet cannot change anything: say so. */
function checkedType(type: string, fetched: CurrentObject): CurrentObject {
  if (!handlesEventType(type)) {
    throw new AppError(
      "conflict",
      `Tally has no handler for ${type} yet, so this cannot be repaired here`,
    );
  }

  return fetched;
}

function gone(drift: Drift, what = drift.gatewayObjectId): AppError {
  return new AppError("conflict", `The gateway no longer returns ${what}`, {
    details: { gatewayObjectId: drift.gatewayObjectId },
  });
}

const unix = (at: Date) => Math.floor(at.getTime() / 1000);

function intentObject(payment: GatewayPayment): Record<string, unknown> {
  return {
    id: payment.paymentIntentId,
    object: "payment_intent",
    amount: payment.amountMinor,
    amount_received: payment.amountReceivedMinor,
    currency: payment.currency.toLowerCase(),
    customer: payment.customerId,
    latest_charge: payment.chargeId,
    metadata: payment.metadata,
    status: payment.status === "failed" ? "requires_payment_method" : payment.status,
    last_payment_error:
      payment.status === "failed" ? { message: "The payment failed at the gateway" } : null,
    created: unix(payment.createdAt),
    livemode: false,
  };
}

function chargeObject(
  payment: GatewayPayment,
  refunds: GatewayRefundRecord[],
): Record<string, unknown> {
  return {
    id: payment.chargeId,
    object: "charge",
    amount: payment.amountMinor,
    amount_captured: payment.amountReceivedMinor,
    amount_refunded: payment.amountRefundedMinor,
    refunded: payment.amountRefundedMinor >= payment.amountMinor,
    currency: payment.currency.toLowerCase(),
    customer: payment.customerId,
    payment_intent: payment.paymentIntentId,
    metadata: payment.metadata,
    status: "succeeded",
    created: unix(payment.createdAt),
    refunds: {
      object: "list",
      has_more: false,
      data: refunds.map((refund) => ({
        id: refund.refundId,
        object: "refund",
        amount: refund.amountMinor,
        currency: refund.currency.toLowerCase(),
        charge: payment.chargeId,
        payment_intent: payment.paymentIntentId,
        metadata: refund.metadata,
        status: refund.status,
        created: unix(refund.createdAt),
      })),
    },
    livemode: false,
  };
}

function disputeObject(dispute: GatewayDispute): Record<string, unknown> {
  return {
    id: dispute.disputeId,
    object: "dispute",
    amount: dispute.amountMinor,
    currency: dispute.currency.toLowerCase(),
    charge: dispute.chargeId,
    payment_intent: dispute.paymentIntentId,
    reason: dispute.reason,
    status: dispute.status,
    created: unix(dispute.createdAt),
    livemode: false,
  };
}
