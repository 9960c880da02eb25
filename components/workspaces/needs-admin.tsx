import type { ReactNode } from "react";

import { Card, CardBody } from "@/components/ui/card";

/** What a workspace page shows a member whose role is below admin. */
export function NeedsAdmin({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Card>
      <CardBody className="py-8 text-center">
        <h2 className="text-base font-semibold text-slate-900">{title}</h2>
        <p className="mt-1 text-sm text-slate-600">{children}</p>
      </CardBody>
    </Card>
  );
}
