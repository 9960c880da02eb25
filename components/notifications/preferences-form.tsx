"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { Card, CardHeader } from "@/components/ui/card";
import { cn } from "@/components/ui/cn";
import { Switch } from "@/components/ui/switch";
import { formErrorsOf } from "@/components/lib/form-errors";
import type { RouterOutputs } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";

type Preference = RouterOutputs["notifications"]["preferences"][number];
type Category = Preference["category"];
type Channel = Preference["channels"][number]["channel"];

const channels: readonly { channel: Channel; label: string }[] = [
  { channel: "email", label: "Email" },
  { channel: "in_app", label: "In-app" },
];

const categories: readonly { category: Category; title: string; description: string }[] = [
  {
    category: "security",
    title: "Security",
    description: "Access to your account and workspaces.",
  },
  {
    category: "billing",
    title: "Billing",
    description: "Credits, invoices, payments and the standing of your workspaces.",
  },
  { category: "account", title: "Account", description: "Your workspaces and their tiers." },
  {
    category: "product",
    title: "Product",
    description: "Quotas, promotions and credits that expire.",
  },
  { category: "operations", title: "Operations", description: "The health of the platform." },
];

const MANDATORY_NOTE = "Security and billing notices are always sent";

function key(type: string, channel: Channel): string {
  return `${type}:${channel}`;
}

export function NotificationPreferences() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const preferences = useQuery(trpc.notifications.preferences.queryOptions());
  const [errors, setErrors] = useState<Record<string, string>>({});
  const queryKey = trpc.notifications.preferences.queryKey();
  const save = useMutation(
    trpc.notifications.setPreference.mutationOptions({
      // Flip the switch at once; the server's answer confirms it or puts it back.
      onMutate: async (input) => {
        await queryClient.cancelQueries({ queryKey });
        const previous = queryClient.getQueryData(queryKey);
        queryClient.setQueryData(queryKey, (list) =>
          list?.map((entry) =>
            entry.type !== input.type
              ? entry
              : {
                  ...entry,
                  channels: entry.channels.map((option) =>
                    option.channel === input.channel
                      ? { ...option, enabled: input.enabled }
                      : option,
                  ),
                },
          ),
        );
        setErrors(({ [key(input.type, input.channel)]: _, ...rest }) => rest);

        return { previous };
      },
      onError: (error, input, context) => {
        if (context?.previous) queryClient.setQueryData(queryKey, context.previous);
        const { fields, form } = formErrorsOf(error, ["enabled", "type", "channel"]);
        const message = fields.enabled ?? fields.type ?? fields.channel ?? form ?? error.message;
        setErrors((all) => ({ ...all, [key(input.type, input.channel)]: message }));
      },
      onSettled: () => queryClient.invalidateQueries({ queryKey }),
    }),
  );

  if (preferences.isPending) {
    return (
      <div aria-busy="true" className="space-y-4">
        <div className="h-40 animate-pulse rounded-lg bg-slate-200/70" />
        <div className="h-40 animate-pulse rounded-lg bg-slate-200/70" />
      </div>
    );
  }
  if (preferences.isError) {
    return (
      <p className="text-sm text-red-600">
        Could not load your settings: {preferences.error.message}
      </p>
    );
  }

  // A type sent only to webhook endpoints has nothing to choose here.
  const sendable = preferences.data.filter((entry) => entry.channels.length > 0);
  const pendingKey =
    save.isPending && save.variables ? key(save.variables.type, save.variables.channel) : undefined;

  return (
    <div className="space-y-6">
      {categories.map(({ category, title, description }) => {
        const entries = sendable.filter((entry) => entry.category === category);
        if (entries.length === 0) return null;
        const mandatory = entries.some((entry) => entry.mandatory);
        const noteId = `category-${category}-note`;
        return (
          <Card key={category}>
            <CardHeader
              title={title}
              description={
                <>
                  {description}
                  {mandatory && (
                    <span id={noteId} className="mt-1 flex items-center gap-1.5 text-slate-600">
                      <LockIcon />
                      {MANDATORY_NOTE}.
                    </span>
                  )}
                </>
              }
            />
            <table
              aria-label={`${title} notifications`}
              className="min-w-full divide-y divide-slate-100 text-sm"
            >
              <thead className="bg-slate-50/60">
                <tr>
                  <th scope="col" className="px-5 py-2.5 text-left">
                    <span className="sr-only">Notification</span>
                  </th>
                  {channels.map((option) => (
                    <th
                      key={option.channel}
                      scope="col"
                      className={cn(
                        "w-20 px-3 py-2.5 text-center text-xs font-medium tracking-wide sm:w-28",
                        "sm:px-5",
                        "text-slate-500 uppercase",
                      )}
                    >
                      {option.label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {entries.map((entry) => {
                  const labelId = `preference-${entry.type}`;
                  const rowErrors = channels
                    .map((option) => errors[key(entry.type, option.channel)])
                    .filter(Boolean);
                  return (
                    <tr key={entry.type} data-testid="preference-row">
                      <td className="px-5 py-3.5 align-top">
                        <p id={labelId} className="font-medium text-slate-900">
                          {entry.label}
                        </p>
                        <p className="mt-0.5 text-slate-500">{entry.description}</p>
                        {rowErrors.map((message) => (
                          <p key={message} role="alert" className="mt-1 text-sm text-red-600">
                            {message}
                          </p>
                        ))}
                      </td>
                      {channels.map((option) => {
                        const setting = entry.channels.find((c) => c.channel === option.channel);
                        return (
                          <td
                            key={option.channel}
                            className="px-3 py-3.5 text-center align-top sm:px-5"
                          >
                            {setting ? (
                              <Switch
                                checked={setting.enabled}
                                disabled={entry.mandatory}
                                pending={pendingKey === key(entry.type, option.channel)}
                                label={`${option.label}: ${entry.label}`}
                                describedBy={entry.mandatory ? noteId : undefined}
                                onChange={(enabled) =>
                                  save.mutate({
                                    type: entry.type,
                                    channel: option.channel,
                                    enabled,
                                  })
                                }
                              />
                            ) : (
                              <span
                                className="text-slate-400"
                                title={`Not sent by ${option.label.toLowerCase()}`}
                              >
                                —
                                <span className="sr-only">
                                  Not sent by {option.label.toLowerCase()}
                                </span>
                              </span>
                            )}
                          </td>
                        );
                      })}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </Card>
        );
      })}
    </div>
  );
}

function LockIcon() {
  return (
    <svg viewBox="0 0 20 20" fill="none" aria-hidden="true" className="size-3.5 shrink-0">
      <rect x="4" y="9" width="12" height="8" rx="1.5" stroke="currentColor" strokeWidth="1.6" />
      <path d="M7 9V6.5a3 3 0 0 1 6 0V9" stroke="currentColor" strokeWidth="1.6" />
    </svg>
  );
}
