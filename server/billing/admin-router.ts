import { z } from "zod";

import { platformAdminProcedure, router, runCommand } from "@/server/trpc/init";

import {
  adminDunningListInput,
  adminInvoiceListInput,
  invoiceDetailForAdmin,
  listDunningCases,
  listInvoicesForAdmin,
  markInvoiceUncollectible,
  markUncollectibleInput,
  voidInvoice,
  voidInvoiceInput,
} from "./admin";
import { advanceClock, advanceClockInput, clockStatus } from "./time-travel";

/**
 * Platform admins: every invoice, one invoice's detail, void and write off; the unpaid invoices
 * being chased (dunning); the platform clock.
 */
export const adminBillingRouter = router({
  // queries
  invoices: platformAdminProcedure
    .input(adminInvoiceListInput)
    .query(({ ctx, input }) => listInvoicesForAdmin(ctx.runtime.db, input)),
  invoice: platformAdminProcedure
    .input(z.object({ invoiceId: z.uuid() }))
    .query(({ ctx, input }) => invoiceDetailForAdmin(ctx.runtime.db, input.invoiceId)),
  dunningCases: platformAdminProcedure
    .input(adminDunningListInput)
    .query(({ ctx, input }) => listDunningCases(ctx.runtime.db, input)),
  clock: platformAdminProcedure.query(({ ctx }) => clockStatus(ctx.runtime)),

  // commands
  voidInvoice: platformAdminProcedure
    .input(voidInvoiceInput)
    .mutation(({ ctx, input }) => runCommand(ctx, voidInvoice, input)),
  markUncollectible: platformAdminProcedure
    .input(markUncollectibleInput)
    .mutation(({ ctx, input }) => runCommand(ctx, markInvoiceUncollectible, input)),
  advanceClock: platformAdminProcedure.input(advanceClockInput).mutation(({ ctx, input }) =>
    advanceClock(ctx.runtime, input, {
      actor: ctx.actor,
      requestId: ctx.requestId,
      log: ctx.log,
    }),
  ),
});
