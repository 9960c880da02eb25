"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";

import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { formErrorsOf, noErrors } from "@/components/lib/form-errors";
import { humanize } from "@/components/lib/format";
import type { Workspace } from "@/components/lib/router-types";
import { isWorkspaceAdmin } from "@/components/lib/roles";
import { useTRPC } from "@/components/lib/trpc";
import { NeedsAdmin } from "@/components/workspaces/needs-admin";
import { useWorkspace } from "@/components/workspaces/use-workspace";

import { DeliveryHistoryTable, plainRecipient, type RecipientLabel } from "./delivery-history";
import { filterFields, HistoryFilters } from "./history-filters";
import {
  isFiltered,
  useDeliveryHistory,
  useRetryDelivery,
  type HistoryFilter,
  type HistoryScope,
} from "./use-history";

export function WorkspaceNotifications({ slug }: { slug: string }) {
  const workspace = useWorkspace(slug);
  if (!workspace.data) return null;
  if (!isWorkspaceAdmin(workspace.data.role)) {
    return (
      <NeedsAdmin title="The notification history needs the admin role">
        Owners and admins see every notice this workspace sent. Your own notices are under the bell,
        and you choose which ones you get in{" "}
        <Link href="/settings/notifications" className="font-medium text-indigo-600">
          notification settings
        </Link>
        .
      </NeedsAdmin>
    );
  }

  return <History workspace={workspace.data} />;
}

function History({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const scope: HistoryScope = { kind: "workspace", workspaceId: workspace.workspaceId };
  const [filter, setFilter] = useState<HistoryFilter>({});
  const history = useDeliveryHistory(scope, filter);
  const retry = useRetryDelivery(scope);
  const types = useQuery(trpc.notifications.preferences.queryOptions());
  const me = useQuery(trpc.auth.me.queryOptions());
  const endpoints = useQuery(
    trpc.webhooks.endpoints.queryOptions({ workspaceId: workspace.workspaceId }),
  );

  const labels = new Map((types.data ?? []).map((entry) => [entry.type, entry.label]));
  const urls = new Map((endpoints.data ?? []).map((endpoint) => [endpoint.id, endpoint.url]));
  const typeLabel = (type: string) => labels.get(type) ?? humanize(type);
  const recipientLabel: RecipientLabel = (channel, recipient) => {
    const url = channel === "webhook" ? urls.get(recipient) : undefined;
    if (url) {
      return (
        <span className="block max-w-64 truncate font-mono text-xs" title={url}>
          {url}
        </span>
      );
    }
    if (channel === "in_app" && recipient === me.data?.id)
      return <span title={recipient}>You</span>;

    return plainRecipient(channel, recipient);
  };
  const errors = history.isError ? formErrorsOf(history.error, filterFields) : noErrors;

  return (
    <Card>
      <CardHeader
        title="Notification history"
        description={
          "Every notice sent for this workspace, on every channel and to every recipient, " +
          "newest first. Open a row to see where each copy went."
        }
      />
      <CardBody className="border-b border-slate-100">
        <HistoryFilters
          idPrefix="history"
          value={filter}
          onChange={setFilter}
          types={types.data ?? []}
          errors={errors}
        />
      </CardBody>
      <DeliveryHistoryTable
        label="Notification history"
        scope={scope}
        history={history}
        typeLabel={typeLabel}
        recipientLabel={recipientLabel}
        retry={retry}
        empty={
          isFiltered(filter)
            ? "No deliveries match these filters."
            : "Nothing sent yet. Low balances, invoices and webhook events show up here."
        }
      />
    </Card>
  );
}
