"use client";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { appCodeOf } from "@/components/lib/form-errors";
import { humanize } from "@/components/lib/format";
import type { Workspace } from "@/components/lib/router-types";
import { isWorkspaceAdmin } from "@/components/lib/roles";
import { useTRPC } from "@/components/lib/trpc";
import { NeedsAdmin } from "@/components/workspaces/needs-admin";
import {
  DisabledReason,
  readOnlyReason,
  tierFeatureReason,
} from "@/components/workspaces/read-only";
import { useWorkspace } from "@/components/workspaces/use-workspace";

import { EndpointCard } from "./endpoint-card";
import { EndpointForm } from "./endpoint-form";
import { VerifyHelp } from "./verify-help";

/** With a few endpoints every log is open at first; with more, each opens on demand. */
const OPEN_LOGS_UP_TO = 3;

export function WebhooksPanel({ slug }: { slug: string }) {
  const workspace = useWorkspace(slug);
  if (!workspace.data) return null;
  if (!isWorkspaceAdmin(workspace.data.role))
    return <WebhooksNeedAdmin role={workspace.data.role} />;

  return <Webhooks workspace={workspace.data} />;
}

function WebhooksNeedAdmin({ role }: { role: string }) {
  return (
    <NeedsAdmin title="Webhooks need the admin role">
      Only owners and admins of this workspace can see and change its endpoints. You are a{" "}
      {humanize(role).toLowerCase()}.
    </NeedsAdmin>
  );
}

function Webhooks({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const scope = { workspaceId: workspace.workspaceId };
  const endpoints = useQuery(
    trpc.webhooks.endpoints.queryOptions(scope, { refetchInterval: 15_000 }),
  );
  const eventTypes = useQuery(trpc.webhooks.eventTypes.queryOptions(scope));
  const [adding, setAdding] = useState(false);
  const [added, setAdded] = useState(false);

  if (endpoints.isError && appCodeOf(endpoints.error) === "forbidden") {
    return <WebhooksNeedAdmin role="member" />;
  }

  const list = endpoints.data ?? [];
  const unavailable =
    readOnlyReason(workspace, "Changing endpoints is") ??
    tierFeatureReason(workspace, "webhooks", "Webhook endpoints are");
  const formOpen = !unavailable && (adding || (endpoints.isSuccess && list.length === 0));

  return (
    <div className="space-y-6">
      <Card>
        <CardHeader
          title="Webhook endpoints"
          description={
            <>
              Tally sends each endpoint a signed POST when something happens here.{" "}
              <Link href="#how-to-verify" className="font-medium text-indigo-600">
                How to verify
              </Link>
            </>
          }
          action={
            !formOpen && (
              <Button
                disabled={unavailable !== undefined}
                aria-describedby={unavailable ? "webhooks-unavailable" : undefined}
                onClick={() => {
                  setAdding(true);
                  setAdded(false);
                }}
              >
                Add endpoint
              </Button>
            )
          }
        />
        {added && !formOpen && (
          <div className="px-5 py-4">
            <Alert tone="success">
              Endpoint added. Reveal its signing secret below and send a test event.
            </Alert>
          </div>
        )}
        {unavailable && (
          <CardBody>
            <DisabledReason id="webhooks-unavailable" reason={unavailable} />
          </CardBody>
        )}
        {formOpen && (
          <CardBody>
            {eventTypes.isError ? (
              <Alert tone="error">Could not load the event types: {eventTypes.error.message}</Alert>
            ) : (
              <EndpointForm
                workspaceId={workspace.workspaceId}
                eventTypes={eventTypes.data ?? []}
                onDone={() => {
                  setAdding(false);
                  setAdded(true);
                  void queryClient.invalidateQueries(trpc.webhooks.endpoints.queryFilter());
                }}
                onCancel={list.length > 0 ? () => setAdding(false) : undefined}
              />
            )}
          </CardBody>
        )}
        {endpoints.isPending && (
          <p className="px-5 py-8 text-center text-sm text-slate-500">Loading…</p>
        )}
        {endpoints.isError && (
          <p className="px-5 py-8 text-center text-sm text-slate-500">
            Could not load the endpoints: {endpoints.error.message}
          </p>
        )}
      </Card>
      {list.map((endpoint) => (
        <div key={endpoint.id} data-testid="webhook-endpoint">
          <EndpointCard
            workspaceId={workspace.workspaceId}
            endpoint={endpoint}
            eventTypes={eventTypes.data ?? []}
            logOpenAtFirst={list.length <= OPEN_LOGS_UP_TO}
            unavailable={unavailable}
          />
        </div>
      ))}
      <div id="how-to-verify" className="scroll-mt-6">
        <VerifyHelp />
      </div>
    </div>
  );
}
