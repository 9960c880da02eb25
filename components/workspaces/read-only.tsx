import type { Workspace } from "@/components/lib/router-types";
import { cn } from "@/components/ui/cn";
import type { TierFeature } from "@/drizzle/schema";

/**
 * Why a change is unavailable while the workspace is suspended or cancelled,
 * for the `reason` beside a disabled control; undefined while it is active.
 * The server refuses the same changes (workspace_read_only) and the banner at
 * the top of the page says why and what to do.
 */
export function readOnlyReason(workspace: Workspace, what = "This is"): string | undefined {
  return workspace.readOnly
    ? `${what} unavailable while the workspace is ${workspace.readOnly.status}; see the notice ` +
        `at the top.`
    : undefined;
}

/**
 * Why a change is unavailable on the workspace's tier, naming the feature;
 * undefined when the tier includes it. The server refuses the same changes
 * (feature_not_in_tier, whose message names the tiers that include it).
 */
export function tierFeatureReason(
  workspace: Workspace,
  feature: TierFeature,
  what: string,
): string | undefined {
  return workspace.tier.features.includes(feature)
    ? undefined
    : `${what} not part of the ${workspace.tier.name} tier.`;
}

/** The reason a control beside it is disabled, or nothing. */
export function DisabledReason({
  reason,
  id,
  className,
}: {
  reason?: string;
  id?: string;
  className?: string;
}) {
  if (!reason) return null;

  return (
    <p id={id} className={cn("text-sm text-amber-800", className)} data-testid="disabled-reason">
      {reason}
    </p>
  );
}
