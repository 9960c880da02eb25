"use client";

import { useQuery } from "@tanstack/react-query";
import { Fragment, useState } from "react";

import { Badge } from "@/components/ui/badge";
import { cn } from "@/components/ui/cn";
import { CodeBlock } from "@/components/ui/code-block";
import { ExpandButton } from "@/components/ui/expand-button";
import { QueryRows, Table, Td, Th } from "@/components/ui/table";
import { formatDateTime, formatDuration, prettyJson } from "@/components/lib/format";
import type { RouterOutputs } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";
import { DeliveryState, RetryCell } from "@/components/notifications/delivery-history";
import { useRetryDelivery } from "@/components/notifications/use-history";

type Delivery = RouterOutputs["webhooks"]["deliveries"][number];
type Attempt = Delivery["attempts"][number];

const COLUMNS = 6;

/** An endpoint's deliveries, newest first; each opens to the requests sent and what came back. */
export function DeliveryLog({
  workspaceId,
  endpointId,
  typeLabel,
}: {
  workspaceId: string;
  endpointId: string;
  typeLabel: (type: string) => string;
}) {
  const trpc = useTRPC();
  const deliveries = useQuery(
    trpc.webhooks.deliveries.queryOptions(
      { workspaceId, endpointId },
      {
        // A new delivery is sent within a second or two; poll fast only while one waits.
        refetchInterval: (query) =>
          query.state.data?.some((delivery) => delivery.status === "pending") ? 2_000 : 15_000,
      },
    ),
  );
  const retry = useRetryDelivery({ kind: "workspace", workspaceId });
  const [open, setOpen] = useState<Set<string>>(new Set());
  const rows = deliveries.data ?? [];

  function toggle(id: string) {
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }

  return (
    <Table label="Delivery log">
      <thead className="bg-slate-50/60">
        <tr>
          <Th className="w-10">
            <span className="sr-only">Details</span>
          </Th>
          <Th>Event</Th>
          <Th>Status</Th>
          <Th>Last error</Th>
          <Th>Created</Th>
          <Th>
            <span className="sr-only">Actions</span>
          </Th>
        </tr>
      </thead>
      <tbody className="divide-y divide-slate-100">
        <QueryRows
          query={deliveries}
          colSpan={COLUMNS}
          subject="the deliveries"
          isEmpty={rows.length === 0}
          empty="Nothing sent to this endpoint yet. Send a test event to try it."
        />
        {rows.map((delivery) => {
          const expanded = open.has(delivery.id);
          const detailsId = `webhook-delivery-${delivery.id}`;
          return (
            <Fragment key={delivery.id}>
              <tr
                data-testid="webhook-delivery"
                className={cn(delivery.status === "failed" && "bg-red-50/50")}
              >
                <Td className="pr-0">
                  <ExpandButton
                    expanded={expanded}
                    onToggle={() => toggle(delivery.id)}
                    controls={detailsId}
                    label={`attempts of ${delivery.type}`}
                  />
                </Td>
                <Td>
                  <p className="font-medium text-slate-900">{typeLabel(delivery.type)}</p>
                  <p className="font-mono text-[11px] text-slate-500">{delivery.type}</p>
                </Td>
                <Td className="whitespace-nowrap">
                  <DeliveryState delivery={{ ...delivery, attempts: delivery.attemptCount }} />
                </Td>
                <Td className="max-w-72">
                  {delivery.lastError ? (
                    <p
                      className="line-clamp-2 text-xs break-words text-red-700"
                      title={delivery.lastError}
                    >
                      {delivery.lastError}
                    </p>
                  ) : (
                    <span className="text-slate-400">—</span>
                  )}
                </Td>
                <Td className="whitespace-nowrap text-slate-500 tabular-nums">
                  {formatDateTime(delivery.createdAt)}
                </Td>
                <Td className="text-right">
                  <RetryCell
                    deliveryId={delivery.id}
                    canRetry={delivery.status === "failed" || delivery.status === "pending"}
                    retry={retry}
                    what={typeLabel(delivery.type)}
                    label="Resend"
                  />
                </Td>
              </tr>
              {expanded && (
                <tr id={detailsId} className="bg-slate-50/70">
                  <td colSpan={COLUMNS} className="space-y-3 px-5 py-4">
                    {delivery.attempts.length === 0 ? (
                      <p className="text-sm text-slate-500">Not attempted yet.</p>
                    ) : (
                      delivery.attempts.map((attempt) => (
                        <AttemptView key={attempt.id} attempt={attempt} />
                      ))
                    )}
                  </td>
                </tr>
              )}
            </Fragment>
          );
        })}
      </tbody>
    </Table>
  );
}

function AttemptView({ attempt }: { attempt: Attempt }) {
  const status = attempt.responseStatus;
  const ok = status !== null && status >= 200 && status < 300;

  return (
    <article
      data-testid="webhook-attempt"
      aria-label={`Attempt ${attempt.attempt}`}
      className="rounded-md bg-white ring-1 ring-slate-200"
    >
      <header
        className={cn(
          "flex flex-wrap items-center gap-x-4 gap-y-1 border-b border-slate-100",
          "px-4 py-2.5",
        )}
      >
        <h4 className="text-sm font-semibold text-slate-900">Attempt {attempt.attempt}</h4>
        <time
          className="text-xs text-slate-500 tabular-nums"
          dateTime={new Date(attempt.createdAt).toISOString()}
        >
          {formatDateTime(attempt.createdAt)}
        </time>
        <span className="text-xs text-slate-500 tabular-nums">
          {formatDuration(attempt.durationMs)}
        </span>
        <span className="ml-auto">
          {status === null ? (
            <Badge tone="red">No response</Badge>
          ) : (
            <Badge tone={ok ? "green" : "red"}>
              <span data-testid="response-status">HTTP {status}</span>
            </Badge>
          )}
        </span>
      </header>
      <div className="grid gap-4 p-4 lg:grid-cols-2">
        <section className="min-w-0 space-y-2">
          <h5 className="text-xs font-medium tracking-wide text-slate-500 uppercase">Request</h5>
          <p className="font-mono text-xs break-all text-slate-700">POST {attempt.url}</p>
          <dl
            aria-label="Request headers"
            className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-0.5 font-mono text-xs"
          >
            {Object.entries(attempt.requestHeaders).map(([name, value]) => (
              <Fragment key={name}>
                <dt className="text-slate-500">{name}:</dt>
                <dd className="break-all text-slate-800">
                  {value}
                  {name === "tally-signature" && (
                    <span className="ml-2 font-sans text-slate-400">(the value is not kept)</span>
                  )}
                </dd>
              </Fragment>
            ))}
          </dl>
          <CodeBlock label="Request body">{prettyJson(attempt.requestBody)}</CodeBlock>
        </section>
        <section className="min-w-0 space-y-2">
          <h5 className="text-xs font-medium tracking-wide text-slate-500 uppercase">Response</h5>
          {attempt.error && (
            <p className="text-xs break-words text-red-700" role="note">
              {attempt.error}
            </p>
          )}
          {status !== null && (
            <p className="text-xs text-slate-700 tabular-nums">
              Status {status}, after {formatDuration(attempt.durationMs)}
            </p>
          )}
          {attempt.responseBody ? (
            <CodeBlock label="Response body">{prettyJson(attempt.responseBody)}</CodeBlock>
          ) : (
            <p className="text-xs text-slate-500">
              {status === null ? "Nothing came back." : "Empty body."}
            </p>
          )}
        </section>
      </div>
    </article>
  );
}
