"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { Field, InputField, describedBy } from "@/components/ui/field";
import { Select } from "@/components/ui/input";
import { formatCredits } from "@/components/lib/format";
import { formErrorsOf, noErrors, type FormErrors } from "@/components/lib/form-errors";
import type { Workspace } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";
import {
  DisabledReason,
  readOnlyReason,
  tierFeatureReason,
} from "@/components/workspaces/read-only";

import { parseWholeCredits } from "./describe";

const fields = ["toWorkspaceId", "credits", "reason"] as const;
type TransferField = (typeof fields)[number];

/**
 * Moves credits to another workspace the same person owns. Shown only to an
 * owner of this workspace who owns at least one other; the server checks
 * both ownerships again.
 */
export function TransferForm({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const list = useQuery(trpc.workspaces.list.queryOptions());
  const targets = (list.data ?? []).filter(
    (entry) =>
      entry.role === "owner" &&
      entry.workspaceId !== workspace.workspaceId &&
      entry.status === "active",
  );
  if (workspace.role !== "owner" || targets.length === 0) return null;

  return <Transfer workspace={workspace} targets={targets} />;
}

function Transfer({
  workspace,
  targets,
}: {
  workspace: Workspace;
  targets: { workspaceId: string; name: string }[];
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [toWorkspaceId, setTo] = useState(targets[0]?.workspaceId ?? "");
  const [credits, setCredits] = useState("");
  const [reason, setReason] = useState("");
  const [errors, setErrors] = useState<FormErrors<TransferField>>(noErrors);
  const [done, setDone] = useState<string>();
  const unavailable =
    readOnlyReason(workspace, "Transferring credits is") ??
    tierFeatureReason(workspace, "transfers", "Credit transfers are");
  const transfer = useMutation(
    trpc.credits.transfer.mutationOptions({
      onSettled: () => queryClient.invalidateQueries(trpc.credits.pathFilter()),
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
      const result = await transfer.mutateAsync({
        workspaceId: workspace.workspaceId,
        toWorkspaceId,
        credits: amount,
        reason,
      });
      const target = targets.find((entry) => entry.workspaceId === toWorkspaceId);
      setDone(
        `Moved ${formatCredits(amount)} credits to ${target?.name ?? "the other workspace"}. ` +
          `This balance is now ${formatCredits(result.fromBalance)}; theirs is ` +
          `${formatCredits(result.toBalance)}.`,
      );
      setCredits("");
      setReason("");
    } catch (error) {
      setErrors(formErrorsOf(error, fields));
    }
  }

  return (
    <Card>
      <CardHeader
        title="Transfer credits"
        description={
          "Move credits to another workspace you own. They keep their expiry dates, so moving " +
          "credits never extends their life."
        }
      />
      <CardBody>
        <form onSubmit={submit} noValidate className="space-y-4">
          {errors.form && <Alert tone="error">{errors.form}</Alert>}
          <div className="grid gap-4 sm:grid-cols-3">
            <Field id={`${id}-to`} label="To workspace" error={errors.fields.toWorkspaceId}>
              <Select
                id={`${id}-to`}
                value={toWorkspaceId}
                invalid={Boolean(errors.fields.toWorkspaceId)}
                aria-describedby={describedBy(`${id}-to`, errors.fields.toWorkspaceId)}
                onChange={(event) => setTo(event.target.value)}
              >
                {targets.map((target) => (
                  <option key={target.workspaceId} value={target.workspaceId}>
                    {target.name}
                  </option>
                ))}
              </Select>
            </Field>
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
            <InputField
              id={`${id}-reason`}
              label="Reason"
              error={errors.fields.reason}
              value={reason}
              placeholder="Moving the staging budget"
              onChange={(event) => setReason(event.target.value)}
            />
          </div>
          <div className="flex flex-wrap items-center gap-3">
            <Button
              type="submit"
              pending={transfer.isPending}
              disabled={unavailable !== undefined}
              aria-describedby={unavailable ? `${id}-unavailable` : undefined}
            >
              Transfer credits
            </Button>
            {done && (
              <Alert tone="success" className="flex-1">
                {done}
              </Alert>
            )}
          </div>
          <DisabledReason id={`${id}-unavailable`} reason={unavailable} />
        </form>
      </CardBody>
    </Card>
  );
}
