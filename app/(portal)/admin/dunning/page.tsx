import type { Metadata } from "next";
import { Suspense } from "react";

import { DunningList } from "@/components/admin/dunning-list";
import { PageHeader } from "@/components/ui/page-header";

export const metadata: Metadata = { title: "Dunning · Admin" };

export default function AdminDunningPage() {
  return (
    <>
      <PageHeader
        title="Dunning"
        description="Unpaid invoices being chased: the charges tried, the next retry, and the workspaces suspended for them."
      />
      {/* The list reads its state from the address (useSearchParams). */}
      <Suspense>
        <DunningList />
      </Suspense>
    </>
  );
}
