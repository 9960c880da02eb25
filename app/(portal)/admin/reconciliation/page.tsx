import type { Metadata } from "next";

import { ReconciliationAdmin } from "@/components/admin/reconciliation-admin";
import { PageHeader } from "@/components/ui/page-header";

export const metadata: Metadata = { title: "Reconciliation · Admin" };

export default function AdminReconciliationPage() {
  return (
    <>
      <PageHeader
        title="Reconciliation"
        description="The payment gateway's payments, refunds and disputes compared with Tally's records, and what differs."
      />
      <ReconciliationAdmin />
    </>
  );
}
