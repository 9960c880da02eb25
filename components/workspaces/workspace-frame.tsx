"use client";

import Link from "next/link";
import type { ReactNode } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { ButtonLink } from "@/components/ui/button";
import { Card, CardBody } from "@/components/ui/card";
import { formatDateTime, humanize } from "@/components/lib/format";
import { appCodeOf } from "@/components/lib/form-errors";
import { canManageBilling } from "@/components/lib/roles";
import type { Workspace } from "@/components/lib/router-types";

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
 * While the workspace is suspended or cancelled: why, and what to do. Shown
 * on every workspace page; the actions it makes unavailable are disabled
 * where they are offered.
 *
 * TODO: link the open invoice itself once invoices exist; until then the
 * banner can only tell the customer to pay it.
 */
function StatusBanner({ workspace }: { workspace: Workspace }) {
  const notice = workspace.readOnly;
  if (!notice) return null;

  if (notice.status === "cancelled") {
    return (
      <Alert tone="error" title="This workspace is cancelled">
        <p data-testid="workspace-status-banner">
          It is read-only: its history stays readable, and its API keys are refused. Contact support
          to reopen it.
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
          pay the open invoice or contact support. Buying credits still works
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
