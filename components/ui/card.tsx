import type { ReactNode } from "react";

import { cn } from "./cn";

export function Card({
  className,
  highlight = false,
  children,
}: {
  className?: string;
  /** An indigo ring for what needs attention now (a key shown once). */
  highlight?: boolean;
  children: ReactNode;
}) {
  return (
    <section
      className={cn(
        // min-w-0: in a grid or flex layout a card shrinks to its column, so a wide table
        // inside it scrolls instead of widening the page.
        "min-w-0 rounded-lg bg-white shadow-sm",
        highlight ? "ring-2 ring-indigo-300" : "ring-1 ring-slate-200",
        className,
      )}
    >
      {children}
    </section>
  );
}

export function CardHeader({
  title,
  description,
  action,
}: {
  title: ReactNode;
  description?: ReactNode;
  action?: ReactNode;
}) {
  return (
    <div className="flex items-start justify-between gap-4 border-b border-slate-100 px-5 py-4">
      <div className="min-w-0">
        <h2 className="text-base font-semibold text-slate-900">{title}</h2>
        {description && <p className="mt-0.5 text-sm text-slate-500">{description}</p>}
      </div>
      {action && <div className="shrink-0">{action}</div>}
    </div>
  );
}

export function CardBody({ className, children }: { className?: string; children: ReactNode }) {
  return <div className={cn("px-5 py-4", className)}>{children}</div>;
}
