"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardBody } from "@/components/ui/card";
import { cn } from "@/components/ui/cn";
import { Field, describedBy } from "@/components/ui/field";
import { Input } from "@/components/ui/input";
import { formatCredits } from "@/components/lib/format";
import { formatMoney } from "@/server/money";
import { formErrorsOf, noErrors, type FormErrors } from "@/components/lib/form-errors";
import { normalizeSlugInput, suggestSlug } from "@/components/lib/slug";
import { useTRPC } from "@/components/lib/trpc";

const fields = ["name", "slug", "tierCode"] as const;
type WorkspaceField = (typeof fields)[number];

export function CreateWorkspaceForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const tiers = useQuery(trpc.tiers.offered.queryOptions());
  const create = useMutation(trpc.workspaces.create.mutationOptions());
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const [slugEdited, setSlugEdited] = useState(false);
  const [tierCode, setTierCode] = useState("free");
  const [errors, setErrors] = useState<FormErrors<WorkspaceField>>(noErrors);
  const [navigating, setNavigating] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setErrors(noErrors);
    try {
      const created = await create.mutateAsync({ name, slug, tierCode });
      setNavigating(true);
      await queryClient.invalidateQueries(trpc.workspaces.list.queryFilter());
      router.push(`/w/${created.slug}`);
    } catch (error) {
      setErrors(formErrorsOf(error, fields));
    }
  }

  return (
    <Card>
      <CardBody className="px-6 py-6">
        <form onSubmit={submit} className="space-y-5" noValidate>
          {errors.form && <Alert tone="error">{errors.form}</Alert>}
          <Field id="workspace-name" label="Workspace name" error={errors.fields.name}>
            <Input
              id="workspace-name"
              name="name"
              value={name}
              autoComplete="organization"
              placeholder="Acme Labs"
              invalid={Boolean(errors.fields.name)}
              aria-describedby={describedBy("workspace-name", errors.fields.name)}
              onChange={(event) => {
                setName(event.target.value);
                if (!slugEdited) setSlug(suggestSlug(event.target.value));
              }}
            />
          </Field>
          <Field
            id="workspace-slug"
            label="Address"
            hint="Lowercase letters, digits and hyphens; 3 to 48 characters."
            error={errors.fields.slug}
          >
            <div
              className={cn(
                "flex h-10 items-center rounded-md bg-white shadow-sm ring-1 ring-inset",
                "focus-within:ring-2 focus-within:ring-indigo-600",
                errors.fields.slug ? "ring-red-400" : "ring-slate-300",
              )}
            >
              <span className="pl-3 text-sm text-slate-500 select-none">/w/</span>
              <input
                id="workspace-slug"
                name="slug"
                value={slug}
                placeholder="acme-labs"
                spellCheck={false}
                aria-invalid={Boolean(errors.fields.slug) || undefined}
                aria-describedby={describedBy("workspace-slug", errors.fields.slug, true)}
                className={cn(
                  "h-full min-w-0 flex-1 border-0 bg-transparent pr-3 pl-0.5 text-sm",
                  "focus:outline-none",
                )}
                onChange={(event) => {
                  setSlugEdited(true);
                  setSlug(normalizeSlugInput(event.target.value));
                }}
              />
            </div>
          </Field>
          <fieldset>
            <legend className="text-sm font-medium text-slate-700">Tier</legend>
            {tiers.isPending && <p className="mt-2 text-sm text-slate-500">Loading tiers…</p>}
            {tiers.isError && (
              <p className="mt-2 text-sm text-red-600">
                Could not load the tiers: {tiers.error.message}
              </p>
            )}
            <div className="mt-2 grid gap-3 sm:grid-cols-3">
              {latestTiers(tiers.data ?? []).map((tier) => {
                const selected = tier.code === tierCode;
                return (
                  <label
                    key={`${tier.code}-${tier.version}`}
                    className={cn(
                      "relative flex flex-col rounded-lg p-4 ring-1 ring-inset",
                      "has-focus-visible:outline-2 has-focus-visible:outline-offset-2",
                      "has-focus-visible:outline-indigo-600",
                      tier.selfServe ? "cursor-pointer" : "cursor-not-allowed opacity-60",
                      selected
                        ? "bg-indigo-50/60 ring-2 ring-indigo-600"
                        : "bg-white ring-slate-200",
                    )}
                  >
                    <input
                      type="radio"
                      name="tierCode"
                      value={tier.code}
                      checked={selected}
                      disabled={!tier.selfServe}
                      onChange={() => setTierCode(tier.code)}
                      className="sr-only"
                    />
                    <span className="text-sm font-semibold text-slate-900">{tier.name}</span>
                    <span className="mt-1 text-sm text-slate-600 tabular-nums">
                      {tier.monthlyPriceMinor === 0
                        ? "Free"
                        : `${formatMoney(tier.monthlyPriceMinor, tier.currency)}/mo`}
                    </span>
                    <span className="mt-2 text-xs text-slate-500 tabular-nums">
                      {formatCredits(tier.monthlyCredits)} credits a month
                      <br />+ {formatCredits(tier.signupBonusCredits)} signup bonus
                    </span>
                    {!tier.selfServe && (
                      <span className="mt-2 text-xs text-slate-500">
                        Paid: start on a free tier, save a card, then upgrade
                      </span>
                    )}
                  </label>
                );
              })}
            </div>
            {errors.fields.tierCode && (
              <p className="mt-1.5 text-sm text-red-600" role="alert">
                {errors.fields.tierCode}
              </p>
            )}
          </fieldset>
          <div className="flex justify-end">
            <Button type="submit" pending={create.isPending || navigating} pendingLabel="Creating…">
              Create workspace
            </Button>
          </div>
        </form>
      </CardBody>
    </Card>
  );
}

/** Admins may publish new versions of a tier; a new workspace always gets the latest. */
function latestTiers<T extends { code: string; version: number }>(tiers: readonly T[]): T[] {
  const byCode = new Map<string, T>();
  for (const tier of tiers) {
    const seen = byCode.get(tier.code);
    if (!seen || tier.version > seen.version) byCode.set(tier.code, tier);
  }

  return [...byCode.values()];
}
