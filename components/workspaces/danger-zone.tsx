"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { InputField } from "@/components/ui/field";
import { formatDateTime } from "@/components/lib/format";
import { formErrorsOf, noErrors, type FormErrors } from "@/components/lib/form-errors";
import type { Workspace } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";

import { NeedsAdmin } from "./needs-admin";

/** /w/[slug]/settings: cancelling (at the period's end or now), withdrawing it, deleting. */
/** Cancel and delete, for the owner; the settings page shows it below the general settings. */
export function DangerZoneCard({ workspace }: { workspace: Workspace }) {
  if (workspace.role !== "owner") {
    return (
      <NeedsAdmin title="Only owners cancel or delete a workspace">
        Ask an owner of {workspace.name} if it should be cancelled or deleted.
      </NeedsAdmin>
    );
  }

  return <DangerZone workspace={workspace} />;
}

function DangerZone({ workspace }: { workspace: Workspace }) {
  return (
    <Card className="ring-red-200">
      <CardHeader
        title="Danger zone"
        description="Cancelling makes the workspace read-only; deleting purges its data."
      />
      <CardBody className="space-y-6">
        {workspace.status === "cancelled" ? (
          <DeleteForm workspace={workspace} />
        ) : workspace.cancelAt ? (
          <Withdraw workspace={workspace} />
        ) : (
          <CancelForm workspace={workspace} />
        )}
      </CardBody>
    </Card>
  );
}

function CancelForm({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const cancel = useMutation(
    trpc.workspaces.cancel.mutationOptions({ onSettled: () => queryClient.invalidateQueries() }),
  );
  const [reason, setReason] = useState("");
  const [errors, setErrors] = useState<FormErrors<"reason" | "timing">>(noErrors);
  const suspended = workspace.status === "suspended";

  async function submit(timing: "period_end" | "now") {
    setErrors(noErrors);
    if (
      timing === "now" &&
      !window.confirm(
        `Cancel ${workspace.name} now? It becomes read-only at once and its API keys are refused.`,
      )
    ) {
      return;
    }
    try {
      await cancel.mutateAsync({ workspaceId: workspace.workspaceId, timing, reason });
    } catch (error) {
      setErrors(formErrorsOf(error, ["reason", "timing"]));
    }
  }

  return (
    <form
      className="space-y-3"
      noValidate
      onSubmit={(event: FormEvent) => {
        event.preventDefault();
        void submit(suspended ? "now" : "period_end");
      }}
    >
      <h3 className="text-sm font-semibold text-slate-900">Cancel the workspace</h3>
      <p className="text-sm text-slate-600">
        {suspended
          ? "It is suspended, so it can only be cancelled now; that also ends the collection of what it owes."
          : "At the end of the period (the default), it stays usable until then and you can change your mind. Now, it becomes read-only at once and the unused part of the base fee is credited to your next invoice."}{" "}
        Its data is deleted 30 days after cancellation.
      </p>
      {errors.form && <Alert tone="error">{errors.form}</Alert>}
      <InputField
        id="cancel-reason"
        label="Why are you leaving? (optional)"
        value={reason}
        error={errors.fields.reason}
        onChange={(event) => setReason(event.target.value)}
        fieldClassName="max-w-lg"
      />
      {errors.fields.timing && <p className="text-sm text-red-600">{errors.fields.timing}</p>}
      <div className="flex flex-wrap gap-2">
        {!suspended && (
          <Button type="submit" variant="danger" pending={cancel.isPending}>
            Cancel at the period&apos;s end
          </Button>
        )}
        <Button
          type="button"
          variant="danger"
          pending={cancel.isPending}
          onClick={() => void submit("now")}
          data-testid="cancel-now"
        >
          Cancel now
        </Button>
      </div>
    </form>
  );
}

function Withdraw({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string>();
  const withdraw = useMutation(
    trpc.workspaces.withdrawCancellation.mutationOptions({
      onError: (caught) => setError(caught.message),
      onSettled: () => queryClient.invalidateQueries(),
    }),
  );

  return (
    <div className="space-y-3">
      <h3 className="text-sm font-semibold text-slate-900">Cancellation scheduled</h3>
      <p className="text-sm text-slate-600">
        {workspace.name} is cancelled on {formatDateTime(workspace.cancelAt)}. Until then it works
        as usual.
      </p>
      {error && <Alert tone="error">{error}</Alert>}
      <Button
        variant="secondary"
        pending={withdraw.isPending}
        onClick={() => withdraw.mutate({ workspaceId: workspace.workspaceId })}
      >
        Keep the workspace
      </Button>
    </div>
  );
}

function DeleteForm({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const remove = useMutation(trpc.workspaces.delete.mutationOptions());
  const [confirmSlug, setConfirmSlug] = useState("");
  const [errors, setErrors] = useState<FormErrors<"confirmSlug">>(noErrors);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setErrors(noErrors);
    try {
      await remove.mutateAsync({ workspaceId: workspace.workspaceId, confirmSlug });
      await queryClient.invalidateQueries(trpc.workspaces.list.queryFilter());
      router.push("/");
    } catch (error) {
      setErrors(formErrorsOf(error, ["confirmSlug"]));
    }
  }

  return (
    <form className="space-y-3" onSubmit={submit} noValidate>
      <h3 className="text-sm font-semibold text-slate-900">Delete the workspace</h3>
      <p className="text-sm text-slate-600">
        This cannot be undone. Members, API keys, credits, usage, notifications and webhooks are
        purged now instead of on {formatDateTime(workspace.purgeAfter)}; invoices, payments, billing
        adjustments and the audit trail are kept as legal records.
      </p>
      {errors.form && <Alert tone="error">{errors.form}</Alert>}
      <InputField
        id="confirm-slug"
        label={
          <>
            Type <code className="font-mono">{workspace.slug}</code> to confirm
          </>
        }
        value={confirmSlug}
        autoComplete="off"
        error={errors.fields.confirmSlug}
        onChange={(event) => setConfirmSlug(event.target.value)}
        fieldClassName="max-w-lg"
      />
      <Button type="submit" variant="danger" pending={remove.isPending}>
        Delete {workspace.name}
      </Button>
    </form>
  );
}
