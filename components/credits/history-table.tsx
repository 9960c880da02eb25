"use client";

import { useInfiniteQuery, useQuery, skipToken } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";

import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { cn } from "@/components/ui/cn";
import { Field, describedBy } from "@/components/ui/field";
import { Input, Select } from "@/components/ui/input";
import { QueryRows, Table, Td, Th } from "@/components/ui/table";
import {
  formatCredits,
  formatDateTime,
  formatSignedCredits,
  humanize,
} from "@/components/lib/format";
import { formErrorsOf, noErrors } from "@/components/lib/form-errors";
import { isWorkspaceAdmin } from "@/components/lib/roles";
import type { RouterInputs, RouterOutputs, Workspace } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";

type HistoryInput = RouterInputs["credits"]["history"];
type Entry = RouterOutputs["credits"]["history"]["entries"][number];
type Kind = Entry["kind"];

const PAGE_SIZE = 25;

const kinds: readonly Kind[] = [
  "consume",
  "grant",
  "hold",
  "release",
  "expire",
  "rollover",
  "refund",
  "adjustment",
  "transfer",
];

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

const filterFields = ["kinds", "featureCode", "apiKeyId", "from", "to"] as const;

export interface HistoryFilter {
  kinds: Kind[];
  featureCode?: string;
  apiKeyId?: string;
  /** Days as the date inputs give them (yyyy-mm-dd, local time), both included. */
  from?: string;
  to?: string;
}

/** A local yyyy-mm-dd day as the instant it starts; `after` gives the next day's start. */
function dayStart(day: string, after = false): Date {
  const [year, month, date] = day.split("-").map(Number);

  return new Date(year ?? 1970, (month ?? 1) - 1, (date ?? 1) + (after ? 1 : 0));
}

/** The query's input: the "to" day is included, so the range ends when the next day starts. */
export function historyInput(
  workspaceId: string,
  filter: HistoryFilter,
): Omit<HistoryInput, "cursor"> {
  return {
    workspaceId,
    limit: PAGE_SIZE,
    kinds: filter.kinds.length > 0 ? filter.kinds : undefined,
    featureCode: filter.featureCode,
    apiKeyId: filter.apiKeyId,
    from: filter.from ? dayStart(filter.from) : undefined,
    to: filter.to ? dayStart(filter.to, true) : undefined,
  };
}

/** The ledger, newest first, with filters and "Load more" pages (keyset on the entry id). */
export function HistoryTable({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const [filter, setFilter] = useState<HistoryFilter>({ kinds: [] });
  const history = useInfiniteQuery(
    trpc.credits.history.infiniteQueryOptions(historyInput(workspace.workspaceId, filter), {
      getNextPageParam: (last) => last.nextCursor,
      refetchInterval: 15_000,
      placeholderData: (previous) => previous,
    }),
  );
  const admin = isWorkspaceAdmin(workspace.role);
  const keys = useQuery(
    trpc.workspaces.apiKeys.queryOptions(
      admin ? { workspaceId: workspace.workspaceId } : skipToken,
    ),
  );
  const keyNames = new Map((keys.data ?? []).map((key) => [key.id, key.name]));
  const features = workspace.tier.priceTable;
  const featureNames = new Map(features.map((price) => [price.featureCode, price.name]));
  const entries = history.data?.pages.flatMap((page) => page.entries) ?? [];
  const errors = history.isError ? formErrorsOf(history.error, filterFields) : noErrors;
  const filtered =
    filter.kinds.length > 0 ||
    Object.entries(filter).some(([key, value]) => key !== "kinds" && value !== undefined);

  function actorLabel(entry: Entry): string {
    if (entry.actorType === "api_key") {
      return (entry.actorId && keyNames.get(entry.actorId)) || "API key";
    }

    return entry.actorType === "user" ? "Person" : "Tally";
  }

  return (
    <Card>
      <CardHeader
        title="Credit history"
        description={
          "Every change to the balance, newest first. The ledger is append-only: a correction is " +
          "a new entry. A call that draws from several grants has one entry per grant."
        }
      />
      <CardBody className="border-b border-slate-100">
        <HistoryFilters
          value={filter}
          onChange={setFilter}
          features={features}
          apiKeys={admin ? (keys.data ?? []) : undefined}
          errors={errors.fields}
        />
      </CardBody>
      <Table label="Credit history">
        <thead className="bg-slate-50/60">
          <tr>
            <Th>Time</Th>
            <Th>Kind and grant</Th>
            <Th align="right">Amount</Th>
            <Th align="right">Balance after</Th>
            <Th>Feature</Th>
            <Th>By</Th>
            <Th>Reason</Th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          <QueryRows
            query={history}
            colSpan={7}
            subject="the history"
            isEmpty={entries.length === 0}
            empty={filtered ? "No entries match these filters." : "No credit movements yet."}
          />
          {!history.isError &&
            entries.map((entry) => (
              <tr key={entry.id} data-testid="history-entry">
                <Td className="whitespace-nowrap text-slate-500">
                  {formatDateTime(entry.createdAt)}
                </Td>
                <Td className="whitespace-nowrap">
                  <Badge tone={kindTone[entry.kind]}>{humanize(entry.kind)}</Badge>
                  <span className="mt-0.5 block text-xs text-slate-500">
                    {humanize(entry.grantSource)}
                  </span>
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
                <Td className="whitespace-nowrap">
                  {entry.featureCode ? (
                    <span title={entry.featureCode}>
                      {featureNames.get(entry.featureCode) ?? entry.featureCode}
                    </span>
                  ) : (
                    <span className="text-slate-400">—</span>
                  )}
                </Td>
                <Td className="max-w-40 text-slate-600">
                  <span className="block truncate" title={actorLabel(entry)}>
                    {actorLabel(entry)}
                  </span>
                </Td>
                <Td className="max-w-xs text-slate-600">{entry.reason}</Td>
              </tr>
            ))}
        </tbody>
      </Table>
      {(history.hasNextPage || history.isFetchingNextPage) && !history.isError && (
        <div className="flex items-center gap-3 border-t border-slate-100 px-5 py-3">
          <Button
            variant="secondary"
            size="sm"
            pending={history.isFetchingNextPage}
            onClick={() => void history.fetchNextPage()}
          >
            Load more
          </Button>
          <span className="text-xs text-slate-500">
            Showing {formatCredits(entries.length)} entries
          </span>
        </div>
      )}
    </Card>
  );
}

function HistoryFilters({
  value,
  onChange,
  features,
  apiKeys,
  errors,
}: {
  value: HistoryFilter;
  onChange: (filter: HistoryFilter) => void;
  features: Workspace["tier"]["priceTable"];
  /** Undefined when the viewer may not list keys (members): the filter is then left out. */
  apiKeys: readonly { id: string; name: string; prefix: string }[] | undefined;
  errors: Partial<Record<(typeof filterFields)[number], string>>;
}) {
  const id = useId();
  const [from, setFrom] = useState(value.from ?? "");
  const [to, setTo] = useState(value.to ?? "");
  const active =
    value.kinds.length > 0 ||
    value.featureCode !== undefined ||
    value.apiKeyId !== undefined ||
    value.from !== undefined ||
    value.to !== undefined;

  function toggleKind(kind: Kind) {
    const next = value.kinds.includes(kind)
      ? value.kinds.filter((entry) => entry !== kind)
      : [...value.kinds, kind];
    onChange({ ...value, kinds: next });
  }

  function applyDates(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    onChange({ ...value, from: from || undefined, to: to || undefined });
  }

  function clear() {
    setFrom("");
    setTo("");
    onChange({ kinds: [] });
  }

  return (
    <form onSubmit={applyDates} noValidate aria-label="Filter the history" className="space-y-4">
      <fieldset>
        <legend className="text-sm font-medium text-slate-700">Kinds</legend>
        <div className="mt-1.5 flex flex-wrap gap-1.5">
          {kinds.map((kind) => {
            const on = value.kinds.includes(kind);
            return (
              <button
                key={kind}
                type="button"
                aria-pressed={on}
                onClick={() => toggleKind(kind)}
                className={cn(
                  "rounded-full px-3 py-1 text-xs font-medium ring-1 ring-inset",
                  "focus-visible:outline-2 focus-visible:outline-indigo-600",
                  on
                    ? "bg-indigo-600 text-white ring-indigo-600"
                    : "bg-white text-slate-600 ring-slate-300 hover:bg-slate-50",
                )}
              >
                {humanize(kind)}
              </button>
            );
          })}
        </div>
        {errors.kinds && (
          <p className="mt-1 text-sm text-red-600" role="alert">
            {errors.kinds}
          </p>
        )}
      </fieldset>
      <div className="flex flex-wrap items-start gap-3">
        <Field id={`${id}-feature`} label="Feature" error={errors.featureCode} className="w-52">
          <Select
            id={`${id}-feature`}
            value={value.featureCode ?? ""}
            invalid={Boolean(errors.featureCode)}
            aria-describedby={describedBy(`${id}-feature`, errors.featureCode)}
            onChange={(event) =>
              onChange({ ...value, featureCode: event.target.value || undefined })
            }
          >
            <option value="">All features</option>
            {features.map((price) => (
              <option key={price.featureCode} value={price.featureCode}>
                {price.name}
              </option>
            ))}
          </Select>
        </Field>
        {apiKeys && (
          <Field id={`${id}-key`} label="API key" error={errors.apiKeyId} className="w-56">
            <Select
              id={`${id}-key`}
              value={value.apiKeyId ?? ""}
              invalid={Boolean(errors.apiKeyId)}
              aria-describedby={describedBy(`${id}-key`, errors.apiKeyId)}
              onChange={(event) =>
                onChange({ ...value, apiKeyId: event.target.value || undefined })
              }
            >
              <option value="">Any source</option>
              {apiKeys.map((key) => (
                <option key={key.id} value={key.id}>
                  {key.name} ({key.prefix}…)
                </option>
              ))}
            </Select>
          </Field>
        )}
        <Field id={`${id}-from`} label="From" error={errors.from} className="w-40">
          <Input
            id={`${id}-from`}
            type="date"
            value={from}
            invalid={Boolean(errors.from)}
            aria-describedby={describedBy(`${id}-from`, errors.from)}
            onChange={(event) => setFrom(event.target.value)}
          />
        </Field>
        <Field id={`${id}-to`} label="To (included)" error={errors.to} className="w-40">
          <Input
            id={`${id}-to`}
            type="date"
            value={to}
            invalid={Boolean(errors.to)}
            aria-describedby={describedBy(`${id}-to`, errors.to)}
            onChange={(event) => setTo(event.target.value)}
          />
        </Field>
        <div className="flex gap-2 pt-6.5">
          <Button type="submit" variant="secondary">
            Apply dates
          </Button>
          {active && (
            <Button variant="ghost" onClick={clear}>
              Clear filters
            </Button>
          )}
        </div>
      </div>
    </form>
  );
}
