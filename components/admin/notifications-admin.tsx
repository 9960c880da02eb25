"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { formErrorsOf, noErrors } from "@/components/lib/form-errors";
import { formatCredits, humanize } from "@/components/lib/format";
import { useTRPC } from "@/components/lib/trpc";
import { DeliveryHistoryTable } from "@/components/notifications/delivery-history";
import { filterFields, HistoryFilters } from "@/components/notifications/history-filters";
import {
  isFiltered,
  useDeliveryHistory,
  useRetryDelivery,
  type HistoryFilter,
  type HistoryScope,
} from "@/components/notifications/use-history";

const scope: HistoryScope = { kind: "admin" };

interface Notice {
  ok: boolean;
  message: string;
}

export function NotificationsAdmin() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [filter, setFilter] = useState<HistoryFilter>({});
  const [notice, setNotice] = useState<Notice>();
  const history = useDeliveryHistory(scope, filter);
  const retry = useRetryDelivery(scope);
  const types = useQuery(trpc.notifications.admin.types.queryOptions());
  const retryFailed = useMutation(
    trpc.notifications.admin.retryFailed.mutationOptions({
      onSuccess: ({ requeued }, input) =>
        setNotice({
          ok: true,
          message:
            requeued === 0
              ? `No failed ${typeLabel(input.type)} deliveries to retry.`
              : `${formatCredits(requeued)} failed ${typeLabel(input.type)} ` +
                `${requeued === 1 ? "delivery was" : "deliveries were"} tried again; ` +
                "the list shows how each went.",
        }),
      onError: (error) => setNotice({ ok: false, message: error.message }),
      onSettled: () => queryClient.invalidateQueries(trpc.notifications.pathFilter()),
    }),
  );

  const labels = new Map((types.data ?? []).map((entry) => [entry.type, entry.label]));
  function typeLabel(type: string): string {
    return labels.get(type) ?? humanize(type);
  }
  const errors = history.isError ? formErrorsOf(history.error, filterFields) : noErrors;
  const type = filter.type;

  return (
    <Card>
      <CardHeader
        title="Deliveries"
        description={
          "Every notification on every channel and in every workspace, newest first. Failed " +
          "deliveries are in red: each can be retried, or all of one type at once."
        }
        action={
          type && (
            <Button
              variant="secondary"
              pending={retryFailed.isPending}
              onClick={() => {
                const question =
                  `Retry every failed "${typeLabel(type)}" delivery, in every workspace? ` +
                  "Each is attempted again now.";
                if (window.confirm(question)) retryFailed.mutate({ type });
              }}
            >
              Retry all failed of this type
            </Button>
          )
        }
      />
      <CardBody className="space-y-4 border-b border-slate-100">
        {notice && <Alert tone={notice.ok ? "success" : "error"}>{notice.message}</Alert>}
        <HistoryFilters
          idPrefix="admin-history"
          value={filter}
          onChange={(next) => {
            setFilter(next);
            setNotice(undefined);
          }}
          types={types.data ?? []}
          withWorkspace
          errors={errors}
        />
      </CardBody>
      <DeliveryHistoryTable
        label="All deliveries"
        scope={scope}
        history={history}
        typeLabel={typeLabel}
        retry={retry}
        empty={
          isFiltered(filter) ? "No deliveries match these filters." : "No notifications sent yet."
        }
      />
    </Card>
  );
}
