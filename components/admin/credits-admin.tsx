"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { Field, InputField, describedBy } from "@/components/ui/field";
import { Select } from "@/components/ui/input";
import { parseWholeCredits } from "@/components/credits/describe";
import { formatCredits, formatSignedCredits, humanize } from "@/components/lib/format";
import { formErrorsOf, noErrors, type FormErrors } from "@/components/lib/form-errors";
import { useTRPC } from "@/components/lib/trpc";

import { WorkspaceSearch, type FoundWorkspace } from "./workspace-search";

/** A yyyy-mm-dd day from a date input, kept whole: the credits lapse when the next day starts. */
function endOfDay(day: string): Date | undefined {
  if (!day) return undefined;
  const [year, month, date] = day.split("-").map(Number);

  return new Date(year ?? 1970, (month ?? 1) - 1, (date ?? 1) + 1);
}

/** Find a workspace, then adjust its credits or allocate a one-off grant. */
export function CreditsAdmin() {
  return (
    <WorkspaceSearch description="By name, address or a member's email. Then adjust its credits below.">
      {(selected) =>
        selected ? (
          <div className="grid items-start gap-6 lg:grid-cols-2">
            <AdjustForm key={`adjust-${selected.id}`} workspace={selected} />
            <AllocateForm key={`allocate-${selected.id}`} workspace={selected} />
          </div>
        ) : (
          <p className="text-sm text-slate-500">
            Select a workspace to adjust its credits or allocate a one-off grant.
          </p>
        )
      }
    </WorkspaceSearch>
  );
}

const adjustFields = ["credits", "reason", "expiresAt"] as const;
type AdjustField = (typeof adjustFields)[number];

/**
 * A signed correction with a required reason. Added credits are a grant of
 * their own; removed credits are drawn like a consumption and never take
 * the balance below zero.
 */
function AdjustForm({ workspace }: { workspace: FoundWorkspace }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [credits, setCredits] = useState("");
  const [reason, setReason] = useState("");
  const [expires, setExpires] = useState("");
  const [errors, setErrors] = useState<FormErrors<AdjustField>>(noErrors);
  const [done, setDone] = useState<string>();
  // A key per adjustment: a double submit (or a retried request) adjusts once.
  const [idempotencyKey, setKey] = useState(() => crypto.randomUUID());
  const adjust = useMutation(
    trpc.credits.admin.adjust.mutationOptions({
      onSettled: () => queryClient.invalidateQueries(trpc.workspaces.admin.pathFilter()),
    }),
  );
  const amount = parseWholeCredits(credits);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setDone(undefined);
    if (amount === undefined) {
      setErrors({ fields: { credits: "Enter a whole number, negative to remove credits" } });
      return;
    }
    setErrors(noErrors);
    try {
      const result = await adjust.mutateAsync({
        workspaceId: workspace.id,
        credits: amount,
        reason,
        expiresAt: amount > 0 ? (endOfDay(expires) ?? null) : null,
        idempotencyKey,
      });
      setDone(
        `${result.replayed ? "Already applied: " : ""}${workspace.name} adjusted by ` +
          `${formatSignedCredits(amount)}. The balance is now ${formatCredits(result.balanceAfter)}.`,
      );
      setCredits("");
      setReason("");
      setExpires("");
      setKey(crypto.randomUUID());
    } catch (error) {
      setErrors(formErrorsOf(error, adjustFields));
    }
  }

  return (
    <Card>
      <CardHeader
        title={`Adjust ${workspace.name}`}
        description={`Balance ${formatCredits(Number(workspace.balance ?? 0))}. A correction is a new ledger entry, never an edit.`}
      />
      <CardBody>
        <form onSubmit={submit} noValidate className="space-y-4">
          {errors.form && <Alert tone="error">{errors.form}</Alert>}
          <InputField
            id={`${id}-credits`}
            label="Credits"
            hint="Positive adds credits, negative removes them (down to zero at most)"
            error={errors.fields.credits}
            inputMode="numeric"
            value={credits}
            placeholder="500 or -500"
            className="tabular-nums"
            onChange={(event) => setCredits(event.target.value)}
          />
          <InputField
            id={`${id}-reason`}
            label="Reason"
            error={errors.fields.reason}
            value={reason}
            placeholder="Credit for the outage on 3 Dec"
            onChange={(event) => setReason(event.target.value)}
          />
          <InputField
            id={`${id}-expires`}
            label="Added credits expire after (optional)"
            hint="The day is included. Leave empty for credits that never expire."
            error={errors.fields.expiresAt}
            type="date"
            value={expires}
            disabled={amount !== undefined && amount < 0}
            onChange={(event) => setExpires(event.target.value)}
          />
          <div className="flex flex-wrap items-center gap-3">
            <Button type="submit" pending={adjust.isPending}>
              Adjust credits
            </Button>
            {amount !== undefined && amount !== 0 && !done && (
              <span className="text-sm text-slate-500 tabular-nums">
                {Number(workspace.balance ?? 0) + amount >= 0
                  ? `Balance after: ${formatCredits(Number(workspace.balance ?? 0) + amount)}`
                  : "That is more than the balance holds"}
              </span>
            )}
          </div>
          {done && (
            <Alert tone="success">
              <span data-testid="adjust-result">{done}</span>
            </Alert>
          )}
        </form>
      </CardBody>
    </Card>
  );
}

const allocateFields = ["credits", "source", "reason", "expiresAt"] as const;
type AllocateField = (typeof allocateFields)[number];
const sources = ["promotion", "trial", "adjustment"] as const;

/** A one-off grant on top of the tier's allowance: a trial extension, a goodwill gesture. */
function AllocateForm({ workspace }: { workspace: FoundWorkspace }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [credits, setCredits] = useState("");
  const [source, setSource] = useState<(typeof sources)[number]>("promotion");
  const [reason, setReason] = useState("");
  const [expires, setExpires] = useState("");
  const [errors, setErrors] = useState<FormErrors<AllocateField>>(noErrors);
  const [done, setDone] = useState<string>();
  const [idempotencyKey, setKey] = useState(() => crypto.randomUUID());
  const allocate = useMutation(
    trpc.credits.admin.allocate.mutationOptions({
      onSettled: () => queryClient.invalidateQueries(trpc.workspaces.admin.pathFilter()),
    }),
  );

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setDone(undefined);
    const amount = parseWholeCredits(credits);
    if (amount === undefined) {
      setErrors({ fields: { credits: "Enter a whole number of credits" } });
      return;
    }
    setErrors(noErrors);
    try {
      const result = await allocate.mutateAsync({
        workspaceId: workspace.id,
        credits: amount,
        source,
        reason,
        expiresAt: endOfDay(expires) ?? null,
        idempotencyKey,
      });
      setDone(
        `${result.replayed ? "Already applied: " : ""}${formatCredits(amount)} ` +
          `${humanize(source).toLowerCase()} credits allocated to ${workspace.name}. The balance ` +
          `is now ${formatCredits(result.balanceAfter)}.`,
      );
      setCredits("");
      setReason("");
      setExpires("");
      setKey(crypto.randomUUID());
    } catch (error) {
      setErrors(formErrorsOf(error, allocateFields));
    }
  }

  return (
    <Card>
      <CardHeader
        title="Allocate credits"
        description="A one-off grant on top of the tier's monthly allowance."
      />
      <CardBody>
        <form onSubmit={submit} noValidate className="space-y-4">
          {errors.form && <Alert tone="error">{errors.form}</Alert>}
          <div className="grid gap-4 sm:grid-cols-2">
            <InputField
              id={`${id}-credits`}
              label="Credits"
              error={errors.fields.credits}
              inputMode="numeric"
              value={credits}
              placeholder="1000"
              className="tabular-nums"
              onChange={(event) => setCredits(event.target.value)}
            />
            <Field id={`${id}-source`} label="Source" error={errors.fields.source}>
              <Select
                id={`${id}-source`}
                value={source}
                invalid={Boolean(errors.fields.source)}
                aria-describedby={describedBy(`${id}-source`, errors.fields.source)}
                onChange={(event) => setSource(event.target.value as (typeof sources)[number])}
              >
                {sources.map((entry) => (
                  <option key={entry} value={entry}>
                    {humanize(entry)}
                  </option>
                ))}
              </Select>
            </Field>
          </div>
          <InputField
            id={`${id}-reason`}
            label="Reason"
            error={errors.fields.reason}
            value={reason}
            placeholder="Trial extended by two weeks"
            onChange={(event) => setReason(event.target.value)}
          />
          <InputField
            id={`${id}-expires`}
            label="Expire after (optional)"
            hint="The day is included. Leave empty for credits that never expire."
            error={errors.fields.expiresAt}
            type="date"
            value={expires}
            onChange={(event) => setExpires(event.target.value)}
          />
          <Button type="submit" pending={allocate.isPending}>
            Allocate credits
          </Button>
          {done && (
            <Alert tone="success">
              <span data-testid="allocate-result">{done}</span>
            </Alert>
          )}
        </form>
      </CardBody>
    </Card>
  );
}
