import type { Metadata } from "next";
import { Suspense } from "react";

import { InvoicesList } from "@/components/admin/invoices-list";
import { PageHeader } from "@/components/ui/page-header";

export const metadata: Metadata = { title: "Invoices · Admin" };

export default function AdminInvoicesPage() {
  return (
    <>
      <PageHeader
        title="Invoices"
        description="Every invoice of every workspace. Open one to see its lines and events, and to void it or write it off."
      />
      {/* The list reads its state from the address (useSearchParams). */}
      <Suspense>
        <InvoicesList />
      </Suspense>
    </>
  );
}
