import type { Metadata } from "next";
import Link from "next/link";

import { Card, CardBody } from "@/components/ui/card";
import { serverCaller } from "@/server/trpc/server-caller";

export const metadata: Metadata = { title: "Check your email" };

export default async function CheckEmailPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const params = await searchParams;
  const email = typeof params.email === "string" ? params.email : undefined;
  const signingUp = params.kind === "sign-up";
  const { devMailbox } = await (await serverCaller()).auth.signInOptions();
  const mailboxHref = email ? `/dev/mailbox?to=${encodeURIComponent(email)}` : "/dev/mailbox";

  return (
    <Card>
      <CardBody className="space-y-4 py-8 text-center">
        <div
          aria-hidden="true"
          className="mx-auto grid size-12 place-items-center rounded-full bg-indigo-50 text-2xl"
        >
          ✉
        </div>
        <h1 className="text-xl font-semibold text-slate-900">Check your inbox</h1>
        <p className="text-sm text-slate-600">
          We sent {signingUp ? "a confirmation link" : "a sign-in link"}
          {email ? (
            <>
              {" "}
              to <strong>{email}</strong>
            </>
          ) : null}
          .{" "}
          {signingUp
            ? "Open it to create your account; it expires in 24 hours."
            : "It works once and expires in 15 minutes."}
        </p>
        {devMailbox && (
          <p className="rounded-md bg-indigo-50 px-4 py-3 text-sm text-indigo-900">
            No email server is configured, so the email lands in the{" "}
            <Link href={mailboxHref} className="font-medium underline underline-offset-2">
              dev mailbox
            </Link>
            .
          </p>
        )}
        <p className="text-sm text-slate-500">
          <Link href="/sign-in" className="font-medium text-indigo-600 hover:text-indigo-500">
            Back to sign in
          </Link>
        </p>
      </CardBody>
    </Card>
  );
}
