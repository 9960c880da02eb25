import { authRouter } from "@/server/auth/router";
import { adminBillingRouter } from "@/server/billing/admin-router";
import { billingRouter } from "@/server/billing/router";
import { purchasesRouter } from "@/server/credits/purchases-router";
import { creditsRouter } from "@/server/credits/router";
import { eventsRouter } from "@/server/events/router";
import { notificationsRouter } from "@/server/notifications/router";
import { webhooksRouter } from "@/server/notifications/webhooks/router";
import { adminReconciliationRouter } from "@/server/payments/reconciliation-router";
import { adminPaymentsRouter } from "@/server/payments/admin-router";
import { paymentsRouter } from "@/server/payments/router";
import { workspacesRouter } from "@/server/workspaces/router";
import { tiersRouter } from "@/server/workspaces/tiers-router";

import { createCallerFactory, mergeRouters, router } from "./init";

export const appRouter = router({
  auth: authRouter,
  workspaces: workspacesRouter,
  tiers: tiersRouter,
  credits: mergeRouters(creditsRouter, purchasesRouter),
  notifications: notificationsRouter,
  webhooks: webhooksRouter,
  events: eventsRouter,
  payments: paymentsRouter,
  billing: billingRouter,
  adminBilling: adminBillingRouter,
  adminReconciliation: adminReconciliationRouter,
  adminPayments: adminPaymentsRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
