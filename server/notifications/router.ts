import { z } from "zod";

import { AppError } from "@/server/errors";
import {
  platformAdminProcedure,
  publicProcedure,
  router,
  runCommand,
  signedInProcedure,
  workspaceProcedure,
} from "@/server/trpc/init";

import {
  markRead,
  markReadInput,
  requeueDelivery,
  requeueFailedOfType,
  retryInput,
  sendNotification,
  sendNotificationInput,
  setPreference,
  setPreferenceInput,
} from "./commands";
import { listInbox } from "./in-app";
import {
  deliveryHistory,
  listMailbox,
  notificationStatus,
  preferencesOf,
  templatePreviews,
} from "./queries";
import { notificationTypes } from "./types";

const historyFilter = z.object({
  type: z.string().max(100).optional(),
  channel: z.enum(["email", "in_app", "webhook"]).optional(),
  status: z.enum(["pending", "sent", "delivered", "failed"]).optional(),
  recipient: z.string().max(254).optional(),
  cursor: z.object({ createdAt: z.date(), id: z.uuid() }).optional(),
  limit: z.number().int().min(1).max(200).default(50),
});

/** Platform admins: every notification, failed deliveries, template previews, manual sends. */
const adminRouter = router({
  // queries
  history: platformAdminProcedure
    .input(historyFilter.extend({ workspaceId: z.uuid().optional() }))
    .query(({ ctx, input }) => deliveryHistory(ctx.runtime.db, input)),
  status: platformAdminProcedure
    .input(z.object({ notificationId: z.uuid() }))
    .query(async ({ ctx, input }) => {
      const status = await notificationStatus(ctx.runtime.db, input.notificationId);
      if (!status) throw new AppError("not_found", "No such notification");

      return status;
    }),
  templates: platformAdminProcedure.query(({ ctx }) => templatePreviews(ctx.runtime.env.APP_URL)),
  types: platformAdminProcedure.query(() =>
    notificationTypes.map((definition) => ({
      type: definition.type,
      label: definition.label,
      audience: definition.audience,
      channels: [...definition.channels],
      sample: definition.sample,
    })),
  ),

  // commands
  retryDelivery: platformAdminProcedure.input(retryInput).mutation(async ({ ctx, input }) => {
    await runCommand(ctx, requeueDelivery, input);

    return { outcome: (await ctx.runtime.notifier.attempt(input.deliveryId)).outcome };
  }),
  retryFailed: platformAdminProcedure
    .input(z.object({ type: z.string().max(100) }))
    .mutation(async ({ ctx, input }) => {
      return runCommand(ctx, requeueFailedOfType, input);
    }),
  send: platformAdminProcedure
    .input(sendNotificationInput)
    .mutation(({ ctx, input }) => runCommand(ctx, sendNotification, input)),
});

export const notificationsRouter = router({
  // queries
  /** The bell: the signed-in user's in-app notifications. */
  list: signedInProcedure.query(({ ctx }) => listInbox(ctx.runtime.db, ctx.user.id)),
  preferences: signedInProcedure.query(({ ctx }) => preferencesOf(ctx.runtime.db, ctx.user)),
  /** A workspace's notification history, every channel and recipient; for its admins. */
  history: workspaceProcedure("admin")
    .input(historyFilter)
    .query(({ ctx, input }) =>
      deliveryHistory(ctx.runtime.db, { ...input, workspaceId: ctx.workspace.workspaceId }),
    ),
  status: workspaceProcedure("admin")
    .input(z.object({ notificationId: z.uuid() }))
    .query(async ({ ctx, input }) => {
      const status = await notificationStatus(ctx.runtime.db, input.notificationId);
      if (!status || status.workspaceId !== ctx.workspace.workspaceId)
        throw new AppError("not_found", "No such notification");

      return status;
    }),
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
        throw new AppError(
          "forbidden",
          "The mailbox of a production deployment is for platform admins only",
        );
      }

      return listMailbox(ctx.runtime.db, { to: input.to });
    }),

  // commands
  markRead: signedInProcedure
    .input(markReadInput)
    .mutation(({ ctx, input }) => runCommand(ctx, markRead, input)),
  setPreference: signedInProcedure
    .input(setPreferenceInput)
    .mutation(({ ctx, input }) => runCommand(ctx, setPreference, input)),
  /**
   * A workspace admin retries one of the workspace's deliveries now and sees the outcome. It sends
   * a notice that exists already, so a read-only workspace allows it (its suspension notice may be
   * the one that failed).
   */
  retryDelivery: workspaceProcedure("admin", {
    writes: true,
    allowedWhile: ["suspended", "cancelled"],
  })
    .input(retryInput)
    .mutation(async ({ ctx, input }) => {
      await runCommand(ctx, requeueDelivery, input);

      return { outcome: (await ctx.runtime.notifier.attempt(input.deliveryId)).outcome };
    }),

  admin: adminRouter,
});
