import { publicProcedure, router, runCommand } from "@/server/trpc/init";

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
  signUp: publicProcedure
    .input(signUpInput)
    .mutation(({ ctx, input }) => runCommand(ctx, signUp, input)),
  confirmSignUp: publicProcedure
    .input(confirmSignUpInput)
    .mutation(({ ctx, input }) => runCommand(ctx, confirmSignUp, input)),
});
