import type { Metadata } from "next";

import { PlansPanel } from "@/components/workspaces/plans-panel";

export const metadata: Metadata = { title: "Plans" };

export default async function PlansPage({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = await params;

  return <PlansPanel slug={slug} />;
}
