import { z } from "zod";

import { router, workspaceProcedure } from "@/server/trpc/init";

import { upcomingInvoice } from "./cycles";
import { overageForecast } from "./forecast";
import {
  billingSummary,
  invoiceDetails,
  invoiceListInput,
  listInvoices,
  paymentHistory,
} from "./queries";

/**
 * A workspace's billing as its billing members and up see it: the plan and
 * period, invoices, payments, the next invoice. Queries only; changing the
 * tier is under `workspaces`, buying credits under `credits`.
 */
export const billingRouter = router({
  summary: workspaceProcedure("billing").query(({ ctx }) =>
    billingSummary(ctx.runtime.db, ctx.workspace.workspaceId),
  ),
  invoices: workspaceProcedure("billing")
    .input(invoiceListInput)
    .query(({ ctx, input }) => listInvoices(ctx.runtime.db, ctx.workspace.workspaceId, input)),
  invoice: workspaceProcedure("billing")
    .input(z.object({ invoiceId: z.uuid({ error: "Not an invoice id" }) }))
    .query(({ ctx, input }) =>
      invoiceDetails(ctx.runtime.db, ctx.workspace.workspaceId, input.invoiceId),
    ),
  paymentHistory: workspaceProcedure("billing").query(({ ctx }) =>
    paymentHistory(ctx.runtime.db, ctx.workspace.workspaceId),
  ),
  upcomingInvoice: workspaceProcedure("billing").query(({ ctx }) =>
    upcomingInvoice(
      ctx.runtime.db,
      ctx.workspace.workspaceId,
      ctx.runtime.clock.now(),
      ctx.runtime.executeDeps.billing,
    ),
  ),
  /** The period's overage so far and projected from its burn rate; null without a subscription. */
  overageForecast: workspaceProcedure("billing").query(({ ctx }) =>
    overageForecast(ctx.runtime.db, ctx.workspace.workspaceId, ctx.runtime.clock.now()),
  ),
});
