import type { Metadata } from "next";

import { WorkspacesAdmin } from "@/components/admin/workspaces-admin";
import { PageHeader } from "@/components/ui/page-header";

export const metadata: Metadata = { title: "Workspaces · Admin" };

export default function AdminWorkspacesPage() {
  return (
    <>
      <PageHeader
        title="Workspaces"
        description="Find a workspace and suspend it, with a reason its members see, or reactivate it."
      />
      <WorkspacesAdmin />
    </>
  );
}
