import type { Metadata } from "next";

import Link from "next/link";

import { Brand } from "@/components/brand";
import { Mailbox } from "@/components/dev/mailbox";
import { Badge } from "@/components/ui/badge";

export const metadata: Metadata = { title: "Dev mailbox" };

/** Open without sign-in on purpose: it is how magic links reach a local user. */
export default async function MailboxPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { to } = await searchParams;

  return (
    <div className="min-h-screen">
      <header className="border-b border-slate-200 bg-white">
        <div className="mx-auto flex max-w-5xl items-center gap-4 px-4 py-3 sm:px-6">
          <Brand />
          <Badge tone="amber">Development</Badge>
          <Link
            href="/sign-in"
            className="ml-auto text-sm font-medium text-slate-600 hover:text-slate-900"
          >
            Sign in
          </Link>
        </div>
      </header>
      <main className="mx-auto max-w-5xl px-4 py-8 sm:px-6">
        <Mailbox initialTo={typeof to === "string" ? to : ""} />
      </main>
    </div>
  );
}
