"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { Fragment, useState, type FormEvent, type ReactNode } from "react";

import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody } from "@/components/ui/card";
import { cn } from "@/components/ui/cn";
import { Input } from "@/components/ui/input";
import { PageHeader } from "@/components/ui/page-header";
import { formatDateTime, humanize } from "@/components/lib/format";
import { appCodeOf } from "@/components/lib/form-errors";
import type { RouterOutputs } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";
import { EmailFrame } from "@/components/notifications/email-frame";

type Email = RouterOutputs["notifications"]["mailbox"][number];

export function Mailbox({ initialTo }: { initialTo: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [to, setTo] = useState(initialTo);
  const [draft, setDraft] = useState(initialTo);
  const emails = useQuery(
    trpc.notifications.mailbox.queryOptions(to ? { to } : {}, { refetchInterval: 3_000 }),
  );

  function applyFilter(value: string) {
    const trimmed = value.trim();
    setTo(trimmed);
    setDraft(trimmed);
    router.replace(trimmed ? `/dev/mailbox?to=${encodeURIComponent(trimmed)}` : "/dev/mailbox");
  }

  const code = emails.isError ? appCodeOf(emails.error) : undefined;
  if (code === "not_found") {
    return (
      <Closed title="The dev mailbox is off">
        SMTP is configured (SMTP_URL), so emails go to real inboxes instead of this page.
      </Closed>
    );
  }
  if (code === "forbidden" || code === "unauthenticated") {
    return (
      <Closed title="Platform administrators only">
        This deployment keeps its mailbox to platform admins, since it holds everyone&apos;s sign-in
        links.{" "}
        <Link href="/sign-in" className="font-medium text-indigo-600">
          Sign in
        </Link>{" "}
        as one to read it.
      </Closed>
    );
  }

  return (
    <div>
      <PageHeader
        title="Dev mailbox"
        description="No email server is configured: every email Tally sends is kept here."
      />
      <form
        className="mb-4 flex flex-wrap items-end gap-2"
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          applyFilter(draft);
        }}
      >
        <div className="w-full max-w-sm space-y-1.5">
          <label htmlFor="mailbox-to" className="block text-sm font-medium text-slate-700">
            Recipient
          </label>
          <Input
            id="mailbox-to"
            type="email"
            placeholder="someone@example.com"
            value={draft}
            onChange={(event) => setDraft(event.target.value)}
          />
        </div>
        <Button type="submit" variant="secondary">
          Filter
        </Button>
        {to && (
          <Button variant="ghost" onClick={() => applyFilter("")}>
            Show all
          </Button>
        )}
      </form>
      {emails.isError && (
        <p className="text-sm text-red-600">Could not load the mailbox: {emails.error.message}</p>
      )}
      <Card>
        {emails.isPending && (
          <p className="px-5 py-8 text-center text-sm text-slate-500">Loading…</p>
        )}
        {emails.isSuccess && emails.data.length === 0 && (
          <p className="px-5 py-10 text-center text-sm text-slate-500">
            {to ? `No emails to ${to} yet.` : "No emails yet."} New ones appear here on their own.
          </p>
        )}
        <ul className="divide-y divide-slate-100">
          {emails.data?.map((email) => (
            <li key={email.id}>
              <EmailItem email={email} />
            </li>
          ))}
        </ul>
      </Card>
    </div>
  );
}

function Closed({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Card className="mx-auto max-w-lg">
      <CardBody className="py-8 text-center">
        <h1 className="text-lg font-semibold text-slate-900">{title}</h1>
        <p className="mt-1 text-sm text-slate-600">{children}</p>
      </CardBody>
    </Card>
  );
}

function EmailItem({ email }: { email: Email }) {
  return (
    <details className="group" data-testid="email">
      <summary
        className={
          "flex cursor-pointer list-none flex-wrap items-center gap-x-4 gap-y-1 px-5 py-3.5 " +
          "hover:bg-slate-50 [&::-webkit-details-marker]:hidden"
        }
      >
        <span
          aria-hidden="true"
          className="text-slate-400 transition-transform group-open:rotate-90"
        >
          ›
        </span>
        <span className="min-w-0 flex-1 truncate font-medium text-slate-900">{email.subject}</span>
        <span className="text-sm text-slate-600">{email.to}</span>
        <Badge>{humanize(email.type)}</Badge>
        <time className="text-sm whitespace-nowrap text-slate-500" dateTime={iso(email.createdAt)}>
          {formatDateTime(email.createdAt)}
        </time>
      </summary>
      <div className="space-y-4 border-t border-slate-100 bg-slate-50/50 px-5 py-4">
        <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
          <dt className="text-slate-500">Subject</dt>
          <dd className="text-slate-900">{email.subject}</dd>
          <dt className="text-slate-500">To</dt>
          <dd className="text-slate-900">{email.to}</dd>
          <dt className="text-slate-500">Time</dt>
          <dd className="text-slate-900">{formatDateTime(email.createdAt)}</dd>
        </dl>
        <section>
          <h3 className="mb-1.5 text-xs font-medium tracking-wide text-slate-500 uppercase">
            Text part
          </h3>
          <pre
            className={cn(
              "overflow-x-auto rounded-md bg-white p-4 font-sans text-sm whitespace-pre-wrap",
              "text-slate-800 ring-1 ring-slate-200",
            )}
          >
            <Linkified text={email.text} />
          </pre>
        </section>
        <section>
          <h3 className="mb-1.5 text-xs font-medium tracking-wide text-slate-500 uppercase">
            HTML part
          </h3>
          <EmailFrame title={`HTML part of "${email.subject}"`} html={email.html} />
        </section>
      </div>
    </details>
  );
}

const urlPattern = /(https?:\/\/[^\s<>"']+)/g;

/** Plain text with its URLs as links, so a magic link can be followed from here. */
function Linkified({ text }: { text: string }) {
  return (
    <>
      {text.split(urlPattern).map((part, index) =>
        index % 2 === 1 ? (
          <a
            key={index}
            href={part}
            className="break-all text-indigo-600 underline underline-offset-2 hover:text-indigo-500"
          >
            {part}
          </a>
        ) : (
          <Fragment key={index}>{part}</Fragment>
        ),
      )}
    </>
  );
}

function iso(value: Date | string): string {
  return new Date(value).toISOString();
}
