import type { Metadata } from "next";

import { ApiKeysPanel } from "@/components/workspaces/api-keys-panel";

export const metadata: Metadata = { title: "API keys" };

export default async function ApiKeysPage({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = await params;

  return <ApiKeysPanel slug={slug} />;
}
