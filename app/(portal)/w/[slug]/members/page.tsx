import type { Metadata } from "next";

import { MembersPanel } from "@/components/workspaces/members-panel";

export const metadata: Metadata = { title: "Members" };

export default async function MembersPage({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = await params;

  return <MembersPanel slug={slug} />;
}
