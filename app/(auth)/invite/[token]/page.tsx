import type { Metadata } from "next";

import { InviteAcceptance } from "@/components/workspaces/invite-acceptance";
import { serverCaller } from "@/server/trpc/server-caller";

export const metadata: Metadata = { title: "Invitation" };

/** The link in an invitation email. Signed out, it offers sign-in or sign-up and comes back. */
export default async function InvitePage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const me = await (await serverCaller()).auth.me();

  return <InviteAcceptance token={token} signedInAs={me?.email ?? null} />;
}
