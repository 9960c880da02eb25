import type { Metadata } from "next";

import { ClockAdmin } from "@/components/admin/clock-admin";
import { PageHeader } from "@/components/ui/page-header";

export const metadata: Metadata = { title: "Clock · Admin" };

export default function AdminClockPage() {
  return (
    <>
      <PageHeader
        title="Clock"
        description="Move the platform clock forward to watch renewals, rollovers and expiries happen through the normal reactions."
      />
      <ClockAdmin />
    </>
  );
}
