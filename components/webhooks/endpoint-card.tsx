"use client";

import { skipToken, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody } from "@/components/ui/card";
import { cn } from "@/components/ui/cn";
import { CopyButton } from "@/components/ui/copy-button";
import { formatCredits, formatDateTime } from "@/components/lib/format";
import type { RouterOutputs } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";
import { DisabledReason } from "@/components/workspaces/read-only";
import { DISABLE_ENDPOINT_AFTER } from "@/server/notifications/retry";

import { DeliveryLog } from "./delivery-log";
import { ALL_EVENTS, EndpointForm, type EventType } from "./endpoint-form";

type Endpoint = RouterOutputs["webhooks"]["endpoints"][number];

interface Notice {
  ok: boolean;
  message: string;
}

export function EndpointCard({
  workspaceId,
  endpoint,
  eventTypes,
  logOpenAtFirst,
  unavailable,
}: {
  workspaceId: string;
  endpoint: Endpoint;
  eventTypes: readonly EventType[];
  logOpenAtFirst: boolean;
  /** Why the endpoint cannot be changed now (a read-only workspace); its log stays readable. */
  unavailable?: string;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const ref = { workspaceId, endpointId: endpoint.id };
  const [editing, setEditing] = useState(false);
  const [logOpen, setLogOpen] = useState(logOpenAtFirst);
  const [notice, setNotice] = useState<Notice>();
  const refresh = () => queryClient.invalidateQueries(trpc.webhooks.pathFilter());
  const fail = (error: { message: string }) => setNotice({ ok: false, message: error.message });

  const setEnabled = useMutation(
    trpc.webhooks.setEnabled.mutationOptions({
      onSuccess: (result) =>
        setNotice({
          ok: true,
          message: result.enabled
            ? "Enabled: new events are sent again and the failure count starts over."
            : "Disabled: no events are sent until you enable it. Test events still go out.",
        }),
      onError: fail,
      onSettled: refresh,
    }),
  );
  const sendTest = useMutation(
    trpc.webhooks.sendTest.mutationOptions({
      onSuccess: () => {
        setLogOpen(true);
        setNotice({ ok: true, message: "Test event queued; it shows in the log below." });
      },
      onError: fail,
      onSettled: refresh,
    }),
  );
  const remove = useMutation(
    trpc.webhooks.delete.mutationOptions({ onError: fail, onSettled: refresh }),
  );

  const labels = new Map(eventTypes.map((entry) => [entry.type, entry.label]));
  const typeLabel = (type: string) => labels.get(type) ?? type;
  const enabled = endpoint.status === "enabled";
  const busy =
    setEnabled.isPending || sendTest.isPending || remove.isPending || unavailable !== undefined;

  return (
    <Card className={cn(!enabled && "bg-slate-50/40")}>
      <div
        className={cn(
          "flex flex-wrap items-start justify-between gap-4 border-b border-slate-100",
          "px-5 py-4",
        )}
      >
        <div className="min-w-0 flex-1">
          <div className="flex flex-wrap items-center gap-2">
            <h3 className="font-mono text-sm font-semibold break-all text-slate-900">
              {endpoint.url}
            </h3>
            <Badge tone={enabled ? "green" : "amber"}>{enabled ? "Enabled" : "Disabled"}</Badge>
          </div>
          {endpoint.description && (
            <p className="mt-0.5 text-sm [overflow-wrap:anywhere] text-slate-500">
              {endpoint.description}
            </p>
          )}
        </div>
        {!editing && (
          <div className="flex flex-wrap gap-2">
            <Button
              variant="secondary"
              size="sm"
              pending={sendTest.isPending}
              disabled={busy}
              onClick={() => sendTest.mutate(ref)}
            >
              Send test event
            </Button>
            <Button
              variant="secondary"
              size="sm"
              pending={setEnabled.isPending}
              disabled={busy}
              onClick={() => setEnabled.mutate({ ...ref, enabled: !enabled })}
            >
              {enabled ? "Disable" : "Enable"}
            </Button>
            <Button variant="secondary" size="sm" disabled={busy} onClick={() => setEditing(true)}>
              Edit
            </Button>
            <Button
              variant="danger"
              size="sm"
              pending={remove.isPending}
              disabled={busy}
              onClick={() => {
                const question =
                  `Delete the endpoint ${endpoint.url}? ` +
                  "Nothing more is sent to it, and its delivery log is deleted with it.";
                if (window.confirm(question)) remove.mutate(ref);
              }}
            >
              Delete
            </Button>
          </div>
        )}
        {!editing && <DisabledReason reason={unavailable} className="w-full" />}
      </div>
      <CardBody className="space-y-4">
        {notice && <Alert tone={notice.ok ? "success" : "error"}>{notice.message}</Alert>}
        {!enabled && (
          <Alert tone="warning" title={`Disabled ${formatDateTime(endpoint.disabledAt)}`}>
            {endpoint.disabledReason ?? "No reason was recorded."}
          </Alert>
        )}
        {editing ? (
          <EndpointForm
            workspaceId={workspaceId}
            endpointId={endpoint.id}
            initial={endpoint}
            eventTypes={eventTypes}
            onDone={() => {
              setEditing(false);
              setNotice({ ok: true, message: "Saved." });
              void refresh();
            }}
            onCancel={() => setEditing(false)}
          />
        ) : (
          <dl className="grid gap-x-6 gap-y-3 text-sm sm:grid-cols-[auto_1fr]">
            <dt className="text-slate-500">Events</dt>
            <dd className="flex flex-wrap gap-1.5">
              {endpoint.eventTypes.includes(ALL_EVENTS) ? (
                <Badge tone="indigo">All events</Badge>
              ) : (
                endpoint.eventTypes.map((type) => (
                  <Badge key={type}>
                    <span title={type}>{typeLabel(type)}</span>
                  </Badge>
                ))
              )}
            </dd>
            <dt className="text-slate-500">Failures in a row</dt>
            <dd
              className={cn(
                "tabular-nums",
                endpoint.consecutiveFailures > 0 ? "text-red-700" : "text-slate-900",
              )}
            >
              {formatCredits(endpoint.consecutiveFailures)}
              <span className="ml-2 text-xs text-slate-500">
                disabled after {DISABLE_ENDPOINT_AFTER}
              </span>
            </dd>
            <dt className="text-slate-500">Signing secret</dt>
            <dd>
              <SigningSecret target={ref} />
            </dd>
            <dt className="text-slate-500">Created</dt>
            <dd className="text-slate-900 tabular-nums">{formatDateTime(endpoint.createdAt)}</dd>
          </dl>
        )}
      </CardBody>
      <div className="border-t border-slate-100">
        <div className="flex items-center justify-between px-5 py-2.5">
          <h4 className="text-sm font-semibold text-slate-900">Delivery log</h4>
          <Button
            variant="ghost"
            size="sm"
            aria-expanded={logOpen}
            onClick={() => setLogOpen((value) => !value)}
          >
            {logOpen ? "Hide" : "Show"}
          </Button>
        </div>
        {logOpen && (
          <div className="border-t border-slate-100">
            <DeliveryLog workspaceId={workspaceId} endpointId={endpoint.id} typeLabel={typeLabel} />
          </div>
        )}
      </div>
    </Card>
  );
}

/** The secret stays hidden until asked for: it is fetched only then. */
function SigningSecret({ target }: { target: { workspaceId: string; endpointId: string } }) {
  const trpc = useTRPC();
  const [shown, setShown] = useState(false);
  const secret = useQuery(
    trpc.webhooks.secret.queryOptions(shown ? target : skipToken, { staleTime: Infinity }),
  );
  const value = shown ? secret.data?.secret : undefined;

  return (
    <div className="flex flex-wrap items-center gap-2">
      <code
        data-testid={value ? "endpoint-secret" : undefined}
        className={cn(
          "rounded-md bg-slate-50 px-2.5 py-1 font-mono text-xs break-all ring-1 ring-slate-200",
          value ? "text-slate-800" : "text-slate-400",
        )}
      >
        {value ?? "whsec_••••••••••••••••••••••••"}
      </code>
      {value ? (
        <>
          <CopyButton value={value} label="Copy secret" />
          <Button variant="ghost" size="sm" onClick={() => setShown(false)}>
            Hide
          </Button>
        </>
      ) : (
        <Button
          variant="secondary"
          size="sm"
          pending={shown && secret.isFetching}
          onClick={() => setShown(true)}
        >
          Reveal secret
        </Button>
      )}
      {secret.isError && <p className="text-xs text-red-600">{secret.error.message}</p>}
    </div>
  );
}
