"use client";

import { Badge } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { cn } from "@/components/ui/cn";
import { formatCredits, humanize } from "@/components/lib/format";
import type { QueryResult, RouterOutputs } from "@/components/lib/router-types";

import { expiryLabel, forecastSentence, formatDay, overageSentence, percentOf } from "./describe";

type Balance = RouterOutputs["credits"]["balance"];
type Rollover = RouterOutputs["credits"]["rollover"];
type Overage = RouterOutputs["credits"]["overage"];

/** The balance, what is held, and when it runs out at the recent rate. */
export function BalanceOverview({ balance }: { balance: QueryResult<Balance> }) {
  const data = balance.data;
  const forecast = data ? forecastSentence(data.forecast, data.period?.endsAt ?? null) : undefined;

  return (
    <Card>
      <CardBody className="space-y-4 py-5">
        <div className="flex items-center justify-between gap-2">
          <h2 className="text-sm font-medium text-slate-500">Credit balance</h2>
          {data?.belowThreshold && <Badge tone="amber">Low balance</Badge>}
        </div>
        {balance.isError && (
          <p className="text-sm text-red-600">
            Could not load the balance: {balance.error.message}
          </p>
        )}
        {balance.isPending && <div className="h-10 w-40 animate-pulse rounded bg-slate-100" />}
        {data && (
          <>
            <p
              data-testid="credits-balance"
              className="text-4xl font-semibold tracking-tight text-slate-900 tabular-nums"
            >
              {formatCredits(data.balance)}
              <span className="ml-2 text-base font-normal text-slate-500">credits</span>
            </p>
            {forecast && (
              <p
                data-testid="forecast"
                className={cn(
                  "rounded-md px-3 py-2 text-sm",
                  forecast.urgent ? "bg-amber-50 text-amber-900" : "bg-slate-50 text-slate-700",
                )}
              >
                {forecast.text}
              </p>
            )}
            <dl className="space-y-1.5 text-sm">
              <div className="flex justify-between gap-3">
                <dt className="text-slate-500">Held by open holds</dt>
                <dd className="text-slate-800 tabular-nums" data-testid="held-credits">
                  {data.held.holds === 0
                    ? "none"
                    : `${formatCredits(data.held.credits)} in ${formatCredits(data.held.holds)} ` +
                      `${data.held.holds === 1 ? "hold" : "holds"}`}
                </dd>
              </div>
              <div className="flex justify-between gap-3">
                <dt className="text-slate-500">Low-balance alert below</dt>
                <dd className="text-slate-800 tabular-nums">{formatCredits(data.threshold)}</dd>
              </div>
              {data.period && (
                <div className="flex justify-between gap-3">
                  <dt className="text-slate-500">Allowance renews</dt>
                  <dd className="text-slate-800">{formatDay(data.period.endsAt)}</dd>
                </div>
              )}
            </dl>
            {data.held.holds > 0 && (
              <p className="text-xs text-slate-500">
                Held credits are already out of the balance; what a hold does not use comes back
                when it is finalized, released or expires.
              </p>
            )}
          </>
        )}
      </CardBody>
    </Card>
  );
}

/** Each live grant in the order consumption draws from it. */
export function GrantBreakdown({ balance }: { balance: Balance | undefined }) {
  const grants = balance?.grants ?? [];

  return (
    <Card>
      <CardHeader
        title="Where the credits are"
        description="Live grants, in the order calls draw from them."
      />
      <CardBody>
        {!balance && <div className="h-24 animate-pulse rounded bg-slate-100" />}
        {balance && grants.length === 0 && (
          <p className="py-4 text-center text-sm text-slate-500">No credits left in any grant.</p>
        )}
        <ol className="space-y-4">
          {grants.map((grant, index) => (
            <li key={grant.id} data-testid="credit-grant">
              <div className="flex flex-wrap items-baseline justify-between gap-x-3 gap-y-1 text-sm">
                <span className="flex min-w-0 items-baseline gap-2">
                  <span className="w-5 shrink-0 text-xs text-slate-400 tabular-nums">
                    {index + 1}.
                  </span>
                  <span className="font-medium text-slate-800">{humanize(grant.source)}</span>
                  <span
                    className={cn("text-xs", grant.expiresAt ? "text-amber-700" : "text-slate-400")}
                  >
                    {expiryLabel(grant.expiresAt)}
                  </span>
                </span>
                <span className="text-slate-700 tabular-nums">
                  {formatCredits(grant.remaining)}
                  <span className="text-slate-400"> of {formatCredits(grant.amount)}</span>
                </span>
              </div>
              <div
                className="mt-1.5 ml-7 h-1.5 overflow-hidden rounded-full bg-slate-100"
                role="progressbar"
                aria-label={`${humanize(grant.source)}: ${formatCredits(grant.remaining)} of ${formatCredits(grant.amount)} left`}
                aria-valuemin={0}
                aria-valuemax={grant.amount}
                aria-valuenow={grant.remaining}
              >
                <div
                  className="h-full rounded-full bg-indigo-500"
                  style={{ width: `${percentOf(grant.remaining, grant.amount)}%` }}
                />
              </div>
              {grant.reason && (
                <p className="mt-1 ml-7 truncate text-xs text-slate-500" title={grant.reason}>
                  {grant.reason}
                </p>
              )}
            </li>
          ))}
        </ol>
      </CardBody>
    </Card>
  );
}

/** What rolls over at the period's end, and the soft cap's state when the tier has one. */
export function PeriodOutlook({
  rollover,
  overage,
}: {
  rollover: QueryResult<Rollover>;
  overage: QueryResult<Overage>;
}) {
  const outlook = rollover.data;
  const overageText = overage.data ? overageSentence(overage.data) : null;
  if (!outlook && !overageText) return null;

  return (
    <Card>
      <CardHeader title="This period" />
      <CardBody className="space-y-4 text-sm">
        {outlook && (
          <div data-testid="rollover">
            <h3 className="font-medium text-slate-800">
              Rollover on {formatDay(outlook.periodEndsAt)}
            </h3>
            <p className="mt-1 text-slate-600">
              As things stand: {outlook.explanation}
              {outlook.cap > 0 &&
                ` Carried credits expire after ${outlook.expiresAfterPeriods} ` +
                  `${outlook.expiresAfterPeriods === 1 ? "period" : "periods"}.`}
            </p>
            {outlook.cap > 0 && (
              <p className="mt-1 text-xs text-slate-500">
                Purchased credits are not touched by rollover.
              </p>
            )}
          </div>
        )}
        {overageText && (
          <div data-testid="overage">
            <h3 className="font-medium text-slate-800">Overage</h3>
            <p className="mt-1 text-slate-600">{overageText}</p>
          </div>
        )}
      </CardBody>
    </Card>
  );
}
