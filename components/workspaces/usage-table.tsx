"use client";

import { Badge } from "@/components/ui/badge";
import { Card, CardHeader } from "@/components/ui/card";
import { QueryRows, Table, Td, Th } from "@/components/ui/table";
import { formatBytes, formatCredits, formatDateTime } from "@/components/lib/format";
import type { QueryResult, RouterOutputs, Workspace } from "@/components/lib/router-types";

type Usage = RouterOutputs["credits"]["usage"];

export function UsageTable({
  usage,
  priceTable,
}: {
  usage: QueryResult<Usage>;
  priceTable: Workspace["tier"]["priceTable"];
}) {
  const rows = usage.data ?? [];
  const names = new Map(priceTable.map((price) => [price.featureCode, price.name]));

  return (
    <Card>
      <CardHeader
        title="Recent usage"
        description="The last feature calls, from the API or the portal."
      />
      <Table label="Recent usage">
        <thead className="bg-slate-50/60">
          <tr>
            <Th>Feature</Th>
            <Th align="right">Input</Th>
            <Th align="right">Credits</Th>
            <Th>Outcome</Th>
            <Th>Source</Th>
            <Th>Time</Th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          <QueryRows
            query={usage}
            colSpan={6}
            subject="the usage"
            isEmpty={rows.length === 0}
            empty="No feature calls yet. Try one above, or call the API."
          />
          {rows.map((row) => (
            <tr key={row.id} data-testid="usage-row">
              <Td>
                <span className="font-medium text-slate-800">
                  {names.get(row.featureCode) ?? row.featureCode}
                </span>
                <span className="ml-2 font-mono text-xs text-slate-400">{row.featureCode}</span>
              </Td>
              <Td numeric>{formatBytes(row.inputBytes)}</Td>
              <Td numeric>{formatCredits(row.credits)}</Td>
              <Td>
                <Badge tone={row.outcome === "consumed" ? "green" : "red"}>
                  {row.outcome === "consumed" ? "Consumed" : "Refused"}
                </Badge>
              </Td>
              <Td className="text-slate-500">{row.apiKeyId ? "API key" : "Portal"}</Td>
              <Td className="whitespace-nowrap text-slate-500">{formatDateTime(row.createdAt)}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </Card>
  );
}
