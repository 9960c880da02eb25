import { z } from "zod";

import { execute } from "@/server/commands";
import { AppError } from "@/server/errors";
import { publicProcedure, router, signedInProcedure } from "@/server/trpc/init";

import { markRead, markReadInput } from "./commands";
import { listNotifications } from "./in-app";
import { listMailbox } from "./queries";

export const notificationsRouter = router({
  // queries
  list: signedInProcedure.query(({ ctx }) => listNotifications(ctx.runtime.db, ctx.user.id)),
  /**
   * The dev mailbox. It exists only while no SMTP server is configured. In
   * the embedded default it is open without sign-in, since it is how magic
   * links reach a local user; otherwise only platform admins may read it.
   */
  mailbox: publicProcedure
    .input(z.object({ to: z.string().max(254).optional() }).default({}))
    .query(({ ctx, input }) => {
      if (ctx.runtime.mailer.mode !== "mailbox") {
        throw new AppError("not_found", "The dev mailbox is off because SMTP_URL is set");
      }
      if (!ctx.runtime.devMailboxOpen && !ctx.user?.isPlatformAdmin) {
        throw new AppError("forbidden", "The mailbox of a production deployment is for platform admins only");
      }

      return listMailbox(ctx.runtime.db, { to: input.to });
    }),

  // commands
  markRead: signedInProcedure
    .input(markReadInput)
    .mutation(({ ctx, input }) =>
      execute(ctx.runtime, markRead, input, { actor: ctx.actor, requestId: ctx.requestId, log: ctx.log }),
    ),
});
