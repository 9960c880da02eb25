import type { Metadata } from "next";

import { InvoiceDetailPage } from "@/components/billing/invoice-detail";

export const metadata: Metadata = { title: "Invoice" };

export default async function WorkspaceInvoicePage({
  params,
}: {
  params: Promise<{ slug: string; invoiceId: string }>;
}) {
  const { slug, invoiceId } = await params;

  return <InvoiceDetailPage slug={slug} invoiceId={invoiceId} />;
}
