"use client";

import type { InfiniteData, UseInfiniteQueryResult } from "@tanstack/react-query";
import { Fragment, useState, type ReactNode } from "react";

import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { ExpandButton } from "@/components/ui/expand-button";
import { QueryRows, Table, Td, Th } from "@/components/ui/table";
import { formatDateTime } from "@/components/lib/format";
import type { RouterOutputs } from "@/components/lib/router-types";

import {
  channelLabel,
  statusLabel,
  statusTone,
  type DeliveryChannel,
  type DeliveryStatus,
} from "./labels";
import {
  useNotificationStatus,
  type HistoryScope,
  type RetryControl,
  type RetryResult,
} from "./use-history";

type HistoryPage = RouterOutputs["notifications"]["history"];
type Status = RouterOutputs["notifications"]["status"];

/** Turns a recipient (user id, address, endpoint id) into something a person recognises. */
export type RecipientLabel = (channel: DeliveryChannel, recipient: string) => ReactNode;

/** An address as it is; a user or endpoint id shortened, whole on hover and in the status view. */
export const plainRecipient: RecipientLabel = (channel, recipient) => {
  if (channel === "email") return <span className="break-words">{recipient}</span>;

  return (
    <span className="whitespace-nowrap" title={recipient}>
      {channel === "in_app" ? "User " : "Endpoint "}
      <span className="font-mono text-xs">{recipient.slice(0, 8)}…</span>
    </span>
  );
};

export function DeliveryHistoryTable({
  label,
  scope,
  history,
  typeLabel,
  recipientLabel = plainRecipient,
  retry,
  empty,
}: {
  label: string;
  scope: HistoryScope;
  history: UseInfiniteQueryResult<InfiniteData<HistoryPage>, { message: string }>;
  typeLabel: (type: string) => string;
  recipientLabel?: RecipientLabel;
  retry: RetryControl;
  empty: ReactNode;
}) {
  const [open, setOpen] = useState<Set<string>>(new Set());
  const items = history.data?.pages.flatMap((page) => page.items) ?? [];
  const showWorkspace = scope.kind === "admin";
  const columns = 8;

  function toggle(id: string) {
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }

  return (
    <>
      <Table label={label}>
        <thead className="bg-slate-50/60">
          <tr>
            <Th className="w-10">
              <span className="sr-only">Details</span>
            </Th>
            <Th>Notification</Th>
            <Th>Channel</Th>
            <Th>Recipient</Th>
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
            query={history}
            colSpan={columns}
            subject="the history"
            isEmpty={items.length === 0}
            empty={empty}
          />
          {items.map((item) => {
            const expanded = open.has(item.id);
            const detailsId = `delivery-${item.id}`;
            const failed = item.status === "failed";
            return (
              <Fragment key={item.id}>
                <tr data-testid="history-row" className={cn(failed && "bg-red-50/50")}>
                  <Td className="pr-0">
                    <ExpandButton
                      expanded={expanded}
                      onToggle={() => toggle(item.id)}
                      controls={detailsId}
                      label={`status of "${item.title}"`}
                    />
                  </Td>
                  <Td className="min-w-52">
                    <p className="font-medium text-slate-900">{item.title}</p>
                    <p
                      className="mt-0.5 font-mono text-[11px] text-slate-500"
                      title={typeLabel(item.type)}
                    >
                      {item.type}
                    </p>
                    {showWorkspace && item.workspaceId && (
                      <p className="mt-0.5 text-xs text-slate-500" title={item.workspaceId}>
                        Workspace{" "}
                        <span className="font-mono text-[11px]">
                          {item.workspaceId.slice(0, 8)}…
                        </span>
                      </p>
                    )}
                  </Td>
                  <Td className="whitespace-nowrap">{channelLabel[item.channel]}</Td>
                  <Td className="max-w-64 min-w-40">
                    {recipientLabel(item.channel, item.recipient)}
                  </Td>
                  <Td className="whitespace-nowrap">
                    <DeliveryState delivery={item} />
                  </Td>
                  <Td className="max-w-64">
                    {item.lastError ? (
                      <p
                        className="line-clamp-2 text-xs break-words text-red-700"
                        title={item.lastError}
                      >
                        {item.lastError}
                      </p>
                    ) : (
                      <span className="text-slate-400">—</span>
                    )}
                  </Td>
                  <Td className="whitespace-nowrap text-slate-500 tabular-nums">
                    {formatDateTime(item.createdAt)}
                  </Td>
                  <Td className="text-right">
                    <RetryCell
                      deliveryId={item.id}
                      canRetry={failed}
                      retry={retry}
                      what={item.title}
                    />
                  </Td>
                </tr>
                {expanded && (
                  <tr id={detailsId} className="bg-slate-50/70">
                    <td colSpan={columns} className="px-5 py-4">
                      <NotificationStatusPanel
                        scope={scope}
                        notificationId={item.notificationId}
                        retry={retry}
                        recipientLabel={recipientLabel}
                        typeLabel={typeLabel}
                      />
                    </td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </tbody>
      </Table>
      {(history.hasNextPage || history.isFetchingNextPage) && (
        <div className="border-t border-slate-100 px-5 py-3">
          <Button
            variant="ghost"
            size="sm"
            pending={history.isFetchingNextPage}
            onClick={() => void history.fetchNextPage()}
          >
            Load more
          </Button>
        </div>
      )}
    </>
  );
}

/** The status badge with the attempts and, while pending, when the next one is due. */
export function DeliveryState({
  delivery,
}: {
  delivery: {
    status: DeliveryStatus;
    attempts: number;
    nextAttemptAt: Date | null;
    deliveredAt: Date | null;
  };
}) {
  return (
    <div className="space-y-1">
      <Badge tone={statusTone[delivery.status]}>{statusLabel[delivery.status]}</Badge>
      <p className="text-xs text-slate-500 tabular-nums">
        {delivery.attempts === 1 ? "1 attempt" : `${delivery.attempts} attempts`}
      </p>
      {delivery.status === "pending" && delivery.nextAttemptAt && (
        <p className="text-xs text-slate-500 tabular-nums">
          Next {formatDateTime(delivery.nextAttemptAt)}
        </p>
      )}
    </div>
  );
}

export function RetryCell({
  deliveryId,
  canRetry,
  retry,
  what,
  label = "Retry",
}: {
  deliveryId: string;
  canRetry: boolean;
  retry: RetryControl;
  what: string;
  label?: string;
}) {
  const result = retry.results[deliveryId];

  return (
    <div className="flex flex-col items-end gap-1.5">
      {canRetry && (
        <Button
          variant="secondary"
          size="sm"
          aria-label={`${label} ${what}`}
          pending={retry.pendingId === deliveryId}
          disabled={retry.pendingId !== undefined}
          onClick={() => retry.retry(deliveryId)}
        >
          {label}
        </Button>
      )}
      {result && <RetryNote result={result} />}
    </div>
  );
}

function RetryNote({ result }: { result: RetryResult }) {
  return (
    <p
      role="status"
      className={cn("max-w-48 text-left text-xs", result.ok ? "text-emerald-700" : "text-red-700")}
    >
      {result.message}
    </p>
  );
}

/** One notification: what it said and where each copy of it went. */
export function NotificationStatusPanel({
  scope,
  notificationId,
  retry,
  recipientLabel = plainRecipient,
  typeLabel,
}: {
  scope: HistoryScope;
  notificationId: string;
  retry: RetryControl;
  recipientLabel?: RecipientLabel;
  typeLabel: (type: string) => string;
}) {
  const status = useNotificationStatus(scope, notificationId);

  if (status.isPending) return <p className="text-sm text-slate-500">Loading the status…</p>;
  if (status.isError) {
    return (
      <p className="text-sm text-red-600">Could not load the status: {status.error.message}</p>
    );
  }

  return (
    <StatusDetails
      status={status.data}
      retry={retry}
      recipientLabel={recipientLabel}
      typeLabel={typeLabel}
    />
  );
}

function StatusDetails({
  status,
  retry,
  recipientLabel,
  typeLabel,
}: {
  status: Status;
  retry: RetryControl;
  recipientLabel: RecipientLabel;
  typeLabel: (type: string) => string;
}) {
  return (
    <div className="space-y-4" data-testid="notification-status">
      <dl className="grid gap-x-6 gap-y-1.5 text-sm sm:grid-cols-[auto_1fr]">
        <dt className="text-slate-500">Message</dt>
        <dd className="text-slate-900">
          <span className="font-medium">{status.title}</span>
          <span className="text-slate-600"> — {status.body}</span>
        </dd>
        <dt className="text-slate-500">Type</dt>
        <dd className="text-slate-900">
          {typeLabel(status.type)} <span className="font-mono text-xs">{status.type}</span>
        </dd>
        <dt className="text-slate-500">About</dt>
        <dd className="font-mono text-xs text-slate-700">
          {status.objectType} {status.objectId}
        </dd>
        <dt className="text-slate-500">Created</dt>
        <dd className="text-slate-900 tabular-nums">{formatDateTime(status.createdAt)}</dd>
        <dt className="text-slate-500">Notification id</dt>
        <dd className="font-mono text-xs text-slate-700">{status.id}</dd>
      </dl>
      <div className="overflow-x-auto rounded-md bg-white ring-1 ring-slate-200">
        <table
          aria-label={`Deliveries of "${status.title}"`}
          className="min-w-full divide-y divide-slate-200 text-sm text-slate-700"
        >
          <thead>
            <tr>
              <Th>Channel</Th>
              <Th>Recipient</Th>
              <Th>Status</Th>
              <Th>Delivered</Th>
              <Th>Last error</Th>
              <Th>
                <span className="sr-only">Actions</span>
              </Th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {status.deliveries.map((delivery) => (
              <tr key={delivery.id} className={cn(delivery.status === "failed" && "bg-red-50/50")}>
                <Td className="whitespace-nowrap">{channelLabel[delivery.channel]}</Td>
                <Td className="max-w-72">
                  {recipientLabel(delivery.channel, delivery.recipient)}
                  {delivery.channel !== "email" && (
                    <span className="mt-0.5 block font-mono text-[11px] break-all text-slate-400">
                      {delivery.recipient}
                    </span>
                  )}
                </Td>
                <Td className="whitespace-nowrap">
                  <DeliveryState delivery={delivery} />
                </Td>
                <Td className="whitespace-nowrap text-slate-500 tabular-nums">
                  {formatDateTime(delivery.deliveredAt ?? delivery.sentAt)}
                </Td>
                <Td className="max-w-72">
                  {delivery.lastError ? (
                    <p className="text-xs break-words text-red-700">{delivery.lastError}</p>
                  ) : (
                    <span className="text-slate-400">—</span>
                  )}
                </Td>
                <Td className="text-right">
                  <RetryCell
                    deliveryId={delivery.id}
                    canRetry={delivery.status === "failed"}
                    retry={retry}
                    what={`${channelLabel[delivery.channel]} to ${delivery.recipient}`}
                  />
                </Td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
