"use client";

import Link from "next/link";
import { useEffect, useRef, useState } from "react";

import { cn } from "@/components/ui/cn";
import { humanize } from "@/components/lib/format";
import type { RouterOutputs } from "@/components/lib/router-types";

type Entry = RouterOutputs["workspaces"]["list"][number];

/**
 * The header's workspace menu: the current workspace, and on opening every
 * workspace of the user with their role and its tier, then the current
 * workspace's settings and "New workspace".
 * Escape, a click outside or choosing an entry closes it.
 */
export function WorkspaceSwitcher({
  workspaces,
  currentSlug,
  pending,
}: {
  workspaces: Entry[];
  currentSlug: string | undefined;
  pending: boolean;
}) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const current = workspaces.find((workspace) => workspace.slug === currentSlug);

  useEffect(() => {
    if (!open) return;
    const onPointer = (event: PointerEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpen(false);
    };
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") setOpen(false);
    };
    document.addEventListener("pointerdown", onPointer);
    document.addEventListener("keydown", onKey);

    return () => {
      document.removeEventListener("pointerdown", onPointer);
      document.removeEventListener("keydown", onKey);
    };
  }, [open]);

  return (
    <div ref={root} className="relative">
      <button
        type="button"
        aria-haspopup="true"
        aria-expanded={open}
        aria-controls="workspace-switcher-menu"
        data-testid="workspace-switcher"
        className={cn(
          "flex h-9 max-w-52 items-center gap-2 rounded-md bg-slate-50 pr-2 pl-3 text-left text-sm",
          "font-medium text-slate-800 ring-1 ring-slate-200 ring-inset hover:bg-slate-100",
          "focus-visible:ring-2 focus-visible:ring-indigo-600",
        )}
        onClick={() => setOpen((value) => !value)}
      >
        <span className="sr-only">Workspace: </span>
        <span className="truncate">
          {current?.name ?? (pending ? "Loading…" : "Choose a workspace")}
        </span>
        <svg aria-hidden="true" viewBox="0 0 20 20" className="size-4 shrink-0 text-slate-400">
          <path
            fill="currentColor"
            d="M5.2 7.7a.75.75 0 0 1 1.06.02L10 11.6l3.74-3.88a.75.75 0 1 1 1.08 1.04l-4.28 4.45a.75.75 0 0 1-1.08 0L5.18 8.76a.75.75 0 0 1 .02-1.06Z"
          />
        </svg>
      </button>
      {open && (
        <div
          id="workspace-switcher-menu"
          className={cn(
            "absolute left-0 z-20 mt-1 w-72 overflow-hidden rounded-md bg-white py-1 shadow-lg",
            "ring-1 ring-slate-200",
          )}
        >
          <ul aria-label="Your workspaces" className="max-h-80 overflow-y-auto">
            {workspaces.map((workspace) => (
              <li key={workspace.workspaceId}>
                <Link
                  href={`/w/${workspace.slug}`}
                  aria-current={workspace.slug === currentSlug ? "page" : undefined}
                  className={cn(
                    "block px-3 py-2 hover:bg-slate-50",
                    workspace.slug === currentSlug && "bg-indigo-50/60",
                  )}
                  onClick={() => setOpen(false)}
                >
                  <span className="block truncate text-sm font-medium text-slate-800">
                    {workspace.name}
                  </span>
                  <span className="block text-xs text-slate-500">
                    {humanize(workspace.role)} · {workspace.tierName} tier
                  </span>
                </Link>
              </li>
            ))}
          </ul>
          <div className="border-t border-slate-100 pt-1">
            {current && (
              <Link
                href={`/w/${current.slug}/settings`}
                className="block px-3 py-2 text-sm text-slate-700 hover:bg-slate-50"
                onClick={() => setOpen(false)}
              >
                Settings of {current.name}
              </Link>
            )}
            <Link
              href="/workspaces/new"
              className="block px-3 py-2 text-sm font-medium text-indigo-700 hover:bg-slate-50"
              onClick={() => setOpen(false)}
            >
              + New workspace
            </Link>
          </div>
        </div>
      )}
    </div>
  );
}
