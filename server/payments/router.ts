import { z } from "zod";

import { router, signedInProcedure } from "@/server/trpc/init";

import { SIMULATED_CARDS, type SimulatedCard } from "./simulated";
import {
  cancelSimulatedCheckout,
  paySimulatedCheckout,
  simulatedCheckoutPage,
} from "./simulated-checkout";

const session = z.object({ sessionId: z.string().min(1).max(100) });
const card = z.enum(Object.keys(SIMULATED_CARDS) as [SimulatedCard, ...SimulatedCard[]], {
  error: "Choose one of the test cards",
});

/**
 * The simulated gateway's checkout page (embedded default only). The session,
 * not the input, names the workspace, so its rights are checked in
 * simulated-checkout.ts rather than by workspaceProcedure.
 */
const checkoutProcedure = signedInProcedure.meta({
  access: {
    kind: "signed_in",
    scope: "billing members and up of the checkout's workspace; anyone else gets `not_found`",
  },
});

export const paymentsRouter = router({
  simulatedCheckout: router({
    // queries
    get: checkoutProcedure
      .input(session)
      .query(({ ctx, input }) => simulatedCheckoutPage(ctx.runtime, ctx.user.id, input.sessionId)),

    // commands
    pay: checkoutProcedure
      .input(session.extend({ card }))
      .mutation(({ ctx, input }) =>
        paySimulatedCheckout(ctx.runtime, ctx.user.id, input.sessionId, input.card),
      ),
    cancel: checkoutProcedure
      .input(session)
      .mutation(({ ctx, input }) =>
        cancelSimulatedCheckout(ctx.runtime, ctx.user.id, input.sessionId),
      ),
  }),
});
