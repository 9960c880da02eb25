import type { Metadata } from "next";

import { SettingsPanel } from "@/components/workspaces/danger-zone";

export const metadata: Metadata = { title: "Settings" };

export default async function SettingsPage({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = await params;

  return <SettingsPanel slug={slug} />;
}
