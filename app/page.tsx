import { redirect } from "next/navigation";

import { Brand } from "@/components/brand";
import { ButtonLink } from "@/components/ui/button";
import { serverCaller } from "@/server/trpc/server-caller";

export default async function Home() {
  const caller = await serverCaller();
  const me = await caller.auth.me();
  if (me) {
    const [first] = await caller.workspaces.list();
    redirect(first ? `/w/${first.slug}` : me.isPlatformAdmin ? "/admin" : "/workspaces/new");
  }
  const { devMailbox } = await caller.auth.signInOptions();

  return (
    <div className="min-h-screen">
      <header className="mx-auto flex max-w-5xl items-center justify-between px-6 py-5">
        <Brand />
        <nav className="flex items-center gap-2">
          <ButtonLink href="/sign-in" variant="ghost">
            Sign in
          </ButtonLink>
          <ButtonLink href="/sign-up">Create account</ButtonLink>
        </nav>
      </header>
      <main className="mx-auto max-w-5xl px-6 pt-16 pb-24">
        <div className="max-w-2xl">
          <p className="text-sm font-medium text-indigo-600">Pricing and billing for usage</p>
          <h1 className="mt-3 text-4xl font-semibold tracking-tight text-slate-900 sm:text-5xl">
            Sell your SaaS in credits, and keep every one accounted for.
          </h1>
          <p className="mt-5 text-lg text-slate-600">
            Tally gives each customer workspace a credit balance, meters every feature call through
            a simple API, and keeps an append-only ledger of where each credit went.
          </p>
          <div className="mt-8 flex flex-wrap gap-3">
            <ButtonLink href="/sign-up">Create an account</ButtonLink>
            <ButtonLink href="/sign-in" variant="secondary">
              Sign in
            </ButtonLink>
          </div>
          {devMailbox && (
            <p className="mt-6 text-sm text-slate-500">
              Running locally? The demo account is{" "}
              <code className="rounded bg-slate-100 px-1.5 py-0.5 text-slate-700">
                customer@example.com
              </code>{" "}
              with password{" "}
              <code className="rounded bg-slate-100 px-1.5 py-0.5 text-slate-700">tally-demo</code>.
            </p>
          )}
        </div>
        <dl className="mt-20 grid gap-6 sm:grid-cols-3">
          {[
            [
              "Credits, not invoices",
              "Tiers grant a monthly allowance; bonuses and top-ups add grants.",
            ],
            ["Metering API", "POST /api/v1/usage with an API key and an idempotency key."],
            [
              "Nothing lost",
              "Every side effect runs once from an outbox, with replayable dead letters.",
            ],
          ].map(([title, text]) => (
            <div key={title} className="rounded-lg bg-white p-5 shadow-sm ring-1 ring-slate-200">
              <dt className="font-medium text-slate-900">{title}</dt>
              <dd className="mt-1 text-sm text-slate-600">{text}</dd>
            </div>
          ))}
        </dl>
      </main>
    </div>
  );
}
