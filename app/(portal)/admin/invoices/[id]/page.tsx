import type { Metadata } from "next";
import Link from "next/link";

import { InvoiceDetail } from "@/components/admin/invoice-detail";
import { PageHeader } from "@/components/ui/page-header";

export const metadata: Metadata = { title: "Invoice · Admin" };

export default async function AdminInvoicePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;

  return (
    <>
      <PageHeader
        title="Invoice"
        description={
          <Link href="/admin/invoices" className="text-indigo-700 hover:underline">
            ← All invoices
          </Link>
        }
      />
      <InvoiceDetail invoiceId={id} />
    </>
  );
}
