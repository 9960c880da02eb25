"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useId, useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardHeader } from "@/components/ui/card";
import { Dialog } from "@/components/ui/dialog";
import { InputField, SelectField } from "@/components/ui/field";
import { QueryRows, Table, Td, Th } from "@/components/ui/table";
import { formatDateTime, formatMoney, humanize } from "@/components/lib/format";
import { formErrorsOf, noErrors, type FormErrors } from "@/components/lib/form-errors";
import type { RouterOutputs } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";

type Drift = RouterOutputs["adminReconciliation"]["drifts"]["rows"][number];
type DriftStatus = Drift["status"];
type DriftKind = Drift["kind"];

const STATUSES: readonly DriftStatus[] = ["open", "repaired", "dismissed"];
const KINDS: readonly DriftKind[] = [
  "missing_grant",
  "status_mismatch",
  "payment_without_invoice",
  "refund_not_in_ledger",
  "dispute_not_recorded",
  "refund_not_at_gateway",
  "dispute_not_at_gateway",
];

const statusTone = { open: "amber", repaired: "green", dismissed: "neutral" } as const;

/**
 * The reconciliation page: the latest runs with a "Run now" button, and the
 * drifts they found, filtered by status and kind, each with what the
 * gateway and Tally say and the action that repairs it (or dismiss).
 */
export function ReconciliationAdmin() {
  return (
    <div className="space-y-6">
      <RunsCard />
      <DriftsCard />
    </div>
  );
}

function RunsCard() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const runs = useQuery(trpc.adminReconciliation.runs.queryOptions());
  const [message, setMessage] = useState<{ tone: "success" | "error"; text: string }>();
  const running = useMutation(
    trpc.adminReconciliation.runNow.mutationOptions({
      onSettled: () => queryClient.invalidateQueries(trpc.adminReconciliation.pathFilter()),
    }),
  );
  const rows = runs.data ?? [];

  async function runNow() {
    setMessage(undefined);
    try {
      const result = await running.mutateAsync();
      setMessage(
        result.ran
          ? {
              tone: "success",
              text: `Compared ${result.checked} objects; ${result.driftsFound} new drift.`,
            }
          : { tone: "success", text: "The last run already covers everything until now." },
      );
    } catch (error) {
      setMessage({ tone: "error", text: formErrorsOf(error, []).form ?? "The run failed" });
    }
  }

  return (
    <Card>
      <CardHeader
        title="Runs"
        description="Each run compares what the gateway created in its window with Tally's records, and what Tally recorded in the same window with the gateway. It runs daily at 03:00 UTC; each window starts where the last ended and stops 10 minutes before the run, so webhooks on their way are not drift."
        action={
          <Button onClick={runNow} pending={running.isPending}>
            Run now
          </Button>
        }
      />
      {message && (
        <div className="border-b border-slate-100 px-5 py-3">
          <Alert tone={message.tone}>{message.text}</Alert>
        </div>
      )}
      <Table label="Reconciliation runs">
        <thead className="bg-slate-50/60">
          <tr>
            <Th>Window</Th>
            <Th>Gateway</Th>
            <Th align="right">Checked</Th>
            <Th align="right">New drift</Th>
            <Th>Finished</Th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          <QueryRows
            query={runs}
            colSpan={5}
            subject="the runs"
            isEmpty={rows.length === 0}
            empty="No run yet: the first covers the last 35 days."
          />
          {rows.map((run) => (
            <tr key={run.id} data-testid="reconciliation-run">
              <Td className="whitespace-nowrap">
                {formatDateTime(run.windowStart)}
                <span className="block text-xs text-slate-500">
                  to {formatDateTime(run.windowEnd)}
                </span>
              </Td>
              <Td>{humanize(run.gateway)}</Td>
              <Td numeric>{run.checked}</Td>
              <Td numeric>
                {run.driftsFound > 0 ? (
                  <Badge tone="amber">{run.driftsFound}</Badge>
                ) : (
                  run.driftsFound
                )}
              </Td>
              <Td className="whitespace-nowrap text-slate-500">{formatDateTime(run.finishedAt)}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </Card>
  );
}

function DriftsCard() {
  const trpc = useTRPC();
  const id = useId();
  const [status, setStatus] = useState<DriftStatus | "">("open");
  const [kind, setKind] = useState<DriftKind | "">("");
  const [dismissing, setDismissing] = useState<Drift>();
  const drifts = useQuery(
    trpc.adminReconciliation.drifts.queryOptions(
      { statuses: status ? [status] : [], kinds: kind ? [kind] : [], pageSize: 100 },
      { placeholderData: (previous) => previous },
    ),
  );
  const rows = drifts.data?.rows ?? [];
  const counts = drifts.data?.counts ?? {};

  return (
    <Card>
      <CardHeader
        title="Drifts"
        description={`Differences between the gateway and Tally: ${counts.open ?? 0} open, ${counts.repaired ?? 0} repaired, ${counts.dismissed ?? 0} dismissed. A repair re-applies the gateway's object through the webhook handlers and checks again; a drift that re-applying cannot fix says what to check by hand, then dismiss it.`}
      />
      <div className="grid gap-3 border-b border-slate-100 px-5 py-4 sm:grid-cols-2 lg:max-w-2xl">
        <SelectField
          id={`${id}-status`}
          label="Status"
          value={status}
          anyLabel="Any status"
          options={STATUSES}
          onChange={(value) => setStatus(value as DriftStatus | "")}
        />
        <SelectField
          id={`${id}-kind`}
          label="Kind"
          value={kind}
          anyLabel="Any kind"
          options={KINDS}
          onChange={(value) => setKind(value as DriftKind | "")}
        />
      </div>
      <ul aria-label="Drifts" className="divide-y divide-slate-100">
        {drifts.isPending && <li className="px-5 py-6 text-sm text-slate-500">Loading…</li>}
        {drifts.isError && (
          <li className="px-5 py-6 text-sm text-slate-500">
            Could not load the drifts: {drifts.error.message}
          </li>
        )}
        {drifts.data && rows.length === 0 && (
          <li className="px-5 py-6 text-sm text-slate-500">No drift matches.</li>
        )}
        {rows.map((drift) => (
          <DriftRow key={drift.id} drift={drift} onDismiss={() => setDismissing(drift)} />
        ))}
      </ul>
      {dismissing && <DismissDialog drift={dismissing} onClose={() => setDismissing(undefined)} />}
    </Card>
  );
}

function DriftRow({ drift, onDismiss }: { drift: Drift; onDismiss: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string>();
  const repairing = useMutation(
    trpc.adminReconciliation.repair.mutationOptions({
      onSettled: () => queryClient.invalidateQueries(trpc.adminReconciliation.pathFilter()),
    }),
  );
  const details = drift.details as {
    summary?: string;
    gateway?: Record<string, unknown>;
    tally?: Record<string, unknown> | null;
  };

  async function repair() {
    setError(undefined);
    try {
      const result = await repairing.mutateAsync({ driftId: drift.id });
      if (result.status === "open") setError(`Still drifting: ${result.stillHolds}`);
    } catch (caught) {
      setError(formErrorsOf(caught, []).form);
    }
  }

  return (
    <li
      data-testid="reconciliation-drift"
      className="grid gap-4 px-5 py-4 lg:grid-cols-[minmax(0,2fr)_minmax(0,1.5fr)_minmax(0,1fr)]"
    >
      <div className="min-w-0">
        <div className="flex flex-wrap items-center gap-2">
          <span className="font-medium text-slate-900">{humanize(drift.kind)}</span>
          <Badge tone={statusTone[drift.status]}>{humanize(drift.status)}</Badge>
        </div>
        <p className="mt-1 text-sm text-slate-600">{details.summary}</p>
        <p className="mt-1 font-mono text-xs break-all text-slate-400">{drift.gatewayObjectId}</p>
        <p className="mt-1 text-xs text-slate-500">
          {drift.workspace ? (
            <Link
              href={`/admin/workspaces/${drift.workspace.id}`}
              className="font-medium text-indigo-700 hover:underline"
            >
              {drift.workspace.name}
            </Link>
          ) : (
            "Workspace unknown"
          )}{" "}
          · found {formatDateTime(drift.foundAt)}
        </p>
      </div>
      <dl className="grid grid-cols-2 gap-4 text-sm">
        <div>
          <dt className="text-xs font-medium tracking-wide text-slate-500 uppercase">Gateway</dt>
          <dd className="mt-1">
            <Side facts={details.gateway ?? null} />
          </dd>
        </div>
        <div>
          <dt className="text-xs font-medium tracking-wide text-slate-500 uppercase">Tally</dt>
          <dd className="mt-1">
            <Side facts={details.tally ?? null} />
          </dd>
        </div>
      </dl>
      <div className="min-w-0">
        {drift.status === "open" ? (
          <div className="space-y-2">
            {error && <Alert tone="error">{error}</Alert>}
            {drift.manual && <p className="text-xs text-slate-600">{drift.manual}</p>}
            <div className="flex flex-wrap gap-2">
              {drift.repairLabel && (
                <Button size="sm" onClick={repair} pending={repairing.isPending}>
                  {drift.repairLabel}
                </Button>
              )}
              <Button size="sm" variant="secondary" onClick={onDismiss}>
                Dismiss
              </Button>
            </div>
          </div>
        ) : (
          <p className="text-sm text-slate-600">
            {drift.resolution}
            <span className="block text-xs text-slate-400">{formatDateTime(drift.resolvedAt)}</span>
          </p>
        )}
      </div>
    </li>
  );
}

/** One side's account of the object: the amount, then each status it has, labelled. */
function Side({ facts }: { facts: Record<string, unknown> | null }) {
  if (!facts) return <span className="text-slate-400">Nothing</span>;
  const money = (amount: unknown, currency: unknown) =>
    typeof amount === "number" && typeof currency === "string"
      ? formatMoney(amount, currency)
      : null;
  const amount =
    money(facts.amountMinor, facts.currency) ??
    money(facts.purchaseAmountMinor, facts.purchaseCurrency);
  const labelled = (label: string, value: unknown) =>
    typeof value === "string" ? `${label} ${humanize(value).toLowerCase()}` : null;
  const lines = [
    "paymentIntentId" in facts ||
    "refundId" in facts ||
    "paymentRefundId" in facts ||
    "disputeId" in facts
      ? labelled("", facts.status)?.trim()
      : labelled("payment", facts.status ?? ("paymentId" in facts ? undefined : "missing")),
    labelled("purchase", facts.purchaseStatus),
    facts.granted === false ? "credits not granted" : null,
    labelled("invoice", facts.invoiceStatus),
  ].filter((line): line is string => typeof line === "string" && line !== "");

  return (
    <div>
      {amount && <span className="font-medium text-slate-900 tabular-nums">{amount}</span>}
      {lines.map((line) => (
        <span key={line} className="block text-xs text-slate-500 first-letter:uppercase">
          {line}
        </span>
      ))}
    </div>
  );
}

function DismissDialog({ drift, onClose }: { drift: Drift; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [reason, setReason] = useState("");
  const [errors, setErrors] = useState<FormErrors<"reason">>(noErrors);
  const dismissing = useMutation(
    trpc.adminReconciliation.dismiss.mutationOptions({
      onSettled: () => queryClient.invalidateQueries(trpc.adminReconciliation.pathFilter()),
    }),
  );

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setErrors(noErrors);
    try {
      await dismissing.mutateAsync({ driftId: drift.id, reason });
      onClose();
    } catch (error) {
      setErrors(formErrorsOf(error, ["reason"]));
    }
  }

  return (
    <Dialog
      title={`Dismiss ${humanize(drift.kind).toLowerCase()}`}
      description={drift.manual ?? "Dismiss a drift that was dealt with outside Tally."}
      onClose={onClose}
    >
      <form onSubmit={submit} noValidate className="space-y-4">
        {errors.form && <Alert tone="error">{errors.form}</Alert>}
        <InputField
          id={`${id}-reason`}
          label="Reason"
          hint="Kept on the drift's record and in the audit trail."
          placeholder="Refunded in the Stripe dashboard"
          value={reason}
          error={errors.fields.reason}
          onChange={(event) => setReason(event.target.value)}
        />
        <div className="flex justify-end gap-2">
          <Button type="button" variant="secondary" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" pending={dismissing.isPending}>
            Dismiss
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
