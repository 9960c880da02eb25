import type { Metadata } from "next";
import { Suspense } from "react";

import { RefundsList } from "@/components/admin/payments-admin";
import { PageHeader } from "@/components/ui/page-header";

export const metadata: Metadata = { title: "Refunds · Admin" };

export default function AdminRefundsPage() {
  return (
    <>
      <PageHeader
        title="Refunds"
        description="Money given back at the gateway, whoever started it. Open one to see its payment."
      />
      <Suspense>
        <RefundsList />
      </Suspense>
    </>
  );
}
