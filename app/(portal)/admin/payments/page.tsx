import type { Metadata } from "next";
import { Suspense } from "react";

import { PaymentsList } from "@/components/admin/payments-admin";
import { PageHeader } from "@/components/ui/page-header";

export const metadata: Metadata = { title: "Payments · Admin" };

export default function AdminPaymentsPage() {
  return (
    <>
      <PageHeader
        title="Payments"
        description="Every charge at the gateway: invoices and credit purchases. Open one to see its refunds and disputes."
      />
      {/* The list reads its state from the address (useSearchParams). */}
      <Suspense>
        <PaymentsList />
      </Suspense>
    </>
  );
}
