import { execute } from "@/server/commands";
import { publicProcedure, router } from "@/server/trpc/init";

import { confirmSignUp, confirmSignUpInput, signUp, signUpInput } from "./commands";
import { enabledOAuthProviders } from "./next-auth";

export const authRouter = router({
  // queries
  me: publicProcedure.query(({ ctx }) => ctx.user),
  signInOptions: publicProcedure.query(({ ctx }) => ({
    oauth: enabledOAuthProviders(ctx.runtime),
    devMailbox: ctx.runtime.devMailboxOpen,
  })),

  // commands
  signUp: publicProcedure.input(signUpInput).mutation(({ ctx, input }) =>
    execute(ctx.runtime, signUp, input, {
      actor: { type: "system", reason: "sign-up" },
      requestId: ctx.requestId,
      log: ctx.log,
    }),
  ),
  confirmSignUp: publicProcedure.input(confirmSignUpInput).mutation(({ ctx, input }) =>
    execute(ctx.runtime, confirmSignUp, input, {
      actor: { type: "system", reason: "sign-up confirmation" },
      requestId: ctx.requestId,
      log: ctx.log,
    }),
  ),
});
