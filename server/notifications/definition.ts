import type { ReactElement } from "react";
import { z } from "zod";

import type { DbOrTx, Tx } from "@/server/db/client";
import type { EventEnvelope, EventName, ObjectRef } from "@/server/events/catalogue";

/**
 * What a notification type is: who receives it, on which channels, what data
 * it carries, and how that data reads in the app and in an email. The types
 * themselves are in ./types/.
 */
export type Channel = "email" | "in_app" | "webhook";

/** Security and billing notices cannot be turned off; the rest follow each user's preferences. */
export type Category = "security" | "billing" | "account" | "product" | "operations";
export const mandatoryCategories: readonly Category[] = ["security", "billing"];

/**
 * Who receives it: members of the workspace by role (owners ⊂ admins ⊂
 * billing ⊂ members, by the role ranking), the platform's admins, or one
 * email address given when it is sent (a sign-in link, an invitation).
 */
export type Audience = "owners" | "admins" | "billing" | "members" | "platform_admins" | "address";

export interface RenderContext {
  appUrl: string;
}

export interface WorkspaceRef {
  id: string;
  name: string;
  slug: string;
}

export interface TriggerContext<N extends EventName> {
  tx: Tx;
  event: EventEnvelope<N>;
  workspace: WorkspaceRef | null;
}

export interface Trigger<TData> {
  event: EventName;
  /** The notification's data from the event, or null when this event does not call for one. */
  data(context: TriggerContext<EventName>): Promise<TData | null> | TData | null;
}

/** Binds a trigger to its event so `data` sees that event's typed payload. */
export function triggeredBy<N extends EventName, TData>(
  event: N,
  data: (context: TriggerContext<N>) => Promise<TData | null> | TData | null,
): Trigger<TData> {
  return { event, data: data as Trigger<TData>["data"] };
}

export interface InAppSummary {
  title: string;
  body: string;
  /** A path in the portal, e.g. /w/acme. */
  link: string | null;
}

export interface EmailContent {
  subject: string;
  element: ReactElement;
}

export interface Attachment {
  filename: string;
  contentType: string;
  content: Buffer;
}

export interface AttachmentContext {
  db: DbOrTx;
}

export interface NotificationDefinition<
  TData extends Record<string, unknown> = Record<string, unknown>,
> {
  /** Stable public name, also the webhook event type: "credits.low_balance". */
  type: string;
  label: string;
  description: string;
  category: Category;
  audience: Audience;
  channels: readonly Channel[];
  schema: z.ZodType<TData>;
  /** Realistic data for previews and the rendering tests. */
  sample: TData;
  /**
   * Data fields that hold one-time secrets (sign-in and confirmation links).
   * They go into the email and nowhere else: every view of the notification
   * shows them redacted.
   */
  secretFields?: readonly (keyof TData & string)[];
  /** When set, a reaction to that event creates the notification. */
  trigger?: Trigger<TData>;
  /**
   * What it is about, for notifications sent without an event (a triggered one uses its event's
   * object).
   */
  object?: (data: TData) => ObjectRef;
  inApp(data: TData): InAppSummary;
  email(data: TData, context: RenderContext): EmailContent;
  /**
   * Files to attach to the email, made when it is sent (an invoice attaches its PDF), read
   * through the sending transaction.
   */
  attachments?: (data: TData, context: AttachmentContext) => Promise<Attachment[]>;
}

export function defineNotification<TData extends Record<string, unknown>>(
  definition: NotificationDefinition<TData>,
): NotificationDefinition<TData> {
  return definition;
}

export function isMandatory(definition: Pick<NotificationDefinition, "category">): boolean {
  return mandatoryCategories.includes(definition.category);
}

/** The data as views may show it: secret fields replaced. */
export function redactedData(
  definition: Pick<NotificationDefinition, "secretFields"> | undefined,
  data: Record<string, unknown>,
): Record<string, unknown> {
  const copy = { ...data };
  for (const field of definition?.secretFields ?? []) {
    if (field in copy) copy[field] = "[redacted: one-time link]";
  }

  return copy;
}

/** An ISO 4217 code, as data schemas accept it. */
export const currencyCode = z
  .string()
  .regex(/^[A-Z]{3}$/, "Use a three-letter ISO 4217 currency code");
