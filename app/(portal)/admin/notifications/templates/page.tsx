import type { Metadata } from "next";

import { TemplatesAdmin } from "@/components/admin/templates-admin";
import { PageHeader } from "@/components/ui/page-header";

export const metadata: Metadata = { title: "Templates · Admin" };

export default function AdminTemplatesPage() {
  return (
    <>
      <PageHeader
        title="Notification templates"
        description="Every notification type, rendered from its sample data as recipients see it."
      />
      <TemplatesAdmin />
    </>
  );
}
