"use client";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useParams, usePathname } from "next/navigation";
import { signOut } from "next-auth/react";
import { useState } from "react";

import { Brand } from "@/components/brand";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { humanize } from "@/components/lib/format";
import { canManageBilling, isWorkspaceAdmin } from "@/components/lib/roles";
import { useTRPC } from "@/components/lib/trpc";

import { NotificationBell } from "./notification-bell";
import { WorkspaceSwitcher } from "./workspace-switcher";

interface HeaderUser {
  name: string | null;
  email: string | null;
  isPlatformAdmin: boolean;
}

export function AppHeader({ user }: { user: HeaderUser }) {
  const trpc = useTRPC();
  const pathname = usePathname();
  const params = useParams<{ slug?: string }>();
  const workspaces = useQuery(trpc.workspaces.list.queryOptions());
  const list = workspaces.data ?? [];
  // The URL's slug counts once the list confirms it is one of the user's workspaces.
  const known = list.some((workspace) => workspace.slug === params.slug) ? params.slug : undefined;
  const current = workspaces.isPending ? params.slug : (known ?? list[0]?.slug);
  const onNewPage = pathname === "/workspaces/new";

  const role = list.find((workspace) => workspace.slug === current)?.role;
  const manages = role !== undefined && isWorkspaceAdmin(role);
  const billing = role !== undefined && canManageBilling(role);
  const section = (path: string, label: string) => ({
    href: `/w/${current}/${path}`,
    label,
    active: pathname.startsWith(`/w/${current}/${path}`),
  });

  const nav = [
    ...(current
      ? [
          { href: `/w/${current}`, label: "Dashboard", active: pathname === `/w/${current}` },
          section("credits", "Credits"),
          section("plans", "Plans"),
          ...(billing ? [section("billing", "Billing")] : []),
          section("api-keys", "API keys"),
          section("members", "Members"),
          ...(manages
            ? [
                section("webhooks", "Webhooks"),
                section("notifications", "Notifications"),
                section("settings", "Workspace settings"),
              ]
            : []),
        ]
      : []),
    ...(user.isPlatformAdmin
      ? [{ href: "/admin", label: "Admin", active: pathname.startsWith("/admin") }]
      : []),
  ];

  return (
    <header className="border-b border-slate-200 bg-white">
      <div
        className={cn(
          "mx-auto flex max-w-6xl flex-wrap items-center",
          "gap-x-4 gap-y-3 px-4 pt-3 sm:px-6",
          nav.length === 0 && "pb-3",
        )}
      >
        <Brand href={current ? `/w/${current}` : "/"} />
        <WorkspaceSwitcher
          workspaces={list}
          currentSlug={onNewPage ? undefined : current}
          pending={workspaces.isPending}
        />
        <div className="ml-auto flex items-center gap-3">
          <NotificationBell
            historyHref={current && manages ? `/w/${current}/notifications` : undefined}
          />
          <UserMenu user={user} settingsActive={pathname.startsWith("/settings")} />
        </div>
      </div>
      {/* The workspace's sections get a row of their own, so adding one never wraps the header. */}
      {nav.length > 0 && (
        <nav
          aria-label="Main"
          className="mx-auto flex max-w-6xl items-center gap-1 overflow-x-auto px-4 pt-2 sm:px-6"
        >
          {nav.map((item) => (
            <Link
              key={item.href}
              href={item.href}
              aria-current={item.active ? "page" : undefined}
              className={cn(
                "border-b-2 px-3 pt-1.5 pb-2 text-sm font-medium whitespace-nowrap",
                item.active
                  ? "border-indigo-600 text-indigo-700"
                  : "border-transparent text-slate-600 hover:border-slate-300 hover:text-slate-900",
              )}
            >
              {item.label}
            </Link>
          ))}
        </nav>
      )}
    </header>
  );
}

function UserMenu({ user, settingsActive }: { user: HeaderUser; settingsActive: boolean }) {
  const queryClient = useQueryClient();
  const [pending, setPending] = useState(false);

  return (
    <div className="flex items-center gap-3">
      <div
        className="hidden max-w-48 text-right leading-tight lg:block"
        title={user.email ?? undefined}
      >
        <p className="truncate text-sm font-medium text-slate-800">{user.name ?? user.email}</p>
        {user.name && <p className="truncate text-xs text-slate-500">{user.email}</p>}
      </div>
      <Link
        href="/settings/notifications"
        aria-current={settingsActive ? "page" : undefined}
        className={cn(
          "rounded-md px-2.5 py-1.5 text-sm font-medium",
          settingsActive
            ? "bg-indigo-50 text-indigo-700"
            : "text-slate-600 hover:bg-slate-100 hover:text-slate-900",
        )}
      >
        Settings
      </Link>
      <Button
        variant="secondary"
        size="sm"
        pending={pending}
        onClick={async () => {
          setPending(true);
          queryClient.clear();
          await signOut({ redirectTo: "/sign-in" });
        }}
      >
        Sign out
      </Button>
    </div>
  );
}
