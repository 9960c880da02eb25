"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { QueryRows, Table, Td, Th } from "@/components/ui/table";
import { formatDateTime, humanize } from "@/components/lib/format";
import { formErrorsOf } from "@/components/lib/form-errors";
import type { RouterInputs } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";

type Move = RouterInputs["adminBilling"]["advanceClock"];

const moves: { label: string; move: Move }[] = [
  { label: "Advance 1 hour", move: { by: "hours", amount: 1 } },
  { label: "Advance 1 day", move: { by: "days", amount: 1 } },
  { label: "Advance 7 days", move: { by: "days", amount: 7 } },
  { label: "Advance to next period end", move: { by: "next_period_end" } },
];

/** "2027-06-01 09:00:00 UTC": the platform's time, exact and in one zone for every admin. */
function utc(value: Date): string {
  return `${value.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/**
 * The platform clock: its time and offset from real time, the buttons that
 * move it forward, and the period ends coming up, so an admin sees what will
 * renew. Moving it runs the cron reactions at once; renewals, rollovers and
 * expiries then follow through the normal reactions within seconds.
 */
export function ClockAdmin() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const status = useQuery(
    trpc.adminBilling.clock.queryOptions(undefined, { refetchInterval: 5_000 }),
  );
  const [result, setResult] = useState<{ tone: "success" | "error"; text: string }>();
  const advance = useMutation(
    trpc.adminBilling.advanceClock.mutationOptions({
      onSettled: () => queryClient.invalidateQueries(),
    }),
  );

  async function move(label: string, input: Move) {
    setResult(undefined);
    try {
      const moved = await advance.mutateAsync(input);
      setResult({
        tone: "success",
        text: `${label}: the platform clock is now ${utc(moved.to)} (${moved.offset} ahead of real time). Renewals and expiries due by then are running.`,
      });
    } catch (error) {
      setResult({ tone: "error", text: formErrorsOf(error, []).form ?? "The clock did not move" });
    }
  }

  const data = status.data;
  const disabled = data !== undefined && !data.enabled;

  return (
    <div className="space-y-6">
      <Card>
        <CardHeader
          title="Platform time"
          description="Every command and reaction reads this clock. It only moves forward."
          action={
            data && (
              <Badge tone={data.enabled ? "indigo" : "neutral"}>
                {data.enabled ? "Time travel on" : "Real time"}
              </Badge>
            )
          }
        />
        <CardBody className="space-y-5">
          {status.isError && <Alert tone="error">{status.error.message}</Alert>}
          <dl className="grid gap-4 sm:grid-cols-2">
            <div>
              <dt className="text-xs font-medium tracking-wide text-slate-500 uppercase">Now</dt>
              <dd
                className="mt-0.5 font-mono text-lg text-slate-900 tabular-nums"
                data-testid="platform-time"
              >
                {data ? utc(data.now) : "…"}
              </dd>
            </div>
            <div>
              <dt className="text-xs font-medium tracking-wide text-slate-500 uppercase">
                Ahead of real time
              </dt>
              <dd className="mt-0.5 font-mono text-lg text-slate-900" data-testid="clock-offset">
                {data ? (data.offset ?? "—") : "…"}
              </dd>
            </div>
          </dl>
          {disabled && (
            <Alert tone="warning" title="Time travel is off">
              This server runs on real time, as production does. Time travel is on by default with
              the embedded database outside production; start the server with{" "}
              <code className="font-mono">TALLY_TIME_TRAVEL=1</code> to turn it on.
            </Alert>
          )}
          {result && (
            <Alert tone={result.tone}>
              <span data-testid="clock-result">{result.text}</span>
            </Alert>
          )}
          <div className="flex flex-wrap gap-2">
            {moves.map(({ label, move: input }) => (
              <Button
                key={label}
                variant={input.by === "next_period_end" ? "primary" : "secondary"}
                disabled={!data?.enabled || advance.isPending}
                pending={advance.isPending && advance.variables === input}
                onClick={() => move(label, input)}
              >
                {label}
              </Button>
            ))}
          </div>
          <p className="text-xs text-slate-500">
            &ldquo;Advance to next period end&rdquo; moves to one second past the soonest period end
            below. A move is at most 366 days.
          </p>
        </CardBody>
      </Card>

      <Card>
        <CardHeader
          title="Coming up"
          description="The next period ends of active subscriptions: what renews when the clock passes them."
        />
        <Table label="Upcoming period ends">
          <thead className="bg-slate-50/60">
            <tr>
              <Th>Workspace</Th>
              <Th>Tier</Th>
              <Th>Subscription</Th>
              <Th>Period ends</Th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            <QueryRows
              query={status}
              colSpan={4}
              subject="the upcoming period ends"
              isEmpty={(data?.upcoming.length ?? 0) === 0}
              empty="No active subscription has a period end ahead."
            />
            {data?.upcoming.map((entry) => (
              <tr key={entry.workspaceId} data-testid="upcoming-period-end">
                <Td>
                  <Link
                    href={`/admin/workspaces/${entry.workspaceId}`}
                    className="font-medium text-indigo-700 hover:underline"
                  >
                    {entry.workspaceName}
                  </Link>
                  <span className="mt-0.5 block font-mono text-xs text-slate-400">
                    /w/{entry.slug}
                  </span>
                </Td>
                <Td>
                  {entry.tierName}{" "}
                  <span className="text-xs text-slate-400">v{entry.tierVersion}</span>
                </Td>
                <Td>{humanize(entry.subscriptionStatus)}</Td>
                <Td className="whitespace-nowrap">
                  <span className="font-mono text-xs">{utc(entry.periodEnd)}</span>
                  <span className="mt-0.5 block text-xs text-slate-500">
                    {formatDateTime(entry.periodEnd)}
                  </span>
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
      </Card>
    </div>
  );
}
