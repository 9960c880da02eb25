"use client";

import { cn } from "./cn";
import { Spinner } from "./spinner";

/**
 * An on/off control read by screen readers as a switch. It needs a name:
 * `label` (visible text is elsewhere) or `labelledBy`.
 */
export function Switch({
  id,
  checked,
  onChange,
  disabled = false,
  pending = false,
  label,
  labelledBy,
  describedBy,
}: {
  id?: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
  disabled?: boolean;
  pending?: boolean;
  label?: string;
  labelledBy?: string;
  describedBy?: string;
}) {
  return (
    <button
      id={id}
      type="button"
      role="switch"
      aria-checked={checked}
      aria-label={label}
      aria-labelledby={labelledBy}
      aria-describedby={describedBy}
      aria-busy={pending || undefined}
      disabled={disabled || pending}
      onClick={() => onChange(!checked)}
      className={cn(
        "relative inline-flex h-6 w-11 shrink-0 items-center rounded-full transition-colors",
        "focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600",
        "disabled:cursor-not-allowed",
        checked ? "bg-indigo-600" : "bg-slate-200",
        disabled && "opacity-50",
      )}
    >
      <span
        aria-hidden="true"
        className={cn(
          "grid size-5 place-items-center rounded-full bg-white shadow-sm ring-1 ring-slate-900/5",
          "transition-transform",
          checked ? "translate-x-5.5" : "translate-x-0.5",
        )}
      >
        {pending && <Spinner className="size-3 text-indigo-600" />}
      </span>
    </button>
  );
}
