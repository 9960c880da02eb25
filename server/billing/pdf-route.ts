import { eq } from "drizzle-orm";
import { z } from "zod";

import { users } from "@/drizzle/schema";
import { errorResponse } from "@/server/api/http";
import { roleAtLeast } from "@/server/auth/roles";
import { AppError } from "@/server/errors";
import type { Runtime } from "@/server/runtime";
import { findMembership } from "@/server/workspaces/queries";

import { invoicePdfFilename, printableInvoice, renderInvoicePdf } from "./pdf";

const invoiceId = z.uuid();

/**
 * GET /api/invoices/<invoiceId>/pdf for the signed-in user `userId`.
 *
 *   200 application/pdf, as an attachment named after the invoice's number
 *   404 not_found   no such invoice, a draft, not signed in, or not allowed
 *
 * Billing members and up of the invoice's workspace may download it, and
 * platform admins any invoice. Everyone else gets the same 404 as for an id
 * that does not exist, so invoice ids cannot be probed.
 */
export async function invoicePdfResponse(
  runtime: Runtime,
  userId: string | null,
  rawInvoiceId: string,
  requestId: string,
): Promise<Response> {
  const notFound = () => errorResponse(new AppError("not_found", "No such invoice"), requestId);
  const parsed = invoiceId.safeParse(rawInvoiceId);
  if (!userId || !parsed.success) return notFound();

  const printable = await printableInvoice(runtime.db, parsed.data);
  if (!printable || !(await maySee(runtime, userId, printable.invoice.workspaceId))) {
    return notFound();
  }

  const pdf = await renderInvoicePdf(printable);

  return new Response(new Uint8Array(pdf), {
    status: 200,
    headers: {
      "content-type": "application/pdf",
      "content-disposition": `attachment; filename="${invoicePdfFilename(printable.invoice.number)}"`,
      "content-length": String(pdf.byteLength),
      "cache-control": "private, no-store",
      "x-request-id": requestId,
    },
  });
}

async function maySee(runtime: Runtime, userId: string, workspaceId: string): Promise<boolean> {
  const [user] = await runtime.db
    .select({ isPlatformAdmin: users.isPlatformAdmin })
    .from(users)
    .where(eq(users.id, userId));
  if (!user) return false;
  if (user.isPlatformAdmin) return true;
  const membership = await findMembership(runtime.db, userId, workspaceId);

  return membership !== undefined && roleAtLeast(membership.role, "billing");
}
