"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { cn } from "@/components/ui/cn";
import { CopyButton } from "@/components/ui/copy-button";
import { Field, describedBy } from "@/components/ui/field";
import { Input } from "@/components/ui/input";
import { QueryRows, Table, Td, Th } from "@/components/ui/table";
import { formatDateTime, humanize } from "@/components/lib/format";
import { appCodeOf, formErrorsOf, noErrors, type FormErrors } from "@/components/lib/form-errors";
import { isWorkspaceAdmin } from "@/components/lib/roles";
import type { RouterOutputs, Workspace } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";

import { NeedsAdmin } from "./needs-admin";
import { DisabledReason, readOnlyReason, tierFeatureReason } from "./read-only";
import { useWorkspace } from "./use-workspace";

type CreatedKey = RouterOutputs["workspaces"]["createApiKey"];
type Scope = CreatedKey["scopes"][number];

/** What each scope lets a key do; the server's list is in server/workspaces/api-keys.ts. */
const scopeChoices: { scope: Scope; label: string }[] = [
  { scope: "usage:write", label: "Consume credits and hold them (usage:write)" },
  { scope: "balance:read", label: "Read the balance (balance:read)" },
];

export function ApiKeysPanel({ slug }: { slug: string }) {
  const workspace = useWorkspace(slug);
  if (!workspace.data) return null;
  if (!isWorkspaceAdmin(workspace.data.role)) return <KeysNeedAdmin role={workspace.data.role} />;

  return <ApiKeys workspace={workspace.data} />;
}

function KeysNeedAdmin({ role }: { role: string }) {
  return (
    <NeedsAdmin title="API keys need the admin role">
      Only owners and admins of this workspace can see and create API keys. You are a{" "}
      {humanize(role).toLowerCase()}; ask an owner to create a key for you.
    </NeedsAdmin>
  );
}

function ApiKeys({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const scope = { workspaceId: workspace.workspaceId };
  const keys = useQuery(trpc.workspaces.apiKeys.queryOptions(scope));
  const [created, setCreated] = useState<CreatedKey & { name: string }>();
  const [revokeError, setRevokeError] = useState<string>();
  const revoke = useMutation(
    trpc.workspaces.revokeApiKey.mutationOptions({
      onSuccess: () => setRevokeError(undefined),
      onError: (error) => setRevokeError(error.message),
      onSettled: () => queryClient.invalidateQueries(trpc.workspaces.apiKeys.queryFilter(scope)),
    }),
  );

  if (keys.isError && appCodeOf(keys.error) === "forbidden") return <KeysNeedAdmin role="member" />;

  const rows = keys.data ?? [];

  return (
    <div className="space-y-6">
      <CreateKeyForm
        workspace={workspace}
        onCreated={(key) => {
          setCreated(key);
          void queryClient.invalidateQueries(trpc.workspaces.apiKeys.queryFilter(scope));
        }}
      />
      {created && (
        <NewKey created={created} workspace={workspace} onDismiss={() => setCreated(undefined)} />
      )}
      <Card>
        <CardHeader
          title="API keys"
          description={
            <>
              Keys authenticate your service to the metering API. Only a prefix is kept.{" "}
              <Link href="/docs/api" className="font-medium text-indigo-600 hover:underline">
                API reference
              </Link>
            </>
          }
        />
        {revokeError && (
          <div className="px-5 pt-4">
            <Alert tone="error">{revokeError}</Alert>
          </div>
        )}
        <Table label="API keys">
          <thead className="bg-slate-50/60">
            <tr>
              <Th>Name</Th>
              <Th>Key</Th>
              <Th>Scopes</Th>
              <Th>Created</Th>
              <Th>Last used</Th>
              <Th>Status</Th>
              <Th>
                <span className="sr-only">Actions</span>
              </Th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            <QueryRows
              query={keys}
              colSpan={7}
              subject="the keys"
              isEmpty={rows.length === 0}
              empty="No API keys yet. Create one above."
            />
            {rows.map((key) => (
              <tr key={key.id} className={key.revokedAt ? "text-slate-400" : undefined}>
                <Td className="font-medium text-slate-800">{key.name}</Td>
                <Td>
                  <code className="font-mono text-xs">{key.prefix}…</code>
                </Td>
                <Td className="text-xs whitespace-nowrap text-slate-500">
                  {key.scopes.join(", ")}
                </Td>
                <Td className="whitespace-nowrap text-slate-500">
                  {formatDateTime(key.createdAt)}
                </Td>
                <Td className="whitespace-nowrap text-slate-500">
                  {key.lastUsedAt ? formatDateTime(key.lastUsedAt) : "Never"}
                </Td>
                <Td>
                  {key.revokedAt ? (
                    <Badge tone="red">Revoked {formatDateTime(key.revokedAt)}</Badge>
                  ) : (
                    <Badge tone="green">Active</Badge>
                  )}
                </Td>
                <Td className="text-right">
                  {!key.revokedAt && (
                    <Button
                      variant="danger"
                      size="sm"
                      pending={revoke.isPending && revoke.variables?.apiKeyId === key.id}
                      disabled={revoke.isPending}
                      onClick={() => {
                        if (
                          window.confirm(
                            `Revoke "${key.name}"? Calls with it stop working at once.`,
                          )
                        ) {
                          revoke.mutate({ ...scope, apiKeyId: key.id });
                        }
                      }}
                    >
                      Revoke
                    </Button>
                  )}
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
      </Card>
    </div>
  );
}

function CreateKeyForm({
  workspace,
  onCreated,
}: {
  workspace: Workspace;
  onCreated: (key: CreatedKey & { name: string }) => void;
}) {
  const trpc = useTRPC();
  const create = useMutation(trpc.workspaces.createApiKey.mutationOptions());
  const unavailable =
    readOnlyReason(workspace, "Creating keys is") ??
    tierFeatureReason(workspace, "api_keys", "API keys are");
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<Scope[]>(scopeChoices.map((choice) => choice.scope));
  const [errors, setErrors] = useState<FormErrors<"name" | "scopes">>(noErrors);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setErrors(noErrors);
    try {
      const key = await create.mutateAsync({ workspaceId: workspace.workspaceId, name, scopes });
      onCreated({ ...key, name: name.trim() });
      setName("");
    } catch (error) {
      setErrors(formErrorsOf(error, ["name", "scopes"]));
    }
  }

  function toggle(scope: Scope, on: boolean) {
    setScopes((current) =>
      scopeChoices
        .map((choice) => choice.scope)
        .filter((s) => (s === scope ? on : current.includes(s))),
    );
  }

  return (
    <Card>
      <CardHeader
        title="Create an API key"
        description="Name it after the service that will use it."
      />
      <CardBody>
        <form onSubmit={submit} className="space-y-3" noValidate>
          {errors.form && <Alert tone="error">{errors.form}</Alert>}
          <Field id="api-key-name" label="Key name" error={errors.fields.name}>
            <div className="flex max-w-lg gap-2">
              <Input
                id="api-key-name"
                name="name"
                value={name}
                placeholder="production-backend"
                disabled={unavailable !== undefined}
                invalid={Boolean(errors.fields.name)}
                aria-describedby={
                  describedBy("api-key-name", errors.fields.name) ??
                  (unavailable ? "api-key-unavailable" : undefined)
                }
                onChange={(event) => setName(event.target.value)}
              />
              <Button type="submit" pending={create.isPending} disabled={unavailable !== undefined}>
                Create key
              </Button>
            </div>
          </Field>
          <DisabledReason id="api-key-unavailable" reason={unavailable} />
          <fieldset aria-describedby={errors.fields.scopes ? "api-key-scopes-error" : undefined}>
            <legend className="text-sm font-medium text-slate-700">What the key may do</legend>
            <div className="mt-1.5 flex flex-wrap gap-x-6 gap-y-1">
              {scopeChoices.map((choice) => (
                <label
                  key={choice.scope}
                  className="flex items-center gap-2 text-sm text-slate-700"
                >
                  <input
                    type="checkbox"
                    name="scopes"
                    value={choice.scope}
                    className="size-4 rounded border-slate-300 text-indigo-600"
                    checked={scopes.includes(choice.scope)}
                    onChange={(event) => toggle(choice.scope, event.target.checked)}
                  />
                  {choice.label}
                </label>
              ))}
            </div>
            {errors.fields.scopes && (
              <p id="api-key-scopes-error" role="alert" className="mt-1 text-sm text-red-600">
                {errors.fields.scopes}
              </p>
            )}
          </fieldset>
        </form>
      </CardBody>
    </Card>
  );
}

function NewKey({
  created,
  workspace,
  onDismiss,
}: {
  created: CreatedKey & { name: string };
  workspace: Workspace;
  onDismiss: () => void;
}) {
  const feature = workspace.tier.priceTable[0]?.featureCode ?? "summarize";
  const [idempotencyKey] = useState(() => crypto.randomUUID());
  const consumes = created.scopes.includes("usage:write");
  const curl = consumes
    ? [
        `curl -X POST ${window.location.origin}/api/v1/usage \\`,
        `  -H "Authorization: Bearer ${created.key}" \\`,
        `  -H "Idempotency-Key: ${idempotencyKey}" \\`,
        `  -H "Content-Type: application/json" \\`,
        `  -d '{"feature": "${feature}", "inputBytes": 2048}'`,
      ].join("\n")
    : [
        `curl ${window.location.origin}/api/v1/balance \\`,
        `  -H "Authorization: Bearer ${created.key}"`,
      ].join("\n");

  return (
    <Card highlight>
      <CardHeader
        title={`Key "${created.name}" created`}
        description="Copy it now: this is the only time the full key is shown."
        action={
          <Button variant="ghost" size="sm" onClick={onDismiss}>
            Done
          </Button>
        }
      />
      <CardBody className="space-y-4">
        <div className="flex flex-wrap items-center gap-2">
          <code
            data-testid="new-api-key"
            className={cn(
              "min-w-0 flex-1 rounded-md bg-slate-50 px-3 py-2 font-mono text-sm break-all",
              "text-slate-800 ring-1 ring-slate-200",
            )}
          >
            {created.key}
          </code>
          <CopyButton value={created.key} label="Copy key" />
        </div>
        <div>
          <div className="mb-1.5 flex items-center justify-between">
            <p className="text-sm font-medium text-slate-700">
              {consumes
                ? "Try it: consume credits from your terminal"
                : "Try it: read the balance from your terminal"}
            </p>
            <CopyButton value={curl} label="Copy command" />
          </div>
          <pre
            data-testid="curl-example"
            className={cn(
              "overflow-x-auto rounded-md bg-slate-900 px-4 py-3 font-mono text-xs leading-relaxed",
              "text-slate-100",
            )}
          >
            {curl}
          </pre>
          {consumes && (
            <p className="mt-1.5 text-xs text-slate-500">
              Send a new Idempotency-Key for each call. Running this exact command again returns the
              stored answer and charges nothing.
            </p>
          )}
        </div>
      </CardBody>
    </Card>
  );
}
