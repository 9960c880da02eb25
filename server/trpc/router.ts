import { authRouter } from "@/server/auth/router";
import { creditsRouter } from "@/server/credits/router";
import { eventsRouter } from "@/server/events/router";
import { notificationsRouter } from "@/server/notifications/router";
import { webhooksRouter } from "@/server/notifications/webhooks/router";
import { workspacesRouter } from "@/server/workspaces/router";

import { createCallerFactory, router } from "./init";

export const appRouter = router({
  auth: authRouter,
  workspaces: workspacesRouter,
  credits: creditsRouter,
  notifications: notificationsRouter,
  webhooks: webhooksRouter,
  events: eventsRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
