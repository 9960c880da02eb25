import type { InputHTMLAttributes, ReactNode } from "react";

import { humanize } from "@/components/lib/format";

import { cn } from "./cn";
import { Input, Select } from "./input";

/**
 * A label, its control, a hint and the error the server or the form gave for
 * it. The control must carry `id={id}`; it gets aria-describedby through
 * `describedBy(id, ...)` so screen readers read the error with the field.
 */
export function Field({
  id,
  label,
  hint,
  error,
  children,
  className,
}: {
  id: string;
  label: ReactNode;
  hint?: ReactNode;
  error?: string;
  children: ReactNode;
  className?: string;
}) {
  return (
    <div className={cn("space-y-1.5", className)}>
      <label htmlFor={id} className="block text-sm font-medium text-slate-700">
        {label}
      </label>
      {children}
      {hint && !error && (
        <p id={`${id}-hint`} className="text-xs text-slate-500">
          {hint}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} className="text-sm text-red-600" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

export function describedBy(id: string, error?: string, hint?: boolean): string | undefined {
  if (error) return `${id}-error`;

  return hint ? `${id}-hint` : undefined;
}

/**
 * The common case: a Field whose control is one Input, wired to the field's
 * error and hint. `className` styles the input, `fieldClassName` the field.
 */
export function InputField({
  id,
  label,
  hint,
  error,
  fieldClassName,
  ...input
}: {
  id: string;
  label: ReactNode;
  hint?: ReactNode;
  error?: string;
  fieldClassName?: string;
} & Omit<InputHTMLAttributes<HTMLInputElement>, "id">) {
  return (
    <Field id={id} label={label} hint={hint} error={error} className={fieldClassName}>
      <Input
        id={id}
        invalid={Boolean(error)}
        aria-describedby={describedBy(id, error, Boolean(hint))}
        {...input}
      />
    </Field>
  );
}

/**
 * A list filter: a Field whose control is one Select of codes shown
 * humanized, led by an "Any …" choice whose value is the empty string.
 */
export function SelectField({
  id,
  label,
  value,
  anyLabel,
  options,
  onChange,
}: {
  id: string;
  label: ReactNode;
  value: string;
  anyLabel: string;
  options: readonly string[];
  onChange: (value: string) => void;
}) {
  return (
    <Field id={id} label={label}>
      <Select id={id} value={value} onChange={(event) => onChange(event.target.value)}>
        <option value="">{anyLabel}</option>
        {options.map((option) => (
          <option key={option} value={option}>
            {humanize(option)}
          </option>
        ))}
      </Select>
    </Field>
  );
}
