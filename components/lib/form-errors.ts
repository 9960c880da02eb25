import { TRPCClientError } from "@trpc/client";

import type { AppRouter } from "@/server/trpc/router";

export interface FormErrors<Field extends string> {
  /** The stable server code (invalid_request, conflict, ...), when the server answered. */
  code?: string;
  /** Messages shown beside the field they concern. */
  fields: Partial<Record<Field, string>>;
  /** A message for the whole form: errors that concern no field of this form. */
  form?: string;
}

export const noErrors = { fields: {} } as const;

export function appCodeOf(error: unknown): string | undefined {
  return error instanceof TRPCClientError
    ? (error as TRPCClientError<AppRouter>).data?.appCode
    : undefined;
}

/**
 * Splits a tRPC error into per-field messages for the fields this form has
 * and one form-level message for the rest, so nothing the server said is lost.
 */
export function formErrorsOf<Field extends string>(
  error: unknown,
  fields: readonly Field[],
): FormErrors<Field> {
  if (!(error instanceof TRPCClientError)) {
    return { fields: {}, form: "Could not reach the server; check your connection and try again" };
  }
  const data = (error as TRPCClientError<AppRouter>).data;
  const result: FormErrors<Field> = { code: data?.appCode, fields: {} };
  const known = new Set<string>(fields);
  const leftover: string[] = [];
  const fieldErrors = data?.fieldErrors ?? (data?.field ? { [data.field]: error.message } : {});
  for (const [field, message] of Object.entries(fieldErrors)) {
    if (known.has(field)) result.fields[field as Field] = message;
    else leftover.push(message);
  }
  if (Object.keys(result.fields).length === 0 && leftover.length === 0)
    leftover.push(error.message);
  if (leftover.length > 0) result.form = leftover.join(" ");

  return result;
}
