import { and, count, eq, isNull } from "drizzle-orm";

import {
  apiKeys,
  autoTopUps,
  creditHolds,
  type FeatureQuota,
  type TierFeature,
  tiers,
  webhookEndpoints,
  workspaceMembers,
} from "@/drizzle/schema";
import type { DbOrTx } from "@/server/db/client";

import { callsByFeature, tierFeatureLabels } from "./tiers";

/**
 * Whether a workspace may move to a tier, and if not, what stands in the way.
 * The rules are pure (`tierBlockers`); `workspaceUsage` reads what they
 * measure.
 */

type Tier = typeof tiers.$inferSelect;

export type BlockerCode =
  "currency_mismatch" | "too_many_seats" | "quota_exceeded" | "feature_in_use" | "tier_archived";

export interface Blocker {
  code: BlockerCode;
  /** What blocks the move and what to do about it, for the customer. */
  message: string;
  /** The feature or quota concerned, where there is one. */
  featureCode?: string;
}

/** What a workspace uses now, measured against a tier's limits. */
export interface WorkspaceUsage {
  currency: string;
  /** Members, the owner included. */
  seats: number;
  /** Consumed calls per feature in the current credit period and in the current UTC day. */
  callsThisPeriod: Record<string, number>;
  callsToday: Record<string, number>;
  /** Tier features something in the workspace relies on. */
  featuresInUse: TierFeature[];
}

const featureUse: Record<TierFeature, string> = {
  api_keys: "API keys that are not revoked; revoke them first",
  webhooks: "webhook endpoints; delete them first",
  transfers: "credit transfers",
  auto_top_up: "auto top-up; turn it off first",
  holds: "open credit holds; finalize or release them first",
};

/** Every reason the workspace cannot move to `target`; empty when it can. */
export function tierBlockers(
  usage: WorkspaceUsage,
  target: Pick<Tier, "name" | "currency" | "maxSeats" | "quotas" | "features" | "archivedAt">,
): Blocker[] {
  const blockers: Blocker[] = [];
  if (target.archivedAt) {
    blockers.push({
      code: "tier_archived",
      message: `The ${target.name} tier is no longer offered.`,
    });
  }
  if (target.currency !== usage.currency) {
    blockers.push({
      code: "currency_mismatch",
      message:
        `The ${target.name} tier is priced in ${target.currency} and this workspace pays in ` +
        `${usage.currency}; contact support to change currency.`,
    });
  }
  if (target.maxSeats !== null && usage.seats > target.maxSeats) {
    blockers.push({
      code: "too_many_seats",
      message:
        `The ${target.name} tier allows ${target.maxSeats} seat${target.maxSeats === 1 ? "" : "s"} ` +
        `and ${usage.seats} are in use; remove ${usage.seats - target.maxSeats} member` +
        `${usage.seats - target.maxSeats === 1 ? "" : "s"} first.`,
    });
  }
  for (const quota of target.quotas) {
    const used = callsIn(usage, quota);
    if (used > quota.maxCalls) {
      blockers.push({
        code: "quota_exceeded",
        featureCode: quota.featureCode,
        message:
          `The ${target.name} tier allows ${quota.maxCalls} ${quota.featureCode} calls a ` +
          `${quota.period} and this ${quota.period === "day" ? "day" : "period"} has used ` +
          `${used}; move when the ${quota.period === "day" ? "day" : "period"} is over.`,
      });
    }
  }
  for (const feature of usage.featuresInUse) {
    if (!target.features.includes(feature)) {
      blockers.push({
        code: "feature_in_use",
        featureCode: feature,
        message:
          `The ${target.name} tier does not include ${tierFeatureLabels[feature].toLowerCase()}, ` +
          `and this workspace uses ` +
          `${featureUse[feature]}.`,
      });
    }
  }

  return blockers;
}

function callsIn(usage: WorkspaceUsage, quota: FeatureQuota): number {
  const counts = quota.period === "day" ? usage.callsToday : usage.callsThisPeriod;

  return counts[quota.featureCode] ?? 0;
}

function startOfUtcDay(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
}

/** Reads what the compatibility rules measure; calls are counted as quotas count them. */
export async function workspaceUsage(
  db: DbOrTx,
  workspace: { id: string; currency: string },
  window: { periodStart: Date; now: Date },
): Promise<WorkspaceUsage> {
  const end = new Date(window.now.getTime() + 1);
  const [callsThisPeriod, callsToday] = await Promise.all([
    callsByFeature(db, workspace.id, { start: window.periodStart, end }),
    callsByFeature(db, workspace.id, { start: startOfUtcDay(window.now), end }),
  ]);
  const [[seats], [keys], [endpoints], [topUp], [holds]] = await Promise.all([
    db
      .select({ n: count() })
      .from(workspaceMembers)
      .where(eq(workspaceMembers.workspaceId, workspace.id)),
    db
      .select({ n: count() })
      .from(apiKeys)
      .where(and(eq(apiKeys.workspaceId, workspace.id), isNull(apiKeys.revokedAt))),
    db
      .select({ n: count() })
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.workspaceId, workspace.id)),
    db
      .select({ n: count() })
      .from(autoTopUps)
      .where(and(eq(autoTopUps.workspaceId, workspace.id), eq(autoTopUps.enabled, true))),
    db
      .select({ n: count() })
      .from(creditHolds)
      .where(and(eq(creditHolds.workspaceId, workspace.id), eq(creditHolds.status, "active"))),
  ]);
  const featuresInUse: TierFeature[] = [];
  if ((keys?.n ?? 0) > 0) featuresInUse.push("api_keys");
  if ((endpoints?.n ?? 0) > 0) featuresInUse.push("webhooks");
  if ((topUp?.n ?? 0) > 0) featuresInUse.push("auto_top_up");
  if ((holds?.n ?? 0) > 0) featuresInUse.push("holds");

  return {
    currency: workspace.currency,
    seats: seats?.n ?? 0,
    callsThisPeriod,
    callsToday,
    featuresInUse,
  };
}
