import type { ReactNode } from "react";

import { cn } from "./cn";

/**
 * Preformatted text that wraps instead of scrolling sideways: code and JSON
 * in a small monospace, or plain text (an email's text part) as prose.
 */
export function CodeBlock({
  children,
  className,
  label,
  prose = false,
}: {
  children: ReactNode;
  className?: string;
  /** Names the block for screen readers when no heading does. */
  label?: string;
  prose?: boolean;
}) {
  return (
    <pre
      aria-label={label}
      className={cn(
        "max-h-96 overflow-auto rounded-md bg-slate-50 px-3 py-2.5 leading-relaxed",
        "break-words whitespace-pre-wrap text-slate-800 ring-1 ring-slate-200",
        prose ? "font-sans text-sm" : "font-mono text-xs",
        className,
      )}
    >
      {children}
    </pre>
  );
}
