"use client";

import type { ReactNode } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { ButtonLink } from "@/components/ui/button";
import { Card, CardBody } from "@/components/ui/card";
import { humanize } from "@/components/lib/format";
import { appCodeOf } from "@/components/lib/form-errors";

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
      {data.status !== "active" && (
        <Alert
          tone={data.status === "cancelled" ? "error" : "warning"}
          title={statusTitle(data.status)}
        >
          {data.status === "suspended"
            ? "Feature calls, from the API or the portal, are refused until it is reactivated."
            : "This workspace no longer consumes credits. Its history stays readable."}
        </Alert>
      )}
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

function statusTitle(status: "active" | "suspended" | "cancelled"): string {
  return status === "suspended" ? "This workspace is suspended" : "This workspace is cancelled";
}
