import type { Metadata } from "next";

import { NotificationsAdmin } from "@/components/admin/notifications-admin";
import { PageHeader } from "@/components/ui/page-header";

export const metadata: Metadata = { title: "Notifications · Admin" };

export default function AdminNotificationsPage() {
  return (
    <>
      <PageHeader
        title="Notifications"
        description="Where every notice went, on every channel, and what failed after its retries."
      />
      <NotificationsAdmin />
    </>
  );
}
