import type { Metadata } from "next";
import Link from "next/link";

import { PaymentDetail } from "@/components/admin/payments-admin";
import { PageHeader } from "@/components/ui/page-header";

export const metadata: Metadata = { title: "Payment · Admin" };

export default async function AdminPaymentPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;

  return (
    <>
      <PageHeader
        title="Payment"
        description={
          <Link href="/admin/payments" className="text-indigo-700 hover:underline">
            ← All payments
          </Link>
        }
      />
      <PaymentDetail paymentId={id} />
    </>
  );
}
