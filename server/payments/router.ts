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

/** The simulated gateway's checkout page (embedded default only). */
export const paymentsRouter = router({
  simulatedCheckout: router({
    // queries
    get: signedInProcedure
      .input(session)
      .query(({ ctx, input }) => simulatedCheckoutPage(ctx.runtime, ctx.user.id, input.sessionId)),

    // commands
    pay: signedInProcedure
      .input(session.extend({ card }))
      .mutation(({ ctx, input }) =>
        paySimulatedCheckout(ctx.runtime, ctx.user.id, input.sessionId, input.card),
      ),
    cancel: signedInProcedure
      .input(session)
      .mutation(({ ctx, input }) =>
        cancelSimulatedCheckout(ctx.runtime, ctx.user.id, input.sessionId),
      ),
  }),
});
