import type { Metadata } from "next";

import { CreditsAdmin } from "@/components/admin/credits-admin";
import { PackEditor } from "@/components/admin/pack-editor";
import { PageHeader } from "@/components/ui/page-header";

export const metadata: Metadata = { title: "Credits · Admin" };

export default function AdminCreditsPage() {
  return (
    <>
      <PageHeader
        title="Credits"
        description="Correct a workspace's credits or give it a one-off grant, and edit the packs on offer."
      />
      <div className="space-y-10">
        <CreditsAdmin />
        <PackEditor />
      </div>
    </>
  );
}
