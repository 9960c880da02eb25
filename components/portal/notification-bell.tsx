"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, useRef, useState } from "react";

import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { formatRelative } from "@/components/lib/format";
import { useTRPC } from "@/components/lib/trpc";

const BELL_PATH =
  "M15 17h5l-1.4-1.4A2 2 0 0 1 18 14.2V11a6 6 0 1 0-12 0v3.2a2 2 0 0 1-.6 1.4L4 17h5" +
  "m6 0v1a3 3 0 1 1-6 0v-1m6 0H9";

/** `historyHref`: the workspace's full history, for those allowed to read it. */
export function NotificationBell({ historyHref }: { historyHref?: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const container = useRef<HTMLDivElement>(null);
  const notifications = useQuery(
    trpc.notifications.list.queryOptions(undefined, { refetchInterval: 5_000 }),
  );
  const markRead = useMutation(
    trpc.notifications.markRead.mutationOptions({
      onSettled: () => queryClient.invalidateQueries(trpc.notifications.list.queryFilter()),
    }),
  );

  useEffect(() => {
    if (!open) return;
    function onPointer(event: PointerEvent) {
      if (!container.current?.contains(event.target as Node)) setOpen(false);
    }
    function onKey(event: KeyboardEvent) {
      if (event.key === "Escape") setOpen(false);
    }
    document.addEventListener("pointerdown", onPointer);
    document.addEventListener("keydown", onKey);

    return () => {
      document.removeEventListener("pointerdown", onPointer);
      document.removeEventListener("keydown", onKey);
    };
  }, [open]);

  const unread = notifications.data?.unread ?? 0;
  const items = notifications.data?.items ?? [];

  return (
    <div ref={container} className="relative">
      <button
        type="button"
        onClick={() => setOpen((value) => !value)}
        aria-expanded={open}
        aria-haspopup="true"
        aria-label={unread > 0 ? `Notifications, ${unread} unread` : "Notifications"}
        className={cn(
          "relative grid size-9 place-items-center rounded-md text-slate-500",
          "hover:bg-slate-100 hover:text-slate-800",
          "focus-visible:outline-2 focus-visible:outline-indigo-600",
        )}
      >
        <svg viewBox="0 0 24 24" fill="none" className="size-5" aria-hidden="true">
          <path
            d={BELL_PATH}
            stroke="currentColor"
            strokeWidth="1.6"
            strokeLinecap="round"
            strokeLinejoin="round"
          />
        </svg>
        {unread > 0 && (
          <span
            data-testid="unread-count"
            className={cn(
              "absolute -top-0.5 -right-0.5 grid h-4.5 min-w-4.5 place-items-center rounded-full",
              "bg-indigo-600 px-1 text-[10px] font-semibold text-white tabular-nums",
            )}
          >
            {unread > 99 ? "99+" : unread}
          </span>
        )}
      </button>
      {open && (
        <div
          role="dialog"
          aria-label="Notifications"
          className={cn(
            "absolute right-0 z-20 mt-2 w-96 max-w-[calc(100vw-2rem)] overflow-hidden rounded-lg",
            "bg-white shadow-lg ring-1 ring-slate-200",
          )}
        >
          <div className="flex items-center justify-between border-b border-slate-100 px-4 py-3">
            <p className="text-sm font-semibold text-slate-900">Notifications</p>
            <Button
              variant="ghost"
              size="sm"
              disabled={unread === 0}
              pending={markRead.isPending && markRead.variables?.ids === "all"}
              onClick={() => markRead.mutate({ ids: "all" })}
            >
              Mark all read
            </Button>
          </div>
          <ul className="max-h-96 divide-y divide-slate-100 overflow-y-auto">
            {notifications.isPending && (
              <li className="px-4 py-6 text-sm text-slate-500">Loading…</li>
            )}
            {notifications.isError && (
              <li className="px-4 py-6 text-sm text-red-600">Could not load notifications.</li>
            )}
            {notifications.isSuccess && items.length === 0 && (
              <li className="px-4 py-8 text-center text-sm text-slate-500">
                You are all caught up.
              </li>
            )}
            {items.map((item) => {
              const isUnread = !item.readAt;
              return (
                <li key={item.id} className={cn("px-4 py-3", isUnread && "bg-indigo-50/40")}>
                  <div className="flex items-start gap-3">
                    <span
                      aria-hidden="true"
                      className={cn(
                        "mt-1.5 size-2 shrink-0 rounded-full",
                        isUnread ? "bg-indigo-600" : "bg-transparent",
                      )}
                    />
                    <div className="min-w-0 flex-1">
                      <p className="text-sm font-medium text-slate-900">{item.title}</p>
                      <p className="mt-0.5 text-sm text-slate-600">{item.body}</p>
                      <div className="mt-1.5 flex items-center gap-3 text-xs text-slate-500">
                        <time dateTime={new Date(item.createdAt).toISOString()}>
                          {formatRelative(item.createdAt)}
                        </time>
                        {item.link && (
                          <Link
                            href={item.link}
                            className="font-medium text-indigo-600 hover:text-indigo-500"
                            onClick={() => {
                              if (isUnread) markRead.mutate({ ids: [item.id] });
                              setOpen(false);
                            }}
                          >
                            Open
                          </Link>
                        )}
                        {isUnread && (
                          <button
                            type="button"
                            className="font-medium text-slate-600 hover:text-slate-900"
                            onClick={() => markRead.mutate({ ids: [item.id] })}
                          >
                            Mark as read
                          </button>
                        )}
                      </div>
                    </div>
                  </div>
                </li>
              );
            })}
          </ul>
          <div
            className={cn(
              "flex items-center justify-between gap-3 border-t border-slate-100 bg-slate-50/60",
              "px-4 py-2.5 text-sm",
            )}
          >
            <Link
              href="/settings/notifications"
              className="font-medium text-slate-600 hover:text-slate-900"
              onClick={() => setOpen(false)}
            >
              Preferences
            </Link>
            {historyHref && (
              <Link
                href={historyHref}
                className="font-medium text-indigo-600 hover:text-indigo-500"
                onClick={() => setOpen(false)}
              >
                See all
              </Link>
            )}
          </div>
        </div>
      )}
    </div>
  );
}
