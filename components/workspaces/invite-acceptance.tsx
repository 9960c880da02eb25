"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { signOut } from "next-auth/react";
import type { ReactNode } from "react";

import { Alert } from "@/components/ui/alert";
import { Button, ButtonLink } from "@/components/ui/button";
import { Card, CardBody } from "@/components/ui/card";
import { formatDateTime, humanize } from "@/components/lib/format";
import { appCodeOf } from "@/components/lib/form-errors";
import { useTRPC } from "@/components/lib/trpc";

/**
 * What an invitation link opens: the workspace, the role and who invited,
 * then the one action that fits. Signed out: sign in or sign up, coming back
 * here. Signed in as the invited address: accept. Signed in as someone else:
 * say which address the invitation is for.
 */
export function InviteAcceptance({
  token,
  signedInAs,
}: {
  token: string;
  signedInAs: string | null;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const preview = useQuery(
    trpc.workspaces.members.preview.queryOptions({ token }, { retry: false }),
  );
  const accept = useMutation(
    trpc.workspaces.members.accept.mutationOptions({
      onSuccess: async ({ slug }) => {
        await queryClient.invalidateQueries(trpc.workspaces.list.queryFilter());
        router.push(`/w/${slug}`);
      },
    }),
  );
  const back = `/invite/${encodeURIComponent(token)}`;

  if (preview.isPending) {
    return (
      <Frame title="Invitation">
        <div aria-busy="true" className="h-20 animate-pulse rounded bg-slate-100" />
      </Frame>
    );
  }
  if (preview.isError) {
    return (
      <Frame title="This invitation link does not work">
        <p data-testid="invite-problem">
          {appCodeOf(preview.error) === "not_found"
            ? "It is not a valid invitation: check that you opened the whole link from the email, " +
              "or ask whoever invited you to send a new one."
            : preview.error.message}
        </p>
        <ButtonLink href="/" variant="secondary">
          Go to Tally
        </ButtonLink>
      </Frame>
    );
  }

  const invite = preview.data;
  const facts = (
    <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1.5 text-sm">
      <dt className="text-slate-500">Workspace</dt>
      <dd className="font-medium text-slate-900" data-testid="invite-workspace">
        {invite.workspaceName}
      </dd>
      <dt className="text-slate-500">Role</dt>
      <dd className="text-slate-900">{humanize(invite.role)}</dd>
      <dt className="text-slate-500">Invited by</dt>
      <dd className="text-slate-900">{invite.inviterName}</dd>
      <dt className="text-slate-500">For</dt>
      <dd className="text-slate-900">{invite.email}</dd>
    </dl>
  );

  if (invite.state !== "open") {
    const why = {
      expired: `It expired on ${formatDateTime(invite.expiresAt)}.`,
      revoked: "It was withdrawn, or replaced by a newer invitation: use the latest email.",
      accepted: "It was already used.",
    }[invite.state];

    return (
      <Frame title="This invitation can no longer be used">
        <p data-testid="invite-problem">
          {why} Ask {invite.inviterName} to invite you again.
        </p>
        {facts}
        <ButtonLink href="/" variant="secondary">
          Go to Tally
        </ButtonLink>
      </Frame>
    );
  }

  if (!signedInAs) {
    const signUp = `/sign-up?callbackUrl=${encodeURIComponent(back)}&email=${encodeURIComponent(invite.email)}`;

    return (
      <Frame title={`Join ${invite.workspaceName} on Tally`}>
        <p>
          {invite.inviterName} invited {invite.email} as {invite.role}. The invitation expires on{" "}
          {formatDateTime(invite.expiresAt)}.
        </p>
        {facts}
        <p>Sign in with that address, or create an account for it; you come back here after.</p>
        <div className="flex flex-wrap gap-2">
          <ButtonLink href={`/sign-in?callbackUrl=${encodeURIComponent(back)}`}>Sign in</ButtonLink>
          <ButtonLink href={signUp} variant="secondary">
            Create an account
          </ButtonLink>
        </div>
      </Frame>
    );
  }

  if (signedInAs.toLowerCase() !== invite.email) {
    return (
      <Frame title="This invitation is for another address">
        <Alert tone="warning">
          <span data-testid="invite-problem">
            This invitation is for {invite.email}, and you are signed in as {signedInAs}. Sign out
            and sign in with {invite.email} to accept it.
          </span>
        </Alert>
        <Button
          variant="secondary"
          onClick={() =>
            void signOut({ redirectTo: `/sign-in?callbackUrl=${encodeURIComponent(back)}` })
          }
        >
          Sign out and use {invite.email}
        </Button>
      </Frame>
    );
  }

  return (
    <Frame title={`Join ${invite.workspaceName}`}>
      <p>
        {invite.inviterName} invited you as {invite.role}. The invitation expires on{" "}
        {formatDateTime(invite.expiresAt)}.
      </p>
      {facts}
      {accept.error && <Alert tone="error">{accept.error.message}</Alert>}
      <Button
        className="w-full"
        pending={accept.isPending || accept.isSuccess}
        pendingLabel="Joining…"
        onClick={() => accept.mutate({ token })}
      >
        Accept the invitation
      </Button>
    </Frame>
  );
}

function Frame({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Card>
      <CardBody className="space-y-5 px-6 py-8 text-sm text-slate-700 sm:px-8">
        <h1 className="text-xl font-semibold text-slate-900">{title}</h1>
        {children}
      </CardBody>
    </Card>
  );
}
