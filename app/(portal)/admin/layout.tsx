import type { ReactNode } from "react";

import { AdminNav } from "@/components/admin/admin-nav";
import { ButtonLink } from "@/components/ui/button";
import { Card, CardBody } from "@/components/ui/card";
import { serverCaller } from "@/server/trpc/server-caller";

/** Platform administrators only; the procedures refuse others too, this just says so plainly. */
export default async function AdminLayout({ children }: { children: ReactNode }) {
  const me = await (await serverCaller()).auth.me();
  if (!me?.isPlatformAdmin) {
    return (
      <Card className="mx-auto max-w-lg">
        <CardBody className="space-y-3 py-10 text-center">
          <p className="text-sm font-semibold text-indigo-600">403</p>
          <h1 className="text-xl font-semibold text-slate-900">Platform administrators only</h1>
          <p className="text-sm text-slate-600">
            The admin pages show every workspace&apos;s events. Your account does not have platform
            admin rights.
          </p>
          <ButtonLink href="/" variant="secondary">
            Back to your workspaces
          </ButtonLink>
        </CardBody>
      </Card>
    );
  }

  return (
    <>
      <AdminNav />
      {children}
    </>
  );
}
