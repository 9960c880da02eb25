"use client";

import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardHeader } from "@/components/ui/card";
import { cn } from "@/components/ui/cn";
import { QueryRows, Table, Td, Th } from "@/components/ui/table";
import {
  formatCredits,
  formatDateTime,
  formatSignedCredits,
  humanize,
} from "@/components/lib/format";
import type { QueryResult, RouterOutputs } from "@/components/lib/router-types";

type History = RouterOutputs["credits"]["history"];
type Kind = History["entries"][number]["kind"];

const kindTone: Record<Kind, "green" | "neutral" | "amber" | "indigo"> = {
  grant: "green",
  consume: "neutral",
  expire: "amber",
  refund: "indigo",
  adjustment: "indigo",
  hold: "neutral",
  release: "green",
  transfer: "indigo",
  rollover: "green",
};

export function LedgerTable({
  history,
  canShowMore,
  onShowMore,
}: {
  history: QueryResult<History>;
  canShowMore: boolean;
  onShowMore: () => void;
}) {
  const entries = history.data?.entries ?? [];

  return (
    <Card>
      <CardHeader
        title="Credit history"
        description="Every change to the balance, newest first. The ledger is append-only."
      />
      <Table label="Credit history">
        <thead className="bg-slate-50/60">
          <tr>
            <Th>Kind</Th>
            <Th align="right">Amount</Th>
            <Th align="right">Balance after</Th>
            <Th>Reason</Th>
            <Th>Time</Th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          <QueryRows
            query={history}
            colSpan={5}
            subject="the history"
            isEmpty={entries.length === 0}
            empty="No credit movements yet."
          />
          {entries.map((entry) => (
            <tr key={entry.id} data-testid="ledger-row">
              <Td>
                <Badge tone={kindTone[entry.kind]}>{humanize(entry.kind)}</Badge>
              </Td>
              <Td
                numeric
                className={cn(
                  "font-medium",
                  entry.amount > 0 ? "text-emerald-700" : "text-slate-900",
                )}
              >
                {formatSignedCredits(entry.amount)}
              </Td>
              <Td numeric>{formatCredits(entry.balanceAfter)}</Td>
              <Td className="max-w-xs">{entry.reason}</Td>
              <Td className="whitespace-nowrap text-slate-500">
                {formatDateTime(entry.createdAt)}
              </Td>
            </tr>
          ))}
        </tbody>
      </Table>
      {canShowMore && (
        <div className="border-t border-slate-100 px-5 py-3">
          <Button variant="ghost" size="sm" onClick={onShowMore}>
            Show more
          </Button>
        </div>
      )}
    </Card>
  );
}
