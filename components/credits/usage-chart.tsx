"use client";

import { useQuery } from "@tanstack/react-query";
import { useId, useState } from "react";

import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { cn } from "@/components/ui/cn";
import { Select } from "@/components/ui/input";
import { formatCredits } from "@/components/lib/format";
import type { RouterOutputs, Workspace } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";

import { formatUtcDay, niceScaleMax } from "./describe";

type Usage = RouterOutputs["credits"]["usageByDay"];
type Day = Usage["days"][number];

/** One colour per feature, in the order the query lists them; the last repeats past the end. */
const palette = ["#6366f1", "#10b981", "#f59e0b", "#0ea5e9", "#f43f5e", "#8b5cf6", "#14b8a6"];
const ranges = [7, 30, 90] as const;

function colorOf(index: number): string {
  return palette[index % palette.length] ?? "#94a3b8";
}

function dayTotal(day: Day): number {
  return day.byFeature.reduce((sum, cell) => sum + cell.credits, 0);
}

/** A label under every nth bar, so 90 days stay readable. */
function labelStep(days: number): number {
  if (days <= 10) return 1;

  return days <= 31 ? 5 : 15;
}

/**
 * Credits consumed per UTC day, stacked by feature, zero days included.
 * Plain CSS bars: each day is a column whose segments are proportional to
 * the scale's top, and its title lists every feature's figure.
 */
export function UsageChart({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const [days, setDays] = useState<(typeof ranges)[number]>(30);
  const usage = useQuery(
    trpc.credits.usageByDay.queryOptions(
      { workspaceId: workspace.workspaceId, days },
      { refetchInterval: 30_000, placeholderData: (previous) => previous },
    ),
  );
  const ids = useId();
  const names = new Map(workspace.tier.priceTable.map((price) => [price.featureCode, price.name]));
  const nameOf = (code: string) => names.get(code) ?? code;

  return (
    <Card>
      <CardHeader
        title="Usage by day"
        description="Credits consumed per feature, per day (UTC). Refused calls use no credits."
        action={
          <div className="flex items-center gap-2">
            <label htmlFor={`${ids}-range`} className="text-sm text-slate-500">
              Range
            </label>
            <Select
              id={`${ids}-range`}
              value={days}
              className="h-8 w-32"
              onChange={(event) => setDays(Number(event.target.value) as (typeof ranges)[number])}
            >
              {ranges.map((range) => (
                <option key={range} value={range}>
                  Last {range} days
                </option>
              ))}
            </Select>
          </div>
        }
      />
      <CardBody>
        {usage.isPending && <div className="h-56 animate-pulse rounded bg-slate-100" />}
        {usage.isError && (
          <p className="text-sm text-red-600">Could not load the usage: {usage.error.message}</p>
        )}
        {usage.data && <Chart usage={usage.data} nameOf={nameOf} chartId={ids} />}
      </CardBody>
    </Card>
  );
}

function Chart({
  usage,
  nameOf,
  chartId,
}: {
  usage: Usage;
  nameOf: (code: string) => string;
  chartId: string;
}) {
  const peak = Math.max(0, ...usage.days.map(dayTotal));
  const top = niceScaleMax(peak);
  const step = labelStep(usage.days.length);
  const total = usage.totals.reduce((sum, entry) => sum + entry.credits, 0);
  const first = usage.days[0]?.date;
  const last = usage.days[usage.days.length - 1]?.date;
  const summary =
    `Credits consumed per day from ${first ? formatUtcDay(first) : ""} to ` +
    `${last ? formatUtcDay(last) : ""}: ${formatCredits(total)} in total` +
    (usage.totals.length > 0
      ? `, ${usage.totals.map((entry) => `${nameOf(entry.featureCode)} ${formatCredits(entry.credits)}`).join(", ")}.`
      : ".");

  return (
    <div className="space-y-4">
      <figure aria-labelledby={`${chartId}-caption`} className="m-0">
        <figcaption id={`${chartId}-caption`} className="sr-only">
          {summary}
        </figcaption>
        <div className="flex gap-2">
          <div
            aria-hidden="true"
            className="flex h-48 w-12 shrink-0 flex-col justify-between text-right text-[11px] text-slate-400 tabular-nums"
          >
            <span className="-translate-y-1.5">{formatCredits(top)}</span>
            <span>{Number.isInteger(top / 2) ? formatCredits(top / 2) : ""}</span>
            <span className="translate-y-1.5">0</span>
          </div>
          <div className="min-w-0 flex-1">
            <div
              className={cn(
                "relative flex h-48 items-end gap-px border-b border-slate-300",
                "bg-[linear-gradient(to_bottom,#e2e8f0_1px,transparent_1px)] bg-[length:100%_50%]",
              )}
              data-testid="usage-chart"
            >
              {usage.days.map((day) => (
                <DayBar key={day.date} day={day} top={top} nameOf={nameOf} />
              ))}
            </div>
            <div aria-hidden="true" className="mt-1 flex gap-px text-[11px] text-slate-400">
              {usage.days.map((day, index) => (
                <span key={day.date} className="min-w-0 flex-1 overflow-visible whitespace-nowrap">
                  {index % step === 0 ? formatUtcDay(day.date) : ""}
                </span>
              ))}
            </div>
          </div>
        </div>
      </figure>
      {usage.features.length === 0 ? (
        <p className="text-center text-sm text-slate-500">No feature calls in this range yet.</p>
      ) : (
        <ul aria-label="Features" className="flex flex-wrap gap-x-5 gap-y-2 text-sm">
          {usage.totals.map((entry) => (
            <li key={entry.featureCode} className="flex items-center gap-2">
              <span
                aria-hidden="true"
                className="size-3 rounded-sm"
                style={{ backgroundColor: colorOf(usage.features.indexOf(entry.featureCode)) }}
              />
              <span className="text-slate-700">{nameOf(entry.featureCode)}</span>
              <span className="text-slate-500 tabular-nums">
                {formatCredits(entry.credits)} credits · {formatCredits(entry.calls)}{" "}
                {entry.calls === 1 ? "call" : "calls"}
              </span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function DayBar({ day, top, nameOf }: { day: Day; top: number; nameOf: (code: string) => string }) {
  const total = dayTotal(day);
  const lines = day.byFeature
    .filter((cell) => cell.credits > 0 || cell.refused > 0)
    .map(
      (cell) =>
        `${nameOf(cell.featureCode)}: ${formatCredits(cell.credits)} credits, ` +
        `${formatCredits(cell.calls)} ${cell.calls === 1 ? "call" : "calls"}` +
        (cell.refused > 0 ? `, ${formatCredits(cell.refused)} refused` : ""),
    );
  const label =
    `${formatUtcDay(day.date)}: ${formatCredits(total)} credits` +
    (lines.length > 0 ? `\n${lines.join("\n")}` : "");

  return (
    <div
      role="img"
      aria-label={label.replace(/\n/g, "; ")}
      title={label}
      className="group flex h-full min-w-0 flex-1 flex-col-reverse hover:bg-slate-100/70"
      data-testid="usage-day"
      data-date={day.date}
      data-credits={total}
    >
      {day.byFeature.map((cell, index) =>
        cell.credits > 0 ? (
          <div
            key={cell.featureCode}
            className="w-full"
            style={{
              height: `${(cell.credits / top) * 100}%`,
              minHeight: "1px",
              backgroundColor: colorOf(index),
            }}
          />
        ) : null,
      )}
    </div>
  );
}
