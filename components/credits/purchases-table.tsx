"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardHeader } from "@/components/ui/card";
import { Dialog } from "@/components/ui/dialog";
import { InputField } from "@/components/ui/field";
import { QueryRows, Table, Td, Th } from "@/components/ui/table";
import { formatCredits, formatDateTime, formatMoney, humanize } from "@/components/lib/format";
import { formErrorsOf, noErrors, type FormErrors } from "@/components/lib/form-errors";
import type { RouterOutputs, Workspace } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";
import { DisabledReason, readOnlyReason } from "@/components/workspaces/read-only";
import { refundAmountMinor } from "@/server/credits/refund-rule";

import { parseWholeCredits } from "./describe";

type Purchase = RouterOutputs["credits"]["purchases"]["list"][number];
type RefundResult = RouterOutputs["credits"]["purchases"]["refund"];

const statusTone = {
  pending: "amber",
  paid: "green",
  failed: "red",
  cancelled: "neutral",
} as const;

const statusLabel: Record<Purchase["status"], string> = {
  pending: "Awaiting payment",
  paid: "Paid",
  failed: "Failed",
  cancelled: "Cancelled",
};

/** The workspace's purchases with what each can still refund, and the refund request. */
export function PurchasesTable({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const purchases = useQuery(
    trpc.credits.purchases.list.queryOptions(
      { workspaceId: workspace.workspaceId },
      { refetchInterval: 15_000 },
    ),
  );
  const [refunding, setRefunding] = useState<Purchase>();
  const [refunded, setRefunded] = useState<RefundResult>();
  const rows = purchases.data ?? [];
  const unavailable = readOnlyReason(workspace, "Refunds are");

  return (
    <Card>
      <CardHeader
        title="Purchases"
        description={
          "Unused credits of a purchase can be refunded, pro rata to what was paid. Credits " +
          "already used, or refunded before, cannot."
        }
      />
      {unavailable && rows.some((purchase) => purchase.refundableCredits > 0) && (
        <div className="px-5 pt-4">
          <DisabledReason reason={unavailable} />
        </div>
      )}
      {refunded && (
        <div className="px-5 pt-4">
          <Alert tone="success" title="Refund requested">
            <span data-testid="refund-result">
              {formatCredits(refunded.credits)} credits were taken out of the balance and{" "}
              {formatMoney(refunded.amountMinor, refunded.currency)} is on its way back to the card
              that paid. The balance is now {formatCredits(refunded.balanceAfter)}.
            </span>
          </Alert>
        </div>
      )}
      <Table label="Purchases">
        <thead className="bg-slate-50/60">
          <tr>
            <Th>Date</Th>
            <Th>Pack</Th>
            <Th align="right">Credits</Th>
            <Th align="right">Paid</Th>
            <Th>Status</Th>
            <Th align="right">Refundable</Th>
            <Th>
              <span className="sr-only">Actions</span>
            </Th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          <QueryRows
            query={purchases}
            colSpan={7}
            subject="the purchases"
            isEmpty={rows.length === 0}
            empty="No purchases yet."
          />
          {rows.map((purchase) => (
            <tr key={purchase.id} data-testid="purchase-row">
              <Td className="whitespace-nowrap text-slate-500">
                {formatDateTime(purchase.paidAt ?? purchase.createdAt)}
              </Td>
              <Td>
                <span className="font-medium text-slate-800">{purchase.packName}</span>
                {purchase.origin === "auto_top_up" && (
                  <span className="ml-2 text-xs text-slate-500">auto top-up</span>
                )}
                {purchase.refunds.map((refund) => (
                  <p key={refund.id} className="mt-1 text-xs text-slate-500">
                    Refund of {formatCredits(refund.credits)} credits,{" "}
                    {formatMoney(refund.amountMinor, purchase.currency)}: {humanize(refund.status)}
                  </p>
                ))}
              </Td>
              <Td numeric>{formatCredits(purchase.credits)}</Td>
              <Td numeric>{formatMoney(purchase.amountMinor, purchase.currency)}</Td>
              <Td>
                <Badge tone={statusTone[purchase.status]}>{statusLabel[purchase.status]}</Badge>
                {purchase.failureReason && (
                  <p className="mt-1 max-w-48 text-xs text-red-700">{purchase.failureReason}</p>
                )}
              </Td>
              <Td numeric>
                {purchase.refundableCredits > 0 ? (
                  <>
                    {formatCredits(purchase.refundableCredits)}
                    <span className="block text-xs text-slate-500">
                      {formatMoney(purchase.refundableMinor, purchase.currency)}
                    </span>
                  </>
                ) : (
                  <span className="text-slate-400">—</span>
                )}
              </Td>
              <Td className="text-right whitespace-nowrap">
                {purchase.status === "pending" && purchase.checkoutUrl && (
                  <a
                    href={purchase.checkoutUrl}
                    className="text-sm font-medium text-indigo-600 hover:text-indigo-500"
                  >
                    Pay now
                  </a>
                )}
                {purchase.refundableCredits > 0 && (
                  <Button
                    variant="secondary"
                    size="sm"
                    disabled={unavailable !== undefined}
                    title={unavailable}
                    onClick={() => {
                      setRefunded(undefined);
                      setRefunding(purchase);
                    }}
                  >
                    Request refund
                  </Button>
                )}
              </Td>
            </tr>
          ))}
        </tbody>
      </Table>
      {refunding && (
        <RefundDialog
          workspace={workspace}
          purchase={refunding}
          onClose={() => setRefunding(undefined)}
          onRefunded={(result) => {
            setRefunding(undefined);
            setRefunded(result);
          }}
        />
      )}
    </Card>
  );
}

const refundFields = ["credits", "reason", "purchaseId"] as const;
type RefundField = (typeof refundFields)[number];

/**
 * Credits to give back and why. The amount beside it is the same pro rata
 * rule the server applies (server/credits/refund-rule.ts); the server's
 * answer is what counts.
 */
function RefundDialog({
  workspace,
  purchase,
  onClose,
  onRefunded,
}: {
  workspace: Workspace;
  purchase: Purchase;
  onClose: () => void;
  onRefunded: (result: RefundResult) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [credits, setCredits] = useState(String(purchase.refundableCredits));
  const [reason, setReason] = useState("");
  const [errors, setErrors] = useState<FormErrors<RefundField>>(noErrors);
  // One key per opened dialog: a double submit refunds once.
  const [idempotencyKey] = useState(() => crypto.randomUUID());
  const refund = useMutation(
    trpc.credits.purchases.refund.mutationOptions({
      onSettled: () => queryClient.invalidateQueries(trpc.credits.pathFilter()),
    }),
  );

  const amount = parseWholeCredits(credits);
  const valid = amount !== undefined && amount >= 1 && amount <= purchase.refundableCredits;
  const estimate = valid
    ? refundAmountMinor(
        {
          amountMinor: purchase.amountMinor,
          purchasedCredits: purchase.credits,
          refundedCredits: purchase.refundedCredits,
          refundedMinor: purchase.refundedMinor,
        },
        amount,
      )
    : undefined;

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (amount === undefined) {
      setErrors({ fields: { credits: "Enter a whole number of credits" } });
      return;
    }
    setErrors(noErrors);
    try {
      onRefunded(
        await refund.mutateAsync({
          workspaceId: workspace.workspaceId,
          purchaseId: purchase.id,
          credits: amount,
          reason,
          idempotencyKey,
        }),
      );
    } catch (error) {
      setErrors(formErrorsOf(error, refundFields));
    }
  }

  return (
    <Dialog
      title={`Refund credits of ${purchase.packName}`}
      description={
        `${formatCredits(purchase.credits)} credits bought for ` +
        `${formatMoney(purchase.amountMinor, purchase.currency)}; ` +
        `${formatCredits(purchase.refundableCredits)} unused can be refunded for up to ` +
        `${formatMoney(purchase.refundableMinor, purchase.currency)}.`
      }
      onClose={onClose}
    >
      <form onSubmit={submit} noValidate className="space-y-4">
        {(errors.form || errors.fields.purchaseId) && (
          <Alert tone="error">{errors.fields.purchaseId ?? errors.form}</Alert>
        )}
        <InputField
          id={`${id}-credits`}
          label="Credits to refund"
          hint={`At most ${formatCredits(purchase.refundableCredits)}`}
          error={errors.fields.credits}
          inputMode="numeric"
          value={credits}
          className="tabular-nums"
          onChange={(event) => setCredits(event.target.value)}
        />
        <InputField
          id={`${id}-reason`}
          label="Reason"
          error={errors.fields.reason}
          value={reason}
          placeholder="Bought the wrong pack"
          onChange={(event) => setReason(event.target.value)}
        />
        <p className="rounded-md bg-slate-50 px-3 py-2 text-sm text-slate-700" aria-live="polite">
          {estimate !== undefined ? (
            <>
              You get back{" "}
              <strong className="tabular-nums" data-testid="refund-estimate">
                {formatMoney(estimate, purchase.currency)}
              </strong>
              , pro rata to what the pack cost. The credits leave the balance at once.
            </>
          ) : (
            `Enter between 1 and ${formatCredits(purchase.refundableCredits)} credits.`
          )}
        </p>
        <div className="flex justify-end gap-2">
          <Button variant="ghost" onClick={onClose} disabled={refund.isPending}>
            Cancel
          </Button>
          <Button type="submit" pending={refund.isPending}>
            Refund
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
