import { z } from "zod";

import { platformAdminProcedure, router } from "@/server/trpc/init";

import {
  adminDisputeListInput,
  adminPaymentListInput,
  adminRefundListInput,
  disputeDetailForAdmin,
  listDisputesForAdmin,
  listPaymentsForAdmin,
  listRefundsForAdmin,
  paymentDetailForAdmin,
  simulateDispute,
  simulateDisputeCloseInput,
  simulateDisputeClose,
  simulateDisputeInput,
} from "./admin";

/** Platform admins: payments, refunds and disputes; simulated disputes in the simulated default. */
export const adminPaymentsRouter = router({
  // queries
  payments: platformAdminProcedure
    .input(adminPaymentListInput)
    .query(({ ctx, input }) => listPaymentsForAdmin(ctx.runtime.db, input)),
  payment: platformAdminProcedure
    .input(z.object({ paymentId: z.uuid() }))
    .query(({ ctx, input }) =>
      paymentDetailForAdmin(ctx.runtime.db, ctx.runtime.gateway, input.paymentId),
    ),
  refunds: platformAdminProcedure
    .input(adminRefundListInput)
    .query(({ ctx, input }) => listRefundsForAdmin(ctx.runtime.db, input)),
  disputes: platformAdminProcedure
    .input(adminDisputeListInput)
    .query(({ ctx, input }) => listDisputesForAdmin(ctx.runtime.db, input)),
  dispute: platformAdminProcedure
    .input(z.object({ disputeId: z.uuid() }))
    .query(({ ctx, input }) =>
      disputeDetailForAdmin(ctx.runtime.db, ctx.runtime.gateway, input.disputeId),
    ),

  // commands (then a call to the simulated gateway, whose webhooks do the rest)
  simulateDispute: platformAdminProcedure.input(simulateDisputeInput).mutation(({ ctx, input }) =>
    simulateDispute(ctx.runtime, input, {
      actor: ctx.actor,
      requestId: ctx.requestId,
      log: ctx.log,
    }),
  ),
  simulateDisputeClose: platformAdminProcedure
    .input(simulateDisputeCloseInput)
    .mutation(({ ctx, input }) =>
      simulateDisputeClose(ctx.runtime, input, {
        actor: ctx.actor,
        requestId: ctx.requestId,
        log: ctx.log,
      }),
    ),
});
