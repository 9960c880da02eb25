import type { Metadata } from "next";

import { CreateWorkspaceForm } from "@/components/workspaces/create-workspace-form";

export const metadata: Metadata = { title: "New workspace" };

export default function NewWorkspacePage() {
  return (
    <div className="mx-auto max-w-xl">
      <div className="mb-6">
        <h1 className="text-2xl font-semibold tracking-tight text-slate-900">Create a workspace</h1>
        <p className="mt-1 text-sm text-slate-500">
          A workspace holds one product&apos;s credits, API keys and billing. It starts with its
          tier&apos;s monthly allowance plus a signup bonus.
        </p>
      </div>
      <CreateWorkspaceForm />
    </div>
  );
}
