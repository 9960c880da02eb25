"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useState } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { cn } from "@/components/ui/cn";
import { formatCredits, formatMoney } from "@/components/lib/format";
import { formErrorsOf } from "@/components/lib/form-errors";
import type { RouterOutputs, Workspace } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";

type Pack = RouterOutputs["credits"]["packs"]["list"][number];

/**
 * The packs on offer. Buying opens a pending purchase and sends the browser
 * to the gateway's checkout page (the simulated one in the embedded
 * default), which brings it back here with ?purchase=<id>.
 */
export function BuyCredits({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const packs = useQuery(trpc.credits.packs.list.queryOptions());
  const [error, setError] = useState<string>();
  const start = useMutation(
    trpc.credits.purchases.start.mutationOptions({
      onSuccess: ({ checkoutUrl }) => window.location.assign(checkoutUrl),
      onError: (failure) => setError(formErrorsOf(failure, []).form),
    }),
  );
  const headingId = useId();
  const active = workspace.status !== "cancelled";
  const list = packs.data ?? [];

  return (
    <Card className="h-full">
      <CardHeader
        title={<span id={headingId}>Buy credits</span>}
        description="Purchased credits never expire and are drawn after your allowance."
      />
      <CardBody className="space-y-4">
        {error && <Alert tone="error">{error}</Alert>}
        {packs.isError && (
          <p className="text-sm text-red-600">Could not load the packs: {packs.error.message}</p>
        )}
        {packs.isPending && <div className="h-32 animate-pulse rounded bg-slate-100" />}
        {packs.isSuccess && list.length === 0 && (
          <p className="text-sm text-slate-500">No credit packs are on offer right now.</p>
        )}
        <ul aria-labelledby={headingId} className="grid gap-3 sm:grid-cols-3">
          {list.map((pack) => (
            <PackCard
              key={pack.id}
              pack={pack}
              disabled={!active || start.isPending}
              pending={start.isPending && start.variables?.packId === pack.id}
              onBuy={() => {
                setError(undefined);
                start.mutate({ workspaceId: workspace.workspaceId, packId: pack.id });
              }}
            />
          ))}
        </ul>
        {!active && (
          <p className="text-sm text-slate-500">A cancelled workspace cannot buy credits.</p>
        )}
        {active && list.length > 0 && (
          <p className="text-sm text-slate-500">
            You pay on the payment page and come back here; the credits arrive as soon as the
            payment is confirmed, usually within seconds. Unused purchased credits can be refunded,
            pro rata to the price.
          </p>
        )}
      </CardBody>
    </Card>
  );
}

function PackCard({
  pack,
  disabled,
  pending,
  onBuy,
}: {
  pack: Pack;
  disabled: boolean;
  pending: boolean;
  onBuy: () => void;
}) {
  return (
    <li
      data-testid="credit-pack"
      className={cn(
        "flex flex-col justify-between gap-4 rounded-lg p-4 ring-1 ring-slate-200",
        "bg-gradient-to-b from-white to-slate-50/60",
      )}
    >
      <div>
        <p className="text-sm font-medium text-slate-500">{pack.name}</p>
        <p
          className="mt-1 text-2xl font-semibold tracking-tight text-slate-900 tabular-nums"
          data-testid="pack-credits"
        >
          {formatCredits(pack.credits)}
          <span className="ml-1 text-sm font-normal text-slate-500">credits</span>
        </p>
        <p className="mt-0.5 text-sm text-slate-700 tabular-nums" data-testid="pack-price">
          {formatMoney(pack.priceMinor, pack.currency)}
        </p>
      </div>
      <Button
        variant="secondary"
        pending={pending}
        pendingLabel="Opening checkout…"
        disabled={disabled}
        onClick={onBuy}
        aria-label={`Buy ${pack.name}: ${formatCredits(pack.credits)} credits for ${formatMoney(pack.priceMinor, pack.currency)}`}
      >
        Buy
      </Button>
    </li>
  );
}

/**
 * What became of the checkout the browser just came back from: polled
 * until the gateway's event has granted the credits (or the payment failed).
 */
export function PurchaseReturn({
  workspace,
  purchaseId,
  cancelled,
  onDismiss,
}: {
  workspace: Workspace;
  purchaseId: string;
  cancelled: boolean;
  onDismiss: () => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const purchase = useQuery(
    trpc.credits.purchases.get.queryOptions(
      { workspaceId: workspace.workspaceId, purchaseId },
      {
        refetchInterval: (query) =>
          query.state.data?.status === "pending" && !cancelled ? 1_000 : false,
      },
    ),
  );
  const status = purchase.data?.status;
  // Once paid, the balance and the history have the grant: refresh them now, not at their next tick.
  useEffect(() => {
    if (status === "paid") void queryClient.invalidateQueries(trpc.credits.pathFilter());
  }, [status, queryClient, trpc]);

  const dismiss = (
    <Button variant="ghost" size="sm" onClick={onDismiss}>
      Dismiss
    </Button>
  );
  if (purchase.isError) {
    return (
      <div data-testid="purchase-return" className="flex items-start gap-3">
        <Alert tone="error" title="Could not find that purchase" className="flex-1">
          {purchase.error.message}
        </Alert>
        {dismiss}
      </div>
    );
  }
  const data = purchase.data;
  if (!data) return null;
  const what = `${data.packName}: ${formatCredits(data.credits)} credits for ${formatMoney(data.amountMinor, data.currency)}`;

  if (data.status === "paid") {
    return (
      <div data-testid="purchase-return" className="flex items-start gap-3">
        <Alert tone="success" title="Payment received" className="flex-1">
          {formatCredits(data.credits)} credits were added to the balance ({what}).
        </Alert>
        {dismiss}
      </div>
    );
  }
  if (data.status === "failed" || data.status === "cancelled" || cancelled) {
    return (
      <div data-testid="purchase-return" className="flex items-start gap-3">
        <Alert tone="warning" title="No credits bought" className="flex-1">
          {data.status === "failed"
            ? `The payment for ${what} failed${data.failureReason ? `: ${data.failureReason}` : ""}.`
            : `The checkout for ${what} was cancelled; nothing was charged.`}
          {data.status === "pending" && data.checkoutUrl && (
            <>
              {" "}
              <a href={data.checkoutUrl} className="font-medium underline">
                Return to the checkout
              </a>
            </>
          )}
        </Alert>
        {dismiss}
      </div>
    );
  }

  return (
    <div data-testid="purchase-return" className="flex items-start gap-3">
      <Alert tone="info" title="Waiting for the payment to be confirmed…" className="flex-1">
        {what}. The credits appear as soon as the payment gateway confirms it.
      </Alert>
      {dismiss}
    </div>
  );
}
