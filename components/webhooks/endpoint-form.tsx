"use client";

import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { Field, describedBy } from "@/components/ui/field";
import { Input } from "@/components/ui/input";
import { formErrorsOf, noErrors, type FormErrors } from "@/components/lib/form-errors";
import { useTRPC } from "@/components/lib/trpc";

export const ALL_EVENTS = "*";

export interface EventType {
  type: string;
  label: string;
  description: string;
}

export interface EndpointValues {
  url: string;
  description: string;
  eventTypes: string[];
}

type FormField = "url" | "description" | "eventTypes";
const fields: readonly FormField[] = ["url", "description", "eventTypes"];

/** Creates an endpoint, or edits one when `endpointId` is given. */
export function EndpointForm({
  workspaceId,
  endpointId,
  initial,
  eventTypes,
  onDone,
  onCancel,
}: {
  workspaceId: string;
  endpointId?: string;
  initial?: EndpointValues;
  eventTypes: readonly EventType[];
  onDone: () => void;
  onCancel?: () => void;
}) {
  const trpc = useTRPC();
  const create = useMutation(trpc.webhooks.create.mutationOptions());
  const update = useMutation(trpc.webhooks.update.mutationOptions());
  const [url, setUrl] = useState(initial?.url ?? "");
  const [description, setDescription] = useState(initial?.description ?? "");
  const [all, setAll] = useState(initial ? initial.eventTypes.includes(ALL_EVENTS) : true);
  const [chosen, setChosen] = useState<Set<string>>(
    () => new Set(initial?.eventTypes.filter((type) => type !== ALL_EVENTS)),
  );
  const [errors, setErrors] = useState<FormErrors<FormField>>(noErrors);
  const prefix = endpointId ? `endpoint-${endpointId}` : "new-endpoint";
  const id = (name: string) => `${prefix}-${name}`;

  function toggle(type: string, on: boolean) {
    setChosen((current) => {
      const next = new Set(current);
      if (on) next.add(type);
      else next.delete(type);
      return next;
    });
  }

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setErrors(noErrors);
    const values = {
      workspaceId,
      url: url.trim(),
      description: description.trim(),
      eventTypes: all ? [ALL_EVENTS] : [...chosen],
    };
    try {
      if (endpointId) await update.mutateAsync({ ...values, endpointId });
      else await create.mutateAsync(values);
      onDone();
    } catch (error) {
      setErrors(formErrorsOf(error, fields));
    }
  }

  const typesError = errors.fields.eventTypes;

  return (
    <form onSubmit={submit} noValidate className="space-y-4">
      {errors.form && <Alert tone="error">{errors.form}</Alert>}
      <div className="grid gap-4 md:grid-cols-2">
        <Field
          id={id("url")}
          label="Endpoint URL"
          hint="Tally POSTs JSON here. No credentials in the URL: requests are signed instead."
          error={errors.fields.url}
        >
          <Input
            id={id("url")}
            type="url"
            inputMode="url"
            value={url}
            placeholder="https://example.com/webhooks/tally"
            invalid={Boolean(errors.fields.url)}
            aria-describedby={describedBy(id("url"), errors.fields.url, true)}
            onChange={(event) => setUrl(event.target.value)}
          />
        </Field>
        <Field
          id={id("description")}
          label="Description (optional)"
          error={errors.fields.description}
        >
          <Input
            id={id("description")}
            value={description}
            maxLength={200}
            placeholder="Billing service, production"
            invalid={Boolean(errors.fields.description)}
            aria-describedby={describedBy(id("description"), errors.fields.description)}
            onChange={(event) => setDescription(event.target.value)}
          />
        </Field>
      </div>
      <fieldset aria-describedby={typesError ? id("types-error") : undefined}>
        <legend className="text-sm font-medium text-slate-700">Events to send</legend>
        <label
          className={cn(
            "mt-2 flex items-start gap-3 rounded-md px-3 py-2.5 ring-1 ring-inset",
            all ? "bg-indigo-50/60 ring-indigo-200" : "ring-slate-200",
          )}
        >
          <input
            type="checkbox"
            className="mt-0.5 size-4 rounded border-slate-300 text-indigo-600"
            checked={all}
            onChange={(event) => setAll(event.target.checked)}
          />
          <span>
            <span className="block text-sm font-medium text-slate-900">All events</span>
            <span className="block text-xs text-slate-500">
              Every type below, and types added to Tally later.
            </span>
          </span>
        </label>
        <div className="mt-2 grid gap-x-4 gap-y-1 sm:grid-cols-2 lg:grid-cols-3">
          {eventTypes.map((entry) => (
            <label
              key={entry.type}
              className={cn(
                "flex items-start gap-3 rounded-md px-3 py-2",
                all ? "cursor-not-allowed opacity-60" : "hover:bg-slate-50",
              )}
            >
              <input
                type="checkbox"
                className="mt-0.5 size-4 rounded border-slate-300 text-indigo-600"
                checked={all || chosen.has(entry.type)}
                disabled={all}
                onChange={(event) => toggle(entry.type, event.target.checked)}
              />
              <span className="min-w-0">
                <span className="block text-sm text-slate-900">{entry.label}</span>
                <span className="block font-mono text-[11px] text-slate-500">{entry.type}</span>
                <span className="mt-0.5 block text-xs text-slate-500">{entry.description}</span>
              </span>
            </label>
          ))}
        </div>
        {typesError && (
          <p id={id("types-error")} role="alert" className="mt-1.5 text-sm text-red-600">
            {typesError}
          </p>
        )}
      </fieldset>
      <div className="flex gap-2">
        <Button type="submit" pending={create.isPending || update.isPending}>
          {endpointId ? "Save changes" : "Add endpoint"}
        </Button>
        {onCancel && (
          <Button variant="ghost" onClick={onCancel}>
            Cancel
          </Button>
        )}
      </div>
    </form>
  );
}
