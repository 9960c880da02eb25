import { redirect } from "next/navigation";
import type { ReactNode } from "react";

import { AppHeader } from "@/components/portal/app-header";
import { serverCaller } from "@/server/trpc/server-caller";

/** Every page under this group needs a signed-in user; the rest is decided per page. */
export default async function PortalLayout({ children }: { children: ReactNode }) {
  const me = await (await serverCaller()).auth.me();
  if (!me) redirect("/sign-in");

  return (
    <div className="min-h-screen">
      <AppHeader user={{ name: me.name, email: me.email, isPlatformAdmin: me.isPlatformAdmin }} />
      <main className="mx-auto max-w-6xl px-4 py-8 sm:px-6">{children}</main>
    </div>
  );
}
