import type { Metadata } from "next";

import { NotificationPreferences } from "@/components/notifications/preferences-form";
import { PageHeader } from "@/components/ui/page-header";

export const metadata: Metadata = { title: "Notification settings" };

export default function NotificationSettingsPage() {
  return (
    <div className="mx-auto max-w-3xl">
      <PageHeader
        title="Notification settings"
        description={
          "What reaches you by email and under the bell. The settings are yours, and apply in " +
          "every workspace you belong to."
        }
      />
      <NotificationPreferences />
    </div>
  );
}
