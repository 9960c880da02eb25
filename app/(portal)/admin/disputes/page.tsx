import type { Metadata } from "next";
import { Suspense } from "react";

import { DisputesList } from "@/components/admin/payments-admin";
import { PageHeader } from "@/components/ui/page-header";

export const metadata: Metadata = { title: "Disputes · Admin" };

export default function AdminDisputesPage() {
  return (
    <>
      <PageHeader
        title="Disputes"
        description="Chargebacks: the credits each clawed back, what was already spent, and how it ended."
      />
      <Suspense>
        <DisputesList />
      </Suspense>
    </>
  );
}
