import type { ReactNode } from "react";

import { Brand } from "@/components/brand";

export default function AuthLayout({ children }: { children: ReactNode }) {
  return (
    <div className="flex min-h-screen flex-col items-center px-4 py-12 sm:py-20">
      <div className="mb-8">
        <Brand />
      </div>
      <main className="w-full max-w-md">{children}</main>
    </div>
  );
}
