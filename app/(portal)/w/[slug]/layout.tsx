import type { ReactNode } from "react";

import { WorkspaceFrame } from "@/components/workspaces/workspace-frame";

export default async function WorkspaceLayout({
  children,
  params,
}: {
  children: ReactNode;
  params: Promise<{ slug: string }>;
}) {
  const { slug } = await params;

  return <WorkspaceFrame slug={slug}>{children}</WorkspaceFrame>;
}
