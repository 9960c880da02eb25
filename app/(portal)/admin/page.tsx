import type { Metadata } from "next";

import { EventsAdmin } from "@/components/admin/events-admin";
import { PageHeader } from "@/components/ui/page-header";

export const metadata: Metadata = { title: "Admin" };

export default function AdminPage() {
  return (
    <>
      <PageHeader
        title="Platform admin"
        description="Side effects run from the outbox; what failed after its last retry waits here."
      />
      <EventsAdmin />
    </>
  );
}
