import type { Metadata } from "next";

import { TierEditor } from "@/components/admin/tier-editor";
import { PageHeader } from "@/components/ui/page-header";

export const metadata: Metadata = { title: "Tiers · Admin" };

export default function AdminTiersPage() {
  return (
    <>
      <PageHeader
        title="Tiers"
        description="The pricing tiers on offer: publish new tiers and new versions, archive old ones."
      />
      <TierEditor />
    </>
  );
}
