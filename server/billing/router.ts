import { z } from "zod";

import { router, workspaceProcedure } from "@/server/trpc/init";

import { upcomingInvoice } from "./cycles";
import { dunningStanding } from "./dunning";
import { overageForecast } from "./forecast";
import { beginCardSetup, payInvoiceInput, payInvoiceNow } from "./payment-methods";
import {
  billingSummary,
  invoiceDetails,
  invoiceListInput,
  listInvoices,
  paymentHistory,
} from "./queries";

/**
 * A workspace's billing as its billing members and up see it: the plan and
 * period, invoices, payments, the next invoice, the card and any unpaid
 * invoice being chased; saving a card and paying an open invoice now.
 * Changing the tier is under `workspaces`, buying credits under `credits`.
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
  /** The unpaid invoices being chased (past due, or suspended for); null when none. */
  dunning: workspaceProcedure("billing").query(({ ctx }) =>
    dunningStanding(ctx.runtime.db, ctx.workspace.workspaceId),
  ),

  // commands
  /** Opens the gateway's page for saving (or replacing) the card; returns where to go. */
  startCardSetup: workspaceProcedure("billing", {
    writes: true,
    allowedWhile: ["suspended"],
  }).mutation(({ ctx }) =>
    beginCardSetup(
      ctx.runtime,
      { workspaceId: ctx.workspace.workspaceId },
      { actor: ctx.actor, requestId: ctx.requestId, log: ctx.log },
    ),
  ),
  /** Charges an open invoice now with the saved card. */
  payInvoice: workspaceProcedure("billing", { writes: true, allowedWhile: ["suspended"] })
    .input(payInvoiceInput.pick({ invoiceId: true }))
    .mutation(({ ctx, input }) =>
      payInvoiceNow(
        ctx.runtime,
        { workspaceId: ctx.workspace.workspaceId, invoiceId: input.invoiceId },
        { actor: ctx.actor, requestId: ctx.requestId, log: ctx.log },
      ),
    ),
});
