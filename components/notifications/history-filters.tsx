"use client";

import { useState, type FormEvent } from "react";

import { Button } from "@/components/ui/button";
import { Field, describedBy } from "@/components/ui/field";
import { Input, Select } from "@/components/ui/input";
import type { FormErrors } from "@/components/lib/form-errors";

import {
  channelLabel,
  deliveryChannels,
  deliveryStatuses,
  statusLabel,
  type DeliveryChannel,
  type DeliveryStatus,
} from "./labels";
import type { HistoryFilter } from "./use-history";

export type FilterField = "type" | "channel" | "status" | "recipient" | "workspaceId";
export const filterFields: readonly FilterField[] = [
  "type",
  "channel",
  "status",
  "recipient",
  "workspaceId",
];

/**
 * Type, channel and status apply as soon as they change; the free-text
 * fields apply on Enter or "Apply", so each keystroke does not refetch.
 */
export function HistoryFilters({
  idPrefix,
  value,
  onChange,
  types,
  withWorkspace = false,
  errors,
}: {
  idPrefix: string;
  value: HistoryFilter;
  onChange: (filter: HistoryFilter) => void;
  types: readonly { type: string; label: string }[];
  withWorkspace?: boolean;
  errors: FormErrors<FilterField>;
}) {
  const [recipient, setRecipient] = useState(value.recipient ?? "");
  const [workspaceId, setWorkspaceId] = useState(value.workspaceId ?? "");
  const id = (name: string) => `${idPrefix}-${name}`;
  const active = Object.values(value).some((entry) => entry !== undefined);

  function apply(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    onChange({
      ...value,
      recipient: recipient.trim() || undefined,
      workspaceId: withWorkspace ? workspaceId.trim() || undefined : undefined,
    });
  }

  function clear() {
    setRecipient("");
    setWorkspaceId("");
    onChange({});
  }

  return (
    <form
      onSubmit={apply}
      noValidate
      aria-label="Filter the deliveries"
      className="flex flex-wrap items-start gap-3"
    >
      <Field id={id("type")} label="Type" error={errors.fields.type} className="w-52">
        <Select
          id={id("type")}
          value={value.type ?? ""}
          invalid={Boolean(errors.fields.type)}
          aria-describedby={describedBy(id("type"), errors.fields.type)}
          onChange={(event) => onChange({ ...value, type: event.target.value || undefined })}
        >
          <option value="">All types</option>
          {types.map((entry) => (
            <option key={entry.type} value={entry.type}>
              {entry.label}
            </option>
          ))}
        </Select>
      </Field>
      <Field id={id("channel")} label="Channel" error={errors.fields.channel} className="w-36">
        <Select
          id={id("channel")}
          value={value.channel ?? ""}
          onChange={(event) =>
            onChange({
              ...value,
              channel: (event.target.value || undefined) as DeliveryChannel | undefined,
            })
          }
        >
          <option value="">All channels</option>
          {deliveryChannels.map((channel) => (
            <option key={channel} value={channel}>
              {channelLabel[channel]}
            </option>
          ))}
        </Select>
      </Field>
      <Field id={id("status")} label="Status" error={errors.fields.status} className="w-36">
        <Select
          id={id("status")}
          value={value.status ?? ""}
          onChange={(event) =>
            onChange({
              ...value,
              status: (event.target.value || undefined) as DeliveryStatus | undefined,
            })
          }
        >
          <option value="">All statuses</option>
          {deliveryStatuses.map((status) => (
            <option key={status} value={status}>
              {statusLabel[status]}
            </option>
          ))}
        </Select>
      </Field>
      <Field
        id={id("recipient")}
        label="Recipient"
        hint="An email address, a user id or an endpoint id"
        error={errors.fields.recipient}
        className="w-72"
      >
        <Input
          id={id("recipient")}
          value={recipient}
          placeholder="someone@example.com"
          invalid={Boolean(errors.fields.recipient)}
          aria-describedby={describedBy(id("recipient"), errors.fields.recipient, true)}
          onChange={(event) => setRecipient(event.target.value)}
        />
      </Field>
      {withWorkspace && (
        <Field
          id={id("workspace")}
          label="Workspace id"
          error={errors.fields.workspaceId}
          className="w-80"
        >
          <Input
            id={id("workspace")}
            value={workspaceId}
            placeholder="00000000-0000-0000-0000-000000000000"
            className="font-mono"
            invalid={Boolean(errors.fields.workspaceId)}
            aria-describedby={describedBy(id("workspace"), errors.fields.workspaceId)}
            onChange={(event) => setWorkspaceId(event.target.value)}
          />
        </Field>
      )}
      <div className="flex gap-2 pt-6.5">
        <Button type="submit" variant="secondary">
          Apply
        </Button>
        {active && (
          <Button variant="ghost" onClick={clear}>
            Clear filters
          </Button>
        )}
      </div>
    </form>
  );
}
