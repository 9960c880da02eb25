import type { Metadata } from "next";
import Link from "next/link";

import { DisputeDetail } from "@/components/admin/payments-admin";
import { PageHeader } from "@/components/ui/page-header";

export const metadata: Metadata = { title: "Dispute · Admin" };

export default async function AdminDisputePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;

  return (
    <>
      <PageHeader
        title="Dispute"
        description={
          <Link href="/admin/disputes" className="text-indigo-700 hover:underline">
            ← All disputes
          </Link>
        }
      />
      <DisputeDetail disputeId={id} />
    </>
  );
}
