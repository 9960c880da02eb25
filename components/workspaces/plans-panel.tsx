"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { cn } from "@/components/ui/cn";
import { Dialog } from "@/components/ui/dialog";
import { Table, Td, Th } from "@/components/ui/table";
import { formatCredits, formatDateTime, formatMoney, humanize } from "@/components/lib/format";
import { formErrorsOf } from "@/components/lib/form-errors";
import { canManageBilling } from "@/components/lib/roles";
import type { RouterOutputs, Workspace } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";

import { DisabledReason, readOnlyReason } from "./read-only";
import { useWorkspace } from "./use-workspace";

type Plans = RouterOutputs["workspaces"]["plans"];
type PlanTier = Plans["tiers"][number];
type Timing = "now" | "period_end";

const featureLabels: Record<string, string> = {
  api_keys: "API keys",
  webhooks: "Webhooks",
  transfers: "Credit transfers",
  auto_top_up: "Auto top-up",
  holds: "Credit holds",
};

const formatDay = (value: Date | string) =>
  new Date(value).toLocaleDateString("en-US", { month: "short", day: "numeric", year: "numeric" });

/** /w/[slug]/plans: the tier comparison, the preview of a move, and what the next invoice owes. */
export function PlansPanel({ slug }: { slug: string }) {
  const workspace = useWorkspace(slug);
  if (!workspace.data) return null;

  return <PlansView workspace={workspace.data} />;
}

function PlansView({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const plans = useQuery(
    trpc.workspaces.plans.queryOptions({ workspaceId: workspace.workspaceId }),
  );
  const [chosen, setChosen] = useState<PlanTier>();
  const [done, setDone] = useState<string>();

  if (plans.isPending) {
    return <div aria-busy="true" className="h-64 animate-pulse rounded-lg bg-slate-200/70" />;
  }
  if (plans.isError) return <Alert tone="error">{plans.error.message}</Alert>;

  const data = plans.data;
  const current = data.tiers.find((tier) => tier.current);
  const billing = canManageBilling(workspace.role);
  const unavailable =
    readOnlyReason(workspace, "Changing the tier is") ??
    (data.cancellation.cancelAt
      ? "Changing the tier is unavailable while the workspace is cancelling; withdraw the " +
        "cancellation in Settings first."
      : undefined) ??
    (billing ? undefined : "Only billing members, admins and owners change the tier.");

  return (
    <div className="space-y-6">
      {done && (
        <Alert tone="success" title="Done">
          <p data-testid="plan-change-result">{done}</p>
        </Alert>
      )}
      <Card>
        <CardHeader
          title="Plans"
          description={
            <>
              You are on the <strong>{current?.name}</strong> tier. This period runs from{" "}
              {formatDay(data.period.startsAt)} to {formatDay(data.period.endsAt)}. Upgrades take
              effect now and are prorated by the second; downgrades wait for the period&apos;s end
              unless you choose now.
            </>
          }
        />
        <ComparisonTable
          plans={data}
          disabled={unavailable !== undefined}
          onChoose={(tier) => {
            setDone(undefined);
            setChosen(tier);
          }}
        />
        {unavailable && (
          <CardBody>
            <DisabledReason reason={unavailable} />
          </CardBody>
        )}
      </Card>
      <PendingAdjustments plans={data} />
      {chosen && current && (
        <ChangeDialog
          workspace={workspace}
          from={current}
          to={chosen}
          onClose={() => setChosen(undefined)}
          onDone={(message) => {
            setChosen(undefined);
            setDone(message);
          }}
        />
      )}
    </div>
  );
}

function ComparisonTable({
  plans,
  disabled,
  onChoose,
}: {
  plans: Plans;
  disabled: boolean;
  onChoose: (tier: PlanTier) => void;
}) {
  const tiers = plans.tiers;
  const features = Object.keys(featureLabels);
  const quotaKeys = [
    ...new Set(tiers.flatMap((tier) => tier.quotas.map((q) => `${q.featureCode}/${q.period}`))),
  ];
  const row = (label: string, cell: (tier: PlanTier) => ReactNode) => (
    <tr key={label}>
      <Td className="font-medium whitespace-nowrap text-slate-600">{label}</Td>
      {tiers.map((tier) => (
        <Td key={tier.id} className={cn("text-center", tier.current && "bg-indigo-50/60")}>
          {cell(tier)}
        </Td>
      ))}
    </tr>
  );

  return (
    <Table label="Tier comparison">
      <thead className="bg-slate-50/60">
        <tr>
          <Th>
            <span className="sr-only">Tier</span>
          </Th>
          {tiers.map((tier) => (
            <Th
              key={tier.id}
              className={cn("text-center", tier.current && "bg-indigo-50/60")}
              data-testid={`tier-${tier.code}`}
            >
              <div className="flex flex-col items-center gap-1">
                <span className="text-base font-semibold text-slate-900 normal-case">
                  {tier.name}
                </span>
                {tier.current && <Badge tone="indigo">Current</Badge>}
              </div>
            </Th>
          ))}
        </tr>
      </thead>
      <tbody className="divide-y divide-slate-100">
        {row("Price a month", (tier) => formatMoney(tier.monthlyPriceMinor, tier.currency))}
        {row("Credits a month", (tier) => formatCredits(tier.monthlyCredits))}
        {row("Seats included", (tier) => tier.includedSeats)}
        {row("Extra seat", (tier) =>
          tier.seatPriceMinor > 0 ? formatMoney(tier.seatPriceMinor, tier.currency) : "—",
        )}
        {row("Most seats", (tier) => tier.maxSeats ?? "No limit")}
        {features.map((feature) =>
          row(featureLabels[feature] ?? feature, (tier) =>
            tier.features.includes(feature as PlanTier["features"][number]) ? (
              <span aria-label="included">✓</span>
            ) : (
              <span aria-label="not included" className="text-slate-400">
                –
              </span>
            ),
          ),
        )}
        {quotaKeys.map((key) => {
          const [featureCode, period] = key.split("/");
          return row(`${featureCode} calls a ${period}`, (tier) => {
            const quota = tier.quotas.find(
              (q) => q.featureCode === featureCode && q.period === period,
            );
            return quota ? formatCredits(quota.maxCalls) : "No limit";
          });
        })}
        <tr>
          <Td>
            <span className="sr-only">Choose</span>
          </Td>
          {tiers.map((tier) => (
            <Td key={tier.id} className={cn("text-center", tier.current && "bg-indigo-50/60")}>
              {tier.change ? (
                <div className="space-y-1">
                  <Button
                    size="sm"
                    variant={tier.change.direction === "upgrade" ? "primary" : "secondary"}
                    disabled={disabled}
                    onClick={() => onChoose(tier)}
                    data-testid={`choose-${tier.code}`}
                  >
                    {tier.change.direction === "upgrade" ? "Upgrade" : "Downgrade"}
                  </Button>
                  {tier.change.blockers.length > 0 && (
                    <p className="text-xs text-amber-800">
                      {tier.change.blockers.length} blocker
                      {tier.change.blockers.length === 1 ? "" : "s"}
                    </p>
                  )}
                </div>
              ) : (
                <span className="text-sm text-slate-500">Your tier</span>
              )}
            </Td>
          ))}
        </tr>
      </tbody>
    </Table>
  );
}

function ChangeDialog({
  workspace,
  from,
  to,
  onClose,
  onDone,
}: {
  workspace: Workspace;
  from: PlanTier;
  to: PlanTier;
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const change = to.change!;
  const [timing, setTiming] = useState<Timing>(change.timings[0] ?? "now");
  const [error, setError] = useState<string>();
  const mutation = useMutation(
    trpc.workspaces.changeTier.mutationOptions({
      onSettled: () => queryClient.invalidateQueries(),
    }),
  );
  const money = (minor: number) => formatMoney(minor, change.now.currency);
  const blocked = change.blockers.length > 0;
  const upgrade = change.direction === "upgrade";

  async function confirm() {
    setError(undefined);
    try {
      const result = await mutation.mutateAsync({
        workspaceId: workspace.workspaceId,
        tierId: to.id,
        timing,
      });
      onDone(
        result.status === "changed"
          ? `${workspace.name} is now on the ${to.name} tier.`
          : `${workspace.name} moves to the ${to.name} tier on ${formatDay(result.effectiveAt)}.`,
      );
    } catch (caught) {
      const errors = formErrorsOf(caught, ["tierId", "timing"]);
      setError(errors.fields.tierId ?? errors.fields.timing ?? errors.form);
    }
  }

  return (
    <Dialog
      title={`${upgrade ? "Upgrade" : "Downgrade"} to ${to.name}`}
      description={`From ${from.name} (${money(from.monthlyPriceMinor)} a month) to ${to.name} (${money(to.monthlyPriceMinor)} a month).`}
      onClose={onClose}
    >
      <div className="space-y-4" data-testid="change-preview">
        {blocked && (
          <Alert tone="warning" title="This move is blocked">
            <ul className="list-disc space-y-1 pl-4" data-testid="change-blockers">
              {change.blockers.map((blocker) => (
                <li key={`${blocker.code}-${blocker.featureCode ?? ""}`}>{blocker.message}</li>
              ))}
            </ul>
          </Alert>
        )}
        {!upgrade && (
          <fieldset className="space-y-2">
            <legend className="text-sm font-medium text-slate-700">When</legend>
            {change.timings.map((option) => (
              <label key={option} className="flex items-start gap-2 text-sm text-slate-700">
                <input
                  type="radio"
                  name="timing"
                  value={option}
                  className="mt-0.5 size-4 text-indigo-600"
                  checked={timing === option}
                  onChange={() => setTiming(option)}
                />
                {option === "period_end"
                  ? `At the period's end, ${formatDay(change.period.endsAt)}: no proration`
                  : "Now: prorated, with the difference credited to your next invoice"}
              </label>
            ))}
          </fieldset>
        )}
        {timing === "now" ? (
          <dl className="divide-y divide-slate-100 rounded-md ring-1 ring-slate-200">
            <Line label={`Unused time on ${from.name}`} value={money(change.now.creditMinor)} />
            <Line label={`Remaining time on ${to.name}`} value={money(change.now.chargeMinor)} />
            <Line
              strong
              label={change.now.netMinor >= 0 ? "Invoiced now" : "Credited to your next invoice"}
              value={money(Math.abs(change.now.netMinor))}
              testId="preview-net"
            />
            <Line
              label="Credits"
              value={
                change.now.creditsGranted > 0
                  ? `+${formatCredits(change.now.creditsGranted)} now, until ${formatDay(change.period.endsAt)}`
                  : change.now.creditsTakenBack > 0
                    ? `−${formatCredits(change.now.creditsTakenBack)} of this period's allowance now (purchased credits stay)`
                    : "None taken back"
              }
              testId="preview-credits"
            />
          </dl>
        ) : (
          <p className="text-sm text-slate-600">
            Until {formatDay(change.period.endsAt)} nothing changes. From then on the workspace pays{" "}
            {money(change.nextPeriod.monthlyPriceMinor)} a month and receives{" "}
            {formatCredits(change.nextPeriod.monthlyCredits)} credits a month. You can cancel the
            change until then.
          </p>
        )}
        <p className="text-xs text-slate-500">
          Prorated by the second over this period ({formatDay(change.period.startsAt)} to{" "}
          {formatDay(change.period.endsAt)}), each line rounded half to even.
        </p>
        {error && <Alert tone="error">{error}</Alert>}
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={onClose}>
            Back
          </Button>
          <Button
            onClick={confirm}
            pending={mutation.isPending}
            disabled={blocked}
            data-testid="confirm-change"
          >
            {timing === "now" ? `Move to ${to.name} now` : `Schedule the move`}
          </Button>
        </div>
      </div>
    </Dialog>
  );
}

function Line({
  label,
  value,
  strong,
  testId,
}: {
  label: string;
  value: string;
  strong?: boolean;
  testId?: string;
}) {
  return (
    <div className={cn("flex justify-between gap-4 px-3 py-2 text-sm", strong && "font-semibold")}>
      <dt className="text-slate-600">{label}</dt>
      <dd className="text-right text-slate-900 tabular-nums" data-testid={testId}>
        {value}
      </dd>
    </div>
  );
}

function PendingAdjustments({ plans }: { plans: Plans }) {
  const lines = plans.adjustments;
  const currency = lines[0]?.currency ?? "USD";

  return (
    <Card>
      <CardHeader
        title="On your next invoice"
        description="Prorated tier changes and refunds waiting for the next invoice."
      />
      <Table label="Pending billing adjustments">
        <thead className="bg-slate-50/60">
          <tr>
            <Th>Date</Th>
            <Th>What</Th>
            <Th>Kind</Th>
            <Th align="right">Amount</Th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100" data-testid="pending-adjustments">
          {lines.length === 0 && (
            <tr>
              <Td colSpan={4} className="text-slate-500">
                Nothing yet.
              </Td>
            </tr>
          )}
          {lines.map((line) => (
            <tr key={line.id}>
              <Td className="whitespace-nowrap text-slate-500">{formatDateTime(line.createdAt)}</Td>
              <Td>{line.description}</Td>
              <Td>{humanize(line.kind)}</Td>
              <Td className="text-right tabular-nums">
                {formatMoney(line.amountMinor, line.currency)}
              </Td>
            </tr>
          ))}
          {lines.length > 0 && (
            <tr className="font-semibold">
              <Td colSpan={3}>
                {plans.pendingMinor >= 0
                  ? "Charged on your next invoice"
                  : "Your credit balance, taken off your next invoice"}
              </Td>
              <Td className="text-right tabular-nums" data-testid="pending-total">
                {formatMoney(Math.abs(plans.pendingMinor), currency)}
              </Td>
            </tr>
          )}
        </tbody>
      </Table>
    </Card>
  );
}
