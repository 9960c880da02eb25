import { eq, inArray } from "drizzle-orm";

import { tiers, users, workspaces } from "@/drizzle/schema";
import { billingRecipients } from "@/server/auth/roles";
import type { ReactionHandler } from "@/server/events/reactions";

import { membersWithRoles, notifyUsers } from "./in-app";
import { lowBalanceEmail, welcomeEmail } from "./templates";

/** workspace/created → the welcome email to the owner. */
export const sendWelcomeEmail: ReactionHandler<"workspace/created"> = async ({ tx, event, deps }) => {
  const [owner] = await tx.select({ email: users.email }).from(users).where(eq(users.id, event.data.ownerUserId));
  if (!owner?.email) return;
  const [tier] = await tx.select().from(tiers).where(eq(tiers.id, event.data.tierId));

  const rendered = welcomeEmail({
    workspaceName: event.data.name,
    tierName: tier?.name ?? event.data.tierCode,
    initialCredits: (tier?.monthlyCredits ?? 0) + (tier?.signupBonusCredits ?? 0),
    dashboardUrl: `${deps.appUrl}/w/${event.data.slug}`,
  });
  await deps.mailer.deliver(tx, {
    type: "welcome",
    to: owner.email,
    ...rendered,
    dedupeKey: `welcome:${event.id}`,
    workspaceId: event.data.workspaceId,
  });
};

/** credits/low-balance → an in-app notice and an email to everyone who handles billing. */
export const notifyLowBalance: ReactionHandler<"credits/low-balance"> = async ({ tx, event, deps }) => {
  const [workspace] = await tx
    .select({ name: workspaces.name, slug: workspaces.slug })
    .from(workspaces)
    .where(eq(workspaces.id, event.data.workspaceId));
  if (!workspace) return;

  const recipients = await membersWithRoles(tx, event.data.workspaceId, billingRecipients);
  const userIds = recipients.map((recipient) => recipient.userId);
  const link = `/w/${workspace.slug}`;
  await notifyUsers(tx, userIds, {
    workspaceId: event.data.workspaceId,
    type: "low_balance",
    title: "Credits are running low",
    body: `${workspace.name} has ${event.data.balance.toLocaleString("en-US")} credits left, below the ${event.data.threshold.toLocaleString("en-US")}-credit threshold.`,
    link,
    dedupeKey: `low-balance:${event.id}`,
    createdAt: deps.clock.now(),
  });

  if (userIds.length === 0) return;
  const emails = await tx.select({ id: users.id, email: users.email }).from(users).where(inArray(users.id, userIds));
  const rendered = lowBalanceEmail({
    workspaceName: workspace.name,
    balance: event.data.balance,
    threshold: event.data.threshold,
    dashboardUrl: `${deps.appUrl}${link}`,
  });
  for (const recipient of emails) {
    if (!recipient.email) continue;
    await deps.mailer.deliver(tx, {
      type: "low_balance",
      to: recipient.email,
      ...rendered,
      dedupeKey: `low-balance:${event.id}:${recipient.id}`,
      workspaceId: event.data.workspaceId,
    });
  }
};
