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

import { WorkspaceSearch, type FoundWorkspace } from "./workspace-search";

/** Find a workspace, then suspend it with a reason or reactivate it. */
export function WorkspacesAdmin() {
  return (
    <WorkspaceSearch description="By name, address or a member's email. Then suspend or reactivate it below.">
      {(selected) =>
        selected ? (
          <StatusCard key={selected.id} workspace={selected} />
        ) : (
          <p className="text-sm text-slate-500">Select a workspace to suspend or reactivate it.</p>
        )
      }
    </WorkspaceSearch>
  );
}

function StatusCard({ workspace }: { workspace: FoundWorkspace }) {
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
  workspace: FoundWorkspace;
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
  workspace: FoundWorkspace;
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
