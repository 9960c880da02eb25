"use client";

import {
  skipToken,
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";
import { useState } from "react";

import type { RouterInputs } from "@/components/lib/router-types";
import { useTRPC, useTRPCClient } from "@/components/lib/trpc";

import { retryOutcomeMessage } from "./labels";

/** Whose deliveries a view shows: one workspace's (its admins) or every one (platform admins). */
export type HistoryScope = { kind: "workspace"; workspaceId: string } | { kind: "admin" };

export type HistoryFilter = Omit<
  RouterInputs["notifications"]["admin"]["history"],
  "cursor" | "limit"
>;

const PAGE_SIZE = 50;

/**
 * The delivery history page by page, each page starting after the previous
 * one's last delivery (its time and id); the key sits under the procedure's
 * path, so invalidating the path refreshes it.
 */
export function useDeliveryHistory(scope: HistoryScope, filter: HistoryFilter) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const procedure =
    scope.kind === "admin" ? trpc.notifications.admin.history : trpc.notifications.history;
  const input = scope.kind === "admin" ? filter : { ...filter, workspaceId: scope.workspaceId };

  return useInfiniteQuery({
    queryKey: [procedure.pathKey()[0], { input, type: "infinite" }],
    queryFn: ({ pageParam }) => {
      const page = { ...filter, cursor: pageParam, limit: PAGE_SIZE };

      return scope.kind === "admin"
        ? client.notifications.admin.history.query(page)
        : client.notifications.history.query({ ...page, workspaceId: scope.workspaceId });
    },
    initialPageParam: undefined as { createdAt: Date; id: string } | undefined,
    getNextPageParam: (last) => last.nextCursor,
    refetchInterval: 15_000,
  });
}

/** One notification with all its deliveries, fetched when its row is opened. */
export function useNotificationStatus(scope: HistoryScope, notificationId: string) {
  const trpc = useTRPC();
  const refresh = { refetchInterval: 5_000 };
  const inWorkspace = useQuery(
    trpc.notifications.status.queryOptions(
      scope.kind === "workspace" ? { workspaceId: scope.workspaceId, notificationId } : skipToken,
      refresh,
    ),
  );
  const asAdmin = useQuery(
    trpc.notifications.admin.status.queryOptions(
      scope.kind === "admin" ? { notificationId } : skipToken,
      refresh,
    ),
  );

  return scope.kind === "admin" ? asAdmin : inWorkspace;
}

export interface RetryResult {
  ok: boolean;
  message: string;
}

export interface RetryControl {
  retry: (deliveryId: string) => void;
  /** The delivery being retried now, if any. */
  pendingId: string | undefined;
  /** The outcome of each retry made on this page, by delivery id. */
  results: Record<string, RetryResult>;
}

/** Retries one delivery now and keeps what came of it, to show beside the row. */
export function useRetryDelivery(scope: HistoryScope): RetryControl {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [results, setResults] = useState<Record<string, RetryResult>>({});
  const callbacks = {
    onSuccess: (result: { outcome: Parameters<typeof retryOutcomeMessage>[0] }, input: Id) =>
      setResults((all) => ({ ...all, [input.deliveryId]: retryOutcomeMessage(result.outcome) })),
    onError: (error: { message: string }, input: Id) =>
      setResults((all) => ({ ...all, [input.deliveryId]: { ok: false, message: error.message } })),
    onSettled: () =>
      Promise.all([
        queryClient.invalidateQueries(trpc.notifications.pathFilter()),
        queryClient.invalidateQueries(trpc.webhooks.pathFilter()),
      ]),
  };
  const inWorkspace = useMutation(trpc.notifications.retryDelivery.mutationOptions(callbacks));
  const asAdmin = useMutation(trpc.notifications.admin.retryDelivery.mutationOptions(callbacks));
  const active = scope.kind === "admin" ? asAdmin : inWorkspace;

  return {
    retry: (deliveryId) =>
      scope.kind === "admin"
        ? asAdmin.mutate({ deliveryId })
        : inWorkspace.mutate({ workspaceId: scope.workspaceId, deliveryId }),
    pendingId: active.isPending ? active.variables?.deliveryId : undefined,
    results,
  };
}

interface Id {
  deliveryId: string;
}

export function isFiltered(filter: HistoryFilter): boolean {
  return Object.values(filter).some((value) => value !== undefined);
}
