import type { Metadata } from "next";
import Link from "next/link";

import { WorkspaceDetail } from "@/components/admin/workspace-detail";
import { PageHeader } from "@/components/ui/page-header";

export const metadata: Metadata = { title: "Workspace · Admin" };

export default async function AdminWorkspacePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;

  return (
    <>
      <PageHeader
        title="Workspace"
        description={
          <Link href="/admin/workspaces" className="text-indigo-700 hover:underline">
            ← All workspaces
          </Link>
        }
      />
      <WorkspaceDetail workspaceId={id} />
    </>
  );
}
