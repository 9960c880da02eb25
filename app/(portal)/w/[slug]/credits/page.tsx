import type { Metadata } from "next";

import { CreditsPage } from "@/components/credits/credits-page";

export const metadata: Metadata = { title: "Credits" };

/** `?purchase=<id>` (and `&checkout=cancelled`) is where a checkout sends the browser back. */
export default async function WorkspaceCreditsPage({
  params,
  searchParams,
}: {
  params: Promise<{ slug: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { slug } = await params;
  const query = await searchParams;
  const purchase = typeof query.purchase === "string" ? query.purchase : undefined;
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

  return (
    <CreditsPage
      slug={slug}
      returned={{
        purchaseId: purchase && uuid.test(purchase) ? purchase : undefined,
        cancelled: query.checkout === "cancelled",
      }}
    />
  );
}
