import type { ReactNode, TdHTMLAttributes, ThHTMLAttributes } from "react";

import { cn } from "./cn";

/**
 * A table that scrolls sideways on its own when it is wider than its card,
 * so a narrow screen scrolls the table, not the page. `relative` keeps
 * absolutely placed content (screen-reader-only labels) inside the scroll
 * box too, where it would otherwise widen the page.
 */
export function Table({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="relative w-full max-w-full min-w-0 overflow-x-auto overscroll-x-contain">
      <table
        aria-label={label}
        className="min-w-full divide-y divide-slate-200 text-sm text-slate-700"
      >
        {children}
      </table>
    </div>
  );
}

export function Th({ className, align, ...props }: ThHTMLAttributes<HTMLTableCellElement>) {
  return (
    <th
      scope="col"
      className={cn(
        "px-5 py-2.5 text-xs font-medium tracking-wide whitespace-nowrap text-slate-500 uppercase",
        align === "right" ? "text-right" : "text-left",
        className,
      )}
      {...props}
    />
  );
}

export function Td({
  className,
  numeric,
  ...props
}: TdHTMLAttributes<HTMLTableCellElement> & { numeric?: boolean }) {
  return (
    <td
      className={cn(
        "px-5 py-3 align-top",
        numeric && "text-right whitespace-nowrap tabular-nums",
        className,
      )}
      {...props}
    />
  );
}

export function EmptyRow({ colSpan, children }: { colSpan: number; children: ReactNode }) {
  return (
    <tr>
      <td colSpan={colSpan} className="px-5 py-8 text-center text-sm text-slate-500">
        {children}
      </td>
    </tr>
  );
}

interface QueryState {
  isPending: boolean;
  isError: boolean;
  error: { message: string } | null;
}

/** The loading, error and empty rows every table body needs, from its query's state. */
export function QueryRows({
  query,
  colSpan,
  subject,
  isEmpty,
  empty,
}: {
  query: QueryState;
  colSpan: number;
  /** What failed to load, e.g. "the history". */
  subject: string;
  isEmpty: boolean;
  empty: ReactNode;
}) {
  if (query.isPending) return <EmptyRow colSpan={colSpan}>Loading…</EmptyRow>;
  if (query.isError) {
    return (
      <EmptyRow colSpan={colSpan}>
        Could not load {subject}: {query.error?.message}
      </EmptyRow>
    );
  }
  if (isEmpty) return <EmptyRow colSpan={colSpan}>{empty}</EmptyRow>;

  return null;
}
