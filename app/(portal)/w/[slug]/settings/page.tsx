import type { Metadata } from "next";

import { SettingsPanel } from "@/components/workspaces/settings-panel";

export const metadata: Metadata = { title: "Workspace settings" };

export default async function WorkspaceSettingsPage({
  params,
}: {
  params: Promise<{ slug: string }>;
}) {
  const { slug } = await params;

  return <SettingsPanel slug={slug} />;
}
