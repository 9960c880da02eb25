import type { Metadata } from "next";

import { WorkspaceNotifications } from "@/components/notifications/workspace-history";

export const metadata: Metadata = { title: "Notifications" };

export default async function NotificationsPage({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = await params;

  return <WorkspaceNotifications slug={slug} />;
}
