"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";

import { cn } from "@/components/ui/cn";

const sections = [
  { href: "/admin", label: "Events" },
  { href: "/admin/workspaces", label: "Workspaces" },
  { href: "/admin/invoices", label: "Invoices" },
  { href: "/admin/payments", label: "Payments" },
  { href: "/admin/refunds", label: "Refunds" },
  { href: "/admin/disputes", label: "Disputes" },
  { href: "/admin/dunning", label: "Dunning" },
  { href: "/admin/reconciliation", label: "Reconciliation" },
  { href: "/admin/credits", label: "Credits" },
  { href: "/admin/tiers", label: "Tiers" },
  { href: "/admin/notifications", label: "Notifications" },
  { href: "/admin/notifications/templates", label: "Templates" },
  { href: "/admin/clock", label: "Clock" },
];

/** The admin pages' tabs; the longest matching path is the current one. */
export function AdminNav() {
  const pathname = usePathname();
  const current = sections
    .filter((section) => pathname === section.href || pathname.startsWith(`${section.href}/`))
    .sort((a, b) => b.href.length - a.href.length)[0];

  return (
    // The tabs scroll sideways on a narrow screen rather than widening the page.
    <nav aria-label="Admin" className="mb-6 border-b border-slate-200">
      <ul className="-mb-px flex gap-6 overflow-x-auto">
        {sections.map((section) => {
          const active = section.href === current?.href;
          return (
            <li key={section.href}>
              <Link
                href={section.href}
                aria-current={active ? "page" : undefined}
                className={cn(
                  "inline-block border-b-2 px-1 pb-3 text-sm font-medium whitespace-nowrap",
                  active
                    ? "border-indigo-600 text-indigo-700"
                    : "border-transparent text-slate-500 hover:border-slate-300 " +
                        "hover:text-slate-800",
                )}
              >
                {section.label}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
