"use client";

import { useQuery } from "@tanstack/react-query";

import { Badge } from "@/components/ui/badge";
import { Card, CardHeader } from "@/components/ui/card";
import { QueryRows, Table, Td, Th } from "@/components/ui/table";
import { formatCredits, formatDateTime } from "@/components/lib/format";
import type { Workspace } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";

/**
 * The tier's quotas with the calls used in the current period (the UTC day,
 * or the credit period). Quotas do not block calls: going over one notifies
 * the workspace's admins once per period.
 */
export function QuotaTable({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const usage = useQuery(
    trpc.tiers.quotaUsage.queryOptions(
      { workspaceId: workspace.workspaceId },
      { refetchInterval: 30_000 },
    ),
  );
  const rows = usage.data ?? [];
  if (usage.isSuccess && rows.length === 0) return null;
  const names = new Map(workspace.tier.priceTable.map((price) => [price.featureCode, price.name]));

  return (
    <Card>
      <CardHeader
        title="Quotas"
        description={
          `Calls per feature that the ${workspace.tier.name} tier includes each period. Going ` +
          "over does not stop calls; admins are told once per period."
        }
      />
      <Table label="Quotas">
        <thead className="bg-slate-50/60">
          <tr>
            <Th>Feature</Th>
            <Th>Period</Th>
            <Th align="right">Used</Th>
            <Th align="right">Quota</Th>
            <Th>Resets</Th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          <QueryRows query={usage} colSpan={5} subject="the quotas" isEmpty={false} empty="" />
          {rows.map((quota) => (
            <tr key={`${quota.featureCode}:${quota.period}`} data-testid="quota-row">
              <Td className="font-medium">{names.get(quota.featureCode) ?? quota.featureCode}</Td>
              <Td>{quota.period === "day" ? "Day (UTC)" : "Credit period"}</Td>
              <Td numeric>
                {quota.exceeded && (
                  <Badge tone="amber" className="mr-2">
                    Over
                  </Badge>
                )}
                {formatCredits(quota.used)}
              </Td>
              <Td numeric>{formatCredits(quota.maxCalls)}</Td>
              <Td className="whitespace-nowrap">{formatDateTime(quota.periodEnd)}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </Card>
  );
}
