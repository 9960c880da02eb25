import type { Metadata } from "next";
import { Suspense } from "react";

import { WorkspacesList } from "@/components/admin/workspaces-list";
import { PageHeader } from "@/components/ui/page-header";

export const metadata: Metadata = { title: "Workspaces · Admin" };

export default function AdminWorkspacesPage() {
  return (
    <>
      <PageHeader
        title="Workspaces"
        description="Every workspace with its tier, status, balance, seats and MRR. Open one to see everything about it, and to suspend or reactivate it."
      />
      {/* The list reads its state from the address (useSearchParams). */}
      <Suspense>
        <WorkspacesList />
      </Suspense>
    </>
  );
}
