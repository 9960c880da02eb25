"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { InputField } from "@/components/ui/field";
import { formatDateTime } from "@/components/lib/format";
import { formErrorsOf, noErrors, type FormErrors } from "@/components/lib/form-errors";
import { useTRPC } from "@/components/lib/trpc";

/** What the status actions need to know about a workspace. */
export interface StatusTarget {
  id: string;
  name: string;
  status: "active" | "suspended" | "cancelled" | "deleted";
  suspendedAt: Date | null;
  suspensionReason: string | null;
}

/**
 * A workspace's status with the action it allows: suspend an active one (with
 * a reason its members see) or reactivate a suspended one. Both refresh every
 * admin workspace query, so the page shows the new state and audit entry.
 */
export function StatusCard({ workspace }: { workspace: StatusTarget }) {
  const [done, setDone] = useState<string>();

  return (
    <Card>
      <CardHeader
        title={`${workspace.name}: ${workspace.status}`}
        description={
          workspace.status === "suspended"
            ? `Suspended ${formatDateTime(workspace.suspendedAt)}: ${workspace.suspensionReason ?? "no reason recorded"}.`
            : workspace.status === "active"
              ? "Active: its API keys work and its members can change it."
              : workspace.status === "deleted"
                ? "Deleted: gone for its members; only this page still shows it."
                : "Cancelled: read-only, and it cannot be suspended or reactivated here."
        }
      />
      <CardBody className="space-y-4">
        {done && (
          <Alert tone="success">
            <span data-testid="workspace-status-result">{done}</span>
          </Alert>
        )}
        {workspace.status === "active" && <SuspendForm workspace={workspace} onDone={setDone} />}
        {workspace.status === "suspended" && (
          <ReactivateButton workspace={workspace} onDone={setDone} />
        )}
      </CardBody>
    </Card>
  );
}

function SuspendForm({
  workspace,
  onDone,
}: {
  workspace: StatusTarget;
  onDone: (message: string) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [reason, setReason] = useState("");
  const [errors, setErrors] = useState<FormErrors<"reason">>(noErrors);
  const suspend = useMutation(
    trpc.workspaces.admin.suspend.mutationOptions({
      onSettled: () => queryClient.invalidateQueries(trpc.workspaces.admin.pathFilter()),
    }),
  );

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setErrors(noErrors);
    try {
      await suspend.mutateAsync({ workspaceId: workspace.id, reason });
      onDone(
        `${workspace.name} is suspended. Its API keys are refused from now on, its portal is ` +
          `read-only, and its billing members are told why.`,
      );
    } catch (error) {
      setErrors(formErrorsOf(error, ["reason"]));
    }
  }

  return (
    <form onSubmit={submit} noValidate className="max-w-xl space-y-4">
      {errors.form && <Alert tone="error">{errors.form}</Alert>}
      <InputField
        id={`${id}-reason`}
        label="Reason"
        hint="Shown to the workspace's members in the portal and in their notice."
        error={errors.fields.reason}
        value={reason}
        placeholder="Invoice INV-0042 unpaid for 30 days"
        onChange={(event) => setReason(event.target.value)}
      />
      <Button type="submit" variant="danger" pending={suspend.isPending}>
        Suspend workspace
      </Button>
    </form>
  );
}

function ReactivateButton({
  workspace,
  onDone,
}: {
  workspace: StatusTarget;
  onDone: (message: string) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string>();
  const reactivate = useMutation(
    trpc.workspaces.admin.reactivate.mutationOptions({
      onSettled: () => queryClient.invalidateQueries(trpc.workspaces.admin.pathFilter()),
    }),
  );

  return (
    <div className="space-y-3">
      {error && <Alert tone="error">{error}</Alert>}
      <Button
        pending={reactivate.isPending}
        onClick={async () => {
          setError(undefined);
          try {
            await reactivate.mutateAsync({ workspaceId: workspace.id });
            onDone(
              `${workspace.name} is active again: its API keys work and its portal takes changes.`,
            );
          } catch (failure) {
            setError(formErrorsOf(failure, []).form);
          }
        }}
      >
        Reactivate workspace
      </Button>
    </div>
  );
}
