import type { Metadata } from "next";

import { WorkspaceDashboard } from "@/components/workspaces/dashboard";

export const metadata: Metadata = { title: "Dashboard" };

export default async function DashboardPage({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = await params;

  return <WorkspaceDashboard slug={slug} />;
}
