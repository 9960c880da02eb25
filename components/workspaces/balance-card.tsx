"use client";

import Link from "next/link";

import { Badge } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { Spinner } from "@/components/ui/spinner";
import { formatCredits, formatDateTime, humanize } from "@/components/lib/format";
import type { BalanceSummary, QueryResult } from "@/components/lib/router-types";
import { percentOf } from "@/components/credits/describe";

export function BalanceCard({
  balance,
  creditsHref,
}: {
  balance: QueryResult<BalanceSummary>;
  /** The credits page, for the breakdown, usage, purchases and history. */
  creditsHref?: string;
}) {
  const data = balance.data;

  return (
    <Card>
      <CardBody className="py-5">
        <div className="flex items-center justify-between gap-2">
          <h2 className="text-sm font-medium text-slate-500">Credit balance</h2>
          {data?.belowThreshold && <Badge tone="amber">Low balance</Badge>}
        </div>
        {balance.isError && (
          <p className="mt-3 text-sm text-red-600">
            Could not load the balance: {balance.error.message}
          </p>
        )}
        {balance.isPending && <div className="mt-3 h-10 w-40 animate-pulse rounded bg-slate-100" />}
        {data && (
          <>
            <p
              data-testid="balance"
              className="mt-2 text-4xl font-semibold tracking-tight text-slate-900 tabular-nums"
            >
              {formatCredits(data.balance)}
              <span className="ml-2 text-base font-normal text-slate-500">credits</span>
            </p>
            {!data.allocated ? (
              <p className="mt-3 flex items-center gap-2 text-sm text-indigo-700" role="status">
                <Spinner /> Your initial credits are on their way…
              </p>
            ) : (
              <p className="mt-3 text-sm text-slate-500">
                Low-balance alert below{" "}
                <span className="font-medium text-slate-700 tabular-nums">
                  {formatCredits(data.threshold)}
                </span>{" "}
                credits
              </p>
            )}
          </>
        )}
        {creditsHref && (
          <Link
            href={creditsHref}
            className="mt-3 inline-block text-sm font-medium text-indigo-600 hover:text-indigo-500"
          >
            Credits, usage and purchases →
          </Link>
        )}
      </CardBody>
    </Card>
  );
}

export function GrantsCard({ balance }: { balance: BalanceSummary | undefined }) {
  const grants = balance?.grants ?? [];

  return (
    <Card>
      <CardHeader
        title="Where the credits come from"
        description="Live grants, drawn in this order"
      />
      <CardBody className="space-y-4">
        {balance && grants.length === 0 && (
          <p className="text-sm text-slate-500">No credits left in any grant.</p>
        )}
        {!balance && <div className="h-12 animate-pulse rounded bg-slate-100" />}
        {grants.map((grant) => {
          const share = percentOf(grant.remaining, grant.amount);
          return (
            <div key={grant.id} data-testid="grant">
              <div className="flex items-baseline justify-between gap-3 text-sm">
                <span className="font-medium text-slate-800">{humanize(grant.source)}</span>
                <span className="text-slate-600 tabular-nums">
                  {formatCredits(grant.remaining)}
                  <span className="text-slate-400"> / {formatCredits(grant.amount)}</span>
                </span>
              </div>
              <div
                className="mt-1.5 h-1.5 overflow-hidden rounded-full bg-slate-100"
                role="progressbar"
                aria-label={`${humanize(grant.source)} remaining`}
                aria-valuemin={0}
                aria-valuemax={grant.amount}
                aria-valuenow={grant.remaining}
              >
                <div className="h-full rounded-full bg-indigo-500" style={{ width: `${share}%` }} />
              </div>
              {grant.expiresAt && (
                <p className="mt-1 text-xs text-slate-500">
                  Expires {formatDateTime(grant.expiresAt)}
                </p>
              )}
            </div>
          );
        })}
      </CardBody>
    </Card>
  );
}
