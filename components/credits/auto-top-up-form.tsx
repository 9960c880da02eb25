"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { Field, InputField, describedBy } from "@/components/ui/field";
import { Select } from "@/components/ui/input";
import { Switch } from "@/components/ui/switch";
import { formatCredits, formatMoney } from "@/components/lib/format";
import { formErrorsOf, noErrors, type FormErrors } from "@/components/lib/form-errors";
import type { RouterOutputs, Workspace } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";
import {
  DisabledReason,
  readOnlyReason,
  tierFeatureReason,
} from "@/components/workspaces/read-only";

import { parseWholeCredits } from "./describe";

type Settings = RouterOutputs["credits"]["autoTopUp"]["get"];
type Pack = RouterOutputs["credits"]["packs"]["list"][number];

const fields = ["enabled", "packId", "thresholdCredits", "monthlyLimit"] as const;
type TopUpField = (typeof fields)[number];

/** Auto top-up: buy a pack off session when the balance falls below a threshold. */
export function AutoTopUpSettings({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const scope = { workspaceId: workspace.workspaceId };
  const settings = useQuery(trpc.credits.autoTopUp.get.queryOptions(scope));
  const packs = useQuery(trpc.credits.packs.list.queryOptions());

  return (
    <Card className="h-full">
      <CardHeader
        title="Auto top-up"
        description="Buys a pack with the card of your last checkout when the balance runs low."
      />
      <CardBody>
        {(settings.isPending || packs.isPending) && (
          <div className="h-40 animate-pulse rounded bg-slate-100" />
        )}
        {settings.isError && (
          <p className="text-sm text-red-600">
            Could not load the settings: {settings.error.message}
          </p>
        )}
        {settings.data && packs.data && (
          <TopUpForm workspace={workspace} settings={settings.data} packs={packs.data} />
        )}
      </CardBody>
    </Card>
  );
}

function TopUpForm({
  workspace,
  settings,
  packs,
}: {
  workspace: Workspace;
  settings: Settings;
  packs: Pack[];
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [enabled, setEnabled] = useState(settings.enabled);
  const [packId, setPackId] = useState(settings.packId ?? packs[0]?.id ?? "");
  const [threshold, setThreshold] = useState(
    String(settings.thresholdCredits ?? workspace.tier.lowBalanceThreshold),
  );
  const [monthlyLimit, setMonthlyLimit] = useState(String(settings.monthlyLimit ?? 3));
  const [errors, setErrors] = useState<FormErrors<TopUpField>>(noErrors);
  const [saved, setSaved] = useState<string>();
  // Turning it off stays possible on a tier without it.
  const unavailable =
    readOnlyReason(workspace, "Changing auto top-up is") ??
    (enabled ? tierFeatureReason(workspace, "auto_top_up", "Auto top-up is") : undefined);
  const save = useMutation(
    trpc.credits.autoTopUp.set.mutationOptions({
      onSettled: () => queryClient.invalidateQueries(trpc.credits.pathFilter()),
    }),
  );
  // The stored pack may be archived since: keep it choosable so the form still shows it.
  const choices =
    settings.packId && !packs.some((pack) => pack.id === settings.packId)
      ? [{ id: settings.packId, label: `${settings.packName ?? "Pack"} (no longer offered)` }]
      : [];

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setSaved(undefined);
    const thresholdCredits = parseWholeCredits(threshold);
    const limit = parseWholeCredits(monthlyLimit);
    const local: FormErrors<TopUpField> = { fields: {} };
    if (thresholdCredits === undefined) local.fields.thresholdCredits = "Enter a whole number";
    if (limit === undefined) local.fields.monthlyLimit = "Enter a whole number";
    if (thresholdCredits === undefined || limit === undefined) {
      setErrors(local);
      return;
    }
    setErrors(noErrors);
    try {
      const result = await save.mutateAsync({
        workspaceId: workspace.workspaceId,
        enabled,
        packId,
        thresholdCredits,
        monthlyLimit: limit,
      });
      setSaved(
        result.enabled
          ? result.topUpAsked
            ? "Saved. The balance is already below the threshold, so a top-up is on its way."
            : "Saved. Auto top-up is on."
          : "Saved. Auto top-up is off.",
      );
    } catch (error) {
      setErrors(formErrorsOf(error, fields));
    }
  }

  return (
    <form onSubmit={submit} noValidate className="space-y-4">
      {errors.form && <Alert tone="error">{errors.form}</Alert>}
      <div className="flex items-center justify-between gap-3">
        <span id={`${id}-enabled-label`} className="text-sm font-medium text-slate-700">
          Top up automatically
        </span>
        <Switch
          checked={enabled}
          onChange={setEnabled}
          labelledBy={`${id}-enabled-label`}
          describedBy={errors.fields.enabled ? `${id}-enabled-error` : undefined}
        />
      </div>
      {errors.fields.enabled && (
        <p id={`${id}-enabled-error`} className="text-sm text-red-600" role="alert">
          {errors.fields.enabled}
        </p>
      )}
      <Field id={`${id}-pack`} label="Pack to buy" error={errors.fields.packId}>
        <Select
          id={`${id}-pack`}
          value={packId}
          invalid={Boolean(errors.fields.packId)}
          aria-describedby={describedBy(`${id}-pack`, errors.fields.packId)}
          onChange={(event) => setPackId(event.target.value)}
        >
          {choices.map((choice) => (
            <option key={choice.id} value={choice.id}>
              {choice.label}
            </option>
          ))}
          {packs.map((pack) => (
            <option key={pack.id} value={pack.id}>
              {pack.name}: {formatCredits(pack.credits)} credits,{" "}
              {formatMoney(pack.priceMinor, pack.currency)}
            </option>
          ))}
        </Select>
      </Field>
      <div className="grid gap-4 sm:grid-cols-2">
        <InputField
          id={`${id}-threshold`}
          label="When the balance is below"
          error={errors.fields.thresholdCredits}
          inputMode="numeric"
          value={threshold}
          className="tabular-nums"
          onChange={(event) => setThreshold(event.target.value)}
        />
        <InputField
          id={`${id}-limit`}
          label="At most, per month"
          hint={`${formatCredits(settings.usedThisMonth)} used this month`}
          error={errors.fields.monthlyLimit}
          inputMode="numeric"
          value={monthlyLimit}
          className="tabular-nums"
          onChange={(event) => setMonthlyLimit(event.target.value)}
        />
      </div>
      <div className="flex flex-wrap items-center gap-3">
        <Button
          type="submit"
          pending={save.isPending}
          disabled={packId === "" || unavailable !== undefined}
          aria-describedby={unavailable ? `${id}-unavailable` : undefined}
        >
          Save
        </Button>
        {saved && (
          <p className="text-sm text-emerald-700" role="status">
            {saved}
          </p>
        )}
      </div>
      <DisabledReason id={`${id}-unavailable`} reason={unavailable} />
    </form>
  );
}
