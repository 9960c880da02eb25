import Link from "next/link";

import { Card, CardBody } from "@/components/ui/card";

/** An admin detail page whose query failed: the server's message and the way back to its list. */
export function DetailUnavailable({
  message,
  back,
}: {
  message: string;
  back: { href: string; label: string };
}) {
  return (
    <Card>
      <CardBody className="space-y-2 py-8 text-center">
        <p className="text-sm text-slate-700">{message}</p>
        <Link href={back.href} className="text-sm text-indigo-700 hover:underline">
          {back.label}
        </Link>
      </CardBody>
    </Card>
  );
}
