"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { cn } from "@/components/ui/cn";
import { Field, describedBy } from "@/components/ui/field";
import { Input } from "@/components/ui/input";
import { humanize } from "@/components/lib/format";
import { formErrorsOf, noErrors, type FormErrors } from "@/components/lib/form-errors";
import { isWorkspaceAdmin } from "@/components/lib/roles";
import { normalizeSlugInput } from "@/components/lib/slug";
import type { Workspace } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";

import { DangerZoneCard } from "./danger-zone";
import { DisabledReason, readOnlyReason } from "./read-only";
import { useWorkspace } from "./use-workspace";

export function SettingsPanel({ slug }: { slug: string }) {
  const workspace = useWorkspace(slug);
  if (!workspace.data) return null;

  return (
    <div className="space-y-6">
      <RenameForm key={workspace.data.slug} workspace={workspace.data} />
      <DangerZoneCard workspace={workspace.data} />
    </div>
  );
}

function RenameForm({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const rename = useMutation(trpc.workspaces.rename.mutationOptions());
  const admin = isWorkspaceAdmin(workspace.role);
  const unavailable = admin
    ? readOnlyReason(workspace, "Renaming is")
    : `Only owners and admins change these; you are ${humanize(workspace.role).toLowerCase()}.`;
  const [name, setName] = useState(workspace.name);
  const [slug, setSlug] = useState(workspace.slug);
  const [errors, setErrors] = useState<FormErrors<"name" | "slug">>(noErrors);
  const [saved, setSaved] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setErrors(noErrors);
    setSaved(false);
    try {
      const result = await rename.mutateAsync({ workspaceId: workspace.workspaceId, name, slug });
      await queryClient.invalidateQueries(trpc.workspaces.list.queryFilter());
      if (result.slug !== workspace.slug) {
        router.replace(`/w/${result.slug}/settings`);
      } else {
        await queryClient.invalidateQueries(trpc.workspaces.bySlug.queryFilter());
        setSaved(true);
      }
    } catch (error) {
      setErrors(formErrorsOf(error, ["name", "slug"]));
    }
  }

  const disabled = unavailable !== undefined;

  return (
    <Card>
      <CardHeader
        title="General"
        description="The workspace's name, and its address in the portal."
      />
      <CardBody>
        <form onSubmit={submit} className="max-w-lg space-y-4" noValidate>
          {errors.form && <Alert tone="error">{errors.form}</Alert>}
          {saved && <Alert tone="success">Saved.</Alert>}
          <Field id="settings-name" label="Name" error={errors.fields.name}>
            <Input
              id="settings-name"
              name="name"
              value={name}
              disabled={disabled}
              invalid={Boolean(errors.fields.name)}
              aria-describedby={describedBy("settings-name", errors.fields.name)}
              onChange={(event) => setName(event.target.value)}
            />
          </Field>
          <Field
            id="settings-slug"
            label="Address"
            hint="Lowercase letters, digits and hyphens; 3 to 48 characters. The old address stops working."
            error={errors.fields.slug}
          >
            <div
              className={cn(
                "flex h-10 items-center rounded-md bg-white shadow-sm ring-1 ring-inset",
                "focus-within:ring-2 focus-within:ring-indigo-600",
                errors.fields.slug ? "ring-red-400" : "ring-slate-300",
                disabled && "opacity-60",
              )}
            >
              <span className="pl-3 text-sm text-slate-500 select-none">/w/</span>
              <input
                id="settings-slug"
                name="slug"
                value={slug}
                spellCheck={false}
                disabled={disabled}
                aria-invalid={Boolean(errors.fields.slug) || undefined}
                aria-describedby={describedBy("settings-slug", errors.fields.slug, true)}
                className="h-full min-w-0 flex-1 border-0 bg-transparent pr-3 pl-0.5 text-sm focus:outline-none"
                onChange={(event) => setSlug(normalizeSlugInput(event.target.value))}
              />
            </div>
          </Field>
          <DisabledReason reason={unavailable} />
          <Button type="submit" pending={rename.isPending} disabled={disabled}>
            Save
          </Button>
        </form>
      </CardBody>
    </Card>
  );
}
