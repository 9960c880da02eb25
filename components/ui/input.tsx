import type { InputHTMLAttributes, SelectHTMLAttributes } from "react";

import { cn } from "./cn";

const control =
  "block w-full rounded-md border-0 bg-white px-3 text-sm text-slate-900 shadow-sm ring-1 " +
  "ring-inset placeholder:text-slate-400 focus:ring-2 focus:outline-none " +
  "disabled:bg-slate-50 disabled:text-slate-500";

// One ring colour or the other, never both: Tailwind does not let a later class override.
function ringColor(invalid: boolean | undefined): string {
  return invalid ? "ring-red-400 focus:ring-red-500" : "ring-slate-300 focus:ring-indigo-600";
}

export function Input({
  invalid,
  className,
  ...props
}: InputHTMLAttributes<HTMLInputElement> & { invalid?: boolean }) {
  return (
    <input
      aria-invalid={invalid || undefined}
      className={cn(control, "h-10", ringColor(invalid), className)}
      {...props}
    />
  );
}

export function Select({
  invalid,
  className,
  children,
  ...props
}: SelectHTMLAttributes<HTMLSelectElement> & { invalid?: boolean }) {
  return (
    <select
      aria-invalid={invalid || undefined}
      className={cn(control, "h-10 pr-8", ringColor(invalid), className)}
      {...props}
    >
      {children}
    </select>
  );
}
