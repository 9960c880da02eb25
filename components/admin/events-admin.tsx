"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { cn } from "@/components/ui/cn";
import { QueryRows, Table, Td, Th } from "@/components/ui/table";
import { formatCredits, formatDateTime } from "@/components/lib/format";
import { useTRPC } from "@/components/lib/trpc";

interface ReplayState {
  ok: boolean;
  message: string;
}

type Outcome = "handled" | "duplicate";

function outcomeMessage(what: string, outcome: Outcome): string {
  return outcome === "handled"
    ? `Replayed ${what}: the reaction ran and the dead letter is resolved.`
    : `Replayed ${what}: it had already been applied, so nothing ran twice.`;
}

export function EventsAdmin() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [includeResolved, setIncludeResolved] = useState(false);
  const [replays, setReplays] = useState<Record<string, ReplayState>>({});
  const [latest, setLatest] = useState<ReplayState>();
  const backlog = useQuery(trpc.events.backlog.queryOptions(undefined, { refetchInterval: 5_000 }));
  const deadLetters = useQuery(
    trpc.events.deadLetters.queryOptions({ includeResolved }, { refetchInterval: 10_000 }),
  );
  const replay = useMutation(
    trpc.events.replayDeadLetter.mutationOptions({
      onSuccess: (result, input) => {
        const row = deadLetters.data?.find((letter) => letter.id === input.id);
        const what = row ? `${row.reaction} for ${row.eventName}` : "the dead letter";
        const state = { ok: true, message: outcomeMessage(what, result.outcome) };
        setReplays((all) => ({ ...all, [input.id]: state }));
        setLatest(state);
      },
      onError: (error, input) => {
        const state = { ok: false, message: error.message };
        setReplays((all) => ({ ...all, [input.id]: state }));
        setLatest(state);
      },
      onSettled: () => queryClient.invalidateQueries(trpc.events.pathFilter()),
    }),
  );

  const stats = [
    { label: "Unpublished outbox events", value: backlog.data?.unpublished },
    { label: "Reaction runs pending", value: backlog.data?.pendingRuns },
    { label: "Open dead letters", value: backlog.data?.openDeadLetters },
  ];
  const rows = deadLetters.data ?? [];

  return (
    <div className="space-y-6">
      <Card>
        <CardHeader
          title="Event backlog"
          description={backlog.data ? `Side effects run by: ${backlog.data.driver}` : "Loading…"}
        />
        <CardBody>
          {backlog.isError && <p className="text-sm text-red-600">{backlog.error.message}</p>}
          <dl className="grid gap-4 sm:grid-cols-3">
            {stats.map((stat) => (
              <div key={stat.label} className="rounded-md bg-slate-50 px-4 py-3">
                <dt className="text-sm text-slate-500">{stat.label}</dt>
                <dd className="mt-1 text-2xl font-semibold text-slate-900 tabular-nums">
                  {stat.value === undefined ? "—" : formatCredits(stat.value)}
                </dd>
              </div>
            ))}
          </dl>
        </CardBody>
      </Card>
      <Card>
        <CardHeader
          title="Dead letters"
          description={
            "Reactions that failed after their last retry. A replay runs through the inbox, " +
            "so it applies at most once."
          }
          action={
            <label className="flex items-center gap-2 text-sm text-slate-600">
              <input
                type="checkbox"
                className="size-4 rounded border-slate-300 text-indigo-600"
                checked={includeResolved}
                onChange={(event) => setIncludeResolved(event.target.checked)}
              />
              Show resolved
            </label>
          }
        />
        {latest && (
          <div className="px-5 pt-4">
            <Alert tone={latest.ok ? "success" : "error"}>{latest.message}</Alert>
          </div>
        )}
        <Table label="Dead letters">
          <thead className="bg-slate-50/60">
            <tr>
              <Th>Reaction</Th>
              <Th>Event</Th>
              <Th>Error</Th>
              <Th align="right">Attempts</Th>
              <Th>Failed at</Th>
              <Th>
                <span className="sr-only">Replay</span>
              </Th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            <QueryRows
              query={deadLetters}
              colSpan={6}
              subject="the dead letters"
              isEmpty={rows.length === 0}
              empty="No dead letters. Every side effect has run."
            />
            {rows.map((row) => {
              const result = replays[row.id];
              return (
                <tr key={row.id}>
                  <Td className="font-mono text-xs text-slate-800">{row.reaction}</Td>
                  <Td>
                    <span className="font-mono text-xs">{row.eventName}</span>
                    <span className="mt-0.5 block font-mono text-[11px] text-slate-400">
                      {row.eventId}
                    </span>
                  </Td>
                  <Td className="max-w-sm">
                    <p className="line-clamp-3 text-xs break-words text-red-700" title={row.error}>
                      {row.error}
                    </p>
                    {row.replayError && !result && (
                      <p className="mt-1 text-xs text-slate-500">Last replay: {row.replayError}</p>
                    )}
                  </Td>
                  <Td numeric>{row.attempts}</Td>
                  <Td className="whitespace-nowrap text-slate-500">
                    {formatDateTime(row.failedAt)}
                  </Td>
                  <Td className="text-right">
                    {row.resolvedAt ? (
                      <Badge tone="green">Resolved</Badge>
                    ) : (
                      <Button
                        variant="secondary"
                        size="sm"
                        pending={replay.isPending && replay.variables?.id === row.id}
                        disabled={replay.isPending}
                        onClick={() => replay.mutate({ id: row.id })}
                      >
                        Replay
                      </Button>
                    )}
                    {result && (
                      <p
                        className={cn(
                          "mt-1.5 max-w-56 text-left text-xs",
                          result.ok ? "text-emerald-700" : "text-red-700",
                        )}
                      >
                        {result.message}
                      </p>
                    )}
                  </Td>
                </tr>
              );
            })}
          </tbody>
        </Table>
      </Card>
    </div>
  );
}
