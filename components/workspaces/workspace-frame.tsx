"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState, type ReactNode } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button, ButtonLink } from "@/components/ui/button";
import { Card, CardBody } from "@/components/ui/card";
import { formatDateTime, humanize } from "@/components/lib/format";
import { appCodeOf } from "@/components/lib/form-errors";
import { canManageBilling } from "@/components/lib/roles";
import type { Workspace } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";

import { useWorkspace } from "./use-workspace";

/** Around each workspace page: its title, the status banner, or the not-found state. */
export function WorkspaceFrame({ slug, children }: { slug: string; children: ReactNode }) {
  const workspace = useWorkspace(slug);

  if (workspace.isPending) {
    return (
      <div aria-busy="true" className="space-y-4">
        <div className="h-8 w-64 animate-pulse rounded bg-slate-200" />
        <div className="h-40 animate-pulse rounded-lg bg-slate-200/70" />
      </div>
    );
  }
  if (workspace.isError) {
    const notFound = appCodeOf(workspace.error) === "not_found";
    return (
      <Card className="mx-auto max-w-lg">
        <CardBody className="space-y-3 py-8 text-center">
          <h1 className="text-lg font-semibold text-slate-900">
            {notFound ? "Workspace not found" : "Could not load this workspace"}
          </h1>
          <p className="text-sm text-slate-600">
            {notFound
              ? `There is no workspace "${slug}", or you are not a member of it.`
              : workspace.error.message}
          </p>
          <ButtonLink href="/" variant="secondary">
            Go to your workspaces
          </ButtonLink>
        </CardBody>
      </Card>
    );
  }

  const { data } = workspace;

  return (
    <div className="space-y-6">
      <StatusBanner workspace={data} />
      <LifecycleBanners workspace={data} />
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div className="min-w-0">
          <h1 className="truncate text-2xl font-semibold tracking-tight text-slate-900">
            {data.name}
          </h1>
          <div className="mt-1.5 flex flex-wrap items-center gap-2 text-sm text-slate-500">
            <Badge tone="indigo">{data.tier.name} tier</Badge>
            <Badge>{humanize(data.role)}</Badge>
            <span className="font-mono text-xs">/w/{data.slug}</span>
            <span className="text-xs" title="The workspace's customer at the payment gateway">
              Billing customer{" "}
              <span className="font-mono" data-testid="gateway-customer">
                {data.gatewayCustomerId ?? "being set up…"}
              </span>
            </span>
          </div>
        </div>
      </div>
      {children}
    </div>
  );
}

/**
 * What waits for the period's end: a cancellation (withdrawable by owners)
 * and a scheduled downgrade (droppable by billing members and up).
 */
function LifecycleBanners({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string>();
  const options = {
    onError: (caught: { message: string }) => setError(caught.message),
    onSuccess: () => setError(undefined),
    onSettled: () => queryClient.invalidateQueries(),
  };
  const withdraw = useMutation(trpc.workspaces.withdrawCancellation.mutationOptions(options));
  const keepTier = useMutation(trpc.workspaces.cancelScheduledTierChange.mutationOptions(options));
  if (workspace.readOnly) return null;
  const scope = { workspaceId: workspace.workspaceId };

  return (
    <>
      {workspace.cancelAt && (
        <Alert tone="warning" title="This workspace is cancelling">
          <div className="flex flex-wrap items-center justify-between gap-3">
            <p data-testid="cancelling-banner">
              It works as usual until {formatDateTime(workspace.cancelAt)}, then becomes read-only
              and its API keys are refused; its data is deleted 30 days later.
            </p>
            {workspace.role === "owner" && (
              <Button
                size="sm"
                variant="secondary"
                pending={withdraw.isPending}
                onClick={() => withdraw.mutate(scope)}
              >
                Keep the workspace
              </Button>
            )}
          </div>
        </Alert>
      )}
      {workspace.scheduledTierAt && workspace.scheduledTierName && (
        <Alert tone="info" title="A downgrade is scheduled">
          <div className="flex flex-wrap items-center justify-between gap-3">
            <p data-testid="scheduled-downgrade-banner">
              On {formatDateTime(workspace.scheduledTierAt)} this workspace moves to the{" "}
              {workspace.scheduledTierName} tier. See{" "}
              <Link
                href={`/w/${workspace.slug}/plans`}
                className="font-medium underline hover:no-underline"
              >
                Plans
              </Link>
              .
            </p>
            {canManageBilling(workspace.role) && (
              <Button
                size="sm"
                variant="secondary"
                pending={keepTier.isPending}
                onClick={() => keepTier.mutate(scope)}
              >
                Keep the {workspace.tier.name} tier
              </Button>
            )}
          </div>
        </Alert>
      )}
      {error && <Alert tone="error">{error}</Alert>}
    </>
  );
}

/**
 * While the workspace is suspended or cancelled: why, and what to do. Shown
 * on every workspace page; the actions it makes unavailable are disabled
 * where they are offered. Billing members are sent to the billing page,
 * where an open invoice has its Pay now button.
 */
function StatusBanner({ workspace }: { workspace: Workspace }) {
  const notice = workspace.readOnly;
  if (!notice) return null;

  if (notice.status === "cancelled") {
    return (
      <Alert tone="error" title="This workspace is cancelled">
        <p data-testid="workspace-status-banner">
          It is read-only: its history stays readable, and its API keys are refused. Its data is
          deleted on {formatDateTime(workspace.purgeAfter)}
          {workspace.role === "owner" ? (
            <>
              , or sooner from{" "}
              <Link
                href={`/w/${workspace.slug}/settings`}
                className="font-medium underline hover:no-underline"
              >
                Workspace settings
              </Link>
            </>
          ) : null}
          . Contact support to reopen it.
        </p>
      </Alert>
    );
  }

  return (
    <Alert tone="warning" title="This workspace is suspended">
      <div data-testid="workspace-status-banner" className="space-y-1.5">
        <p>
          <span className="font-medium">Why: </span>
          {notice.reason ?? "no reason was recorded"}
          {workspace.suspendedAt && <> (since {formatDateTime(workspace.suspendedAt)})</>}.
        </p>
        <p>
          Until it is reactivated, the metering API refuses its keys and changes here are disabled.
        </p>
        <p>
          <span className="font-medium">What to do: </span>
          {canManageBilling(workspace.role) ? (
            <>
              pay the open invoice on the{" "}
              <Link
                href={`/w/${workspace.slug}/billing`}
                className="font-medium underline hover:no-underline"
              >
                billing page
              </Link>
            </>
          ) : (
            "ask a billing member to pay the open invoice"
          )}{" "}
          or contact support. Buying credits still works
          {canManageBilling(workspace.role) ? (
            <>
              {" "}
              on the{" "}
              <Link
                href={`/w/${workspace.slug}/credits`}
                className="font-medium underline hover:no-underline"
              >
                credits page
              </Link>
            </>
          ) : (
            " for its billing members"
          )}
          .
        </p>
      </div>
    </Alert>
  );
}
