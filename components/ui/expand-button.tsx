import { cn } from "./cn";

/** The chevron that opens a row's details; `controls` is the id of what it shows. */
export function ExpandButton({
  expanded,
  onToggle,
  controls,
  label,
}: {
  expanded: boolean;
  onToggle: () => void;
  controls: string;
  /** What opens, e.g. "details of Low balance"; read as "Show details of …". */
  label: string;
}) {
  return (
    <button
      type="button"
      aria-expanded={expanded}
      aria-controls={controls}
      aria-label={`${expanded ? "Hide" : "Show"} ${label}`}
      onClick={onToggle}
      className={cn(
        "grid size-7 place-items-center rounded-md text-slate-400",
        "hover:bg-slate-100 hover:text-slate-700",
        "focus-visible:outline-2 focus-visible:outline-indigo-600",
      )}
    >
      <svg
        viewBox="0 0 20 20"
        fill="none"
        aria-hidden="true"
        className={cn("size-4 transition-transform", expanded && "rotate-90")}
      >
        <path
          d="m7.5 5 5 5-5 5"
          stroke="currentColor"
          strokeWidth="1.8"
          strokeLinecap="round"
          strokeLinejoin="round"
        />
      </svg>
    </button>
  );
}
