import type { Metadata } from "next";

import { SimulatedCheckout } from "@/components/payments/simulated-checkout";

export const metadata: Metadata = { title: "Checkout" };

/** The simulated gateway's hosted checkout page: where buying credits pays in the embedded default. */
export default async function SimulatedCheckoutPage({
  params,
}: {
  params: Promise<{ sessionId: string }>;
}) {
  const { sessionId } = await params;

  return (
    <div className="mx-auto max-w-lg">
      <SimulatedCheckout sessionId={sessionId} />
    </div>
  );
}
