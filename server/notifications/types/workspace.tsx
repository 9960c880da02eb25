import { eq } from "drizzle-orm";
import { z } from "zod";

import { tiers } from "@/drizzle/schema";

import { defineNotification, triggeredBy } from "../definition";
import { EmailLayout, Facts, P } from "../email-layout";
import { when, workspaceUrl } from "../format";

const workspaceFields = { workspaceName: z.string(), workspaceSlug: z.string() };
const instant = z.iso.datetime({ offset: true });

export const suspended = defineNotification({
  type: "workspace.suspended",
  label: "Workspace suspended",
  description: "The workspace was suspended; its API keys are refused.",
  category: "billing",
  audience: "billing",
  channels: ["email", "in_app", "webhook"],
  schema: z.object({ ...workspaceFields, reason: z.string() }),
  sample: {
    workspaceName: "Acme Labs",
    workspaceSlug: "acme-labs",
    reason: "Payment failed after 4 retries",
  },
  trigger: triggeredBy("workspace/suspended", ({ event, workspace }) =>
    workspace
      ? { workspaceName: workspace.name, workspaceSlug: workspace.slug, reason: event.data.reason }
      : null,
  ),
  inApp: (data) => ({
    title: `${data.workspaceName} is suspended`,
    body:
      `${data.reason.replace(/[.\s]+$/, "")}. API calls are refused until it is reactivated: ` +
      `pay the open invoice or contact support.`,
    link: `/w/${data.workspaceSlug}`,
  }),
  email: (data, { appUrl }) => ({
    subject: `${data.workspaceName} is suspended`,
    element: (
      <EmailLayout
        preview="API calls are refused until it is reactivated"
        heading={`${data.workspaceName} is suspended`}
        action={{ label: "See what to do", url: workspaceUrl(appUrl, data.workspaceSlug) }}
      >
        <P>Reason: {data.reason}.</P>
        <P>
          While suspended, the metering API refuses every call and the portal is read-only; buying
          credits still works. To reactivate it, pay the open invoice or contact support.
        </P>
      </EmailLayout>
    ),
  }),
});

export const reactivated = defineNotification({
  type: "workspace.reactivated",
  label: "Workspace reactivated",
  description: "A suspended workspace works again.",
  category: "billing",
  audience: "billing",
  channels: ["email", "in_app", "webhook"],
  schema: z.object(workspaceFields),
  sample: { workspaceName: "Acme Labs", workspaceSlug: "acme-labs" },
  trigger: triggeredBy("workspace/reactivated", ({ workspace }) =>
    workspace ? { workspaceName: workspace.name, workspaceSlug: workspace.slug } : null,
  ),
  inApp: (data) => ({
    title: `${data.workspaceName} is active again`,
    body: "API keys work again and the portal accepts changes.",
    link: `/w/${data.workspaceSlug}`,
  }),
  email: (data, { appUrl }) => ({
    subject: `${data.workspaceName} is active again`,
    element: (
      <EmailLayout
        preview="API keys work again"
        heading={`${data.workspaceName} is active again`}
        action={{ label: "Open the dashboard", url: workspaceUrl(appUrl, data.workspaceSlug) }}
      >
        <P>The workspace is reactivated: its API keys work again and the portal accepts changes.</P>
      </EmailLayout>
    ),
  }),
});

export const tierChanged = defineNotification({
  type: "workspace.tier_changed",
  label: "Tier changed",
  description: "The workspace moved to another tier.",
  category: "account",
  audience: "admins",
  channels: ["email", "in_app", "webhook"],
  schema: z.object({
    ...workspaceFields,
    fromTier: z.string(),
    toTier: z.string(),
    effectiveAt: instant,
  }),
  sample: {
    workspaceName: "Acme Labs",
    workspaceSlug: "acme-labs",
    fromTier: "Free",
    toTier: "Pro",
    effectiveAt: "2027-03-01T00:00:00.000Z",
  },
  trigger: triggeredBy("workspace/tier-changed", async ({ tx, event, workspace }) => {
    if (!workspace) return null;
    const name = async (id: string) =>
      (await tx.select({ name: tiers.name }).from(tiers).where(eq(tiers.id, id)))[0]?.name ?? id;

    return {
      workspaceName: workspace.name,
      workspaceSlug: workspace.slug,
      fromTier: await name(event.data.fromTierId),
      toTier: await name(event.data.toTierId),
      effectiveAt: event.data.effectiveAt,
    };
  }),
  inApp: (data) => ({
    title: `Now on the ${data.toTier} tier`,
    body:
      `${data.workspaceName} moved from ${data.fromTier} to ${data.toTier} on ` +
      `${when(data.effectiveAt)}.`,
    link: `/w/${data.workspaceSlug}`,
  }),
  email: (data, { appUrl }) => ({
    subject: `${data.workspaceName} is now on the ${data.toTier} tier`,
    element: (
      <EmailLayout
        preview={`From ${data.fromTier} to ${data.toTier}`}
        heading={`${data.workspaceName} is on the ${data.toTier} tier`}
        action={{ label: "See the plan", url: workspaceUrl(appUrl, data.workspaceSlug) }}
      >
        <Facts
          rows={[
            ["From", data.fromTier],
            ["To", data.toTier],
            ["Since", when(data.effectiveAt)],
          ]}
        />
      </EmailLayout>
    ),
  }),
});

export const cancelled = defineNotification({
  type: "workspace.cancelled",
  label: "Workspace cancelled",
  description:
    "The workspace was cancelled: now, or at the end of the period a cancellation was asked for.",
  category: "billing",
  audience: "owners",
  channels: ["email", "in_app", "webhook"],
  schema: z.object({ ...workspaceFields, effectiveAt: instant, immediate: z.boolean() }),
  sample: {
    workspaceName: "Acme Labs",
    workspaceSlug: "acme-labs",
    effectiveAt: "2027-03-31T00:00:00.000Z",
    immediate: false,
  },
  trigger: triggeredBy("workspace/cancelled", ({ event, workspace }) =>
    workspace
      ? {
          workspaceName: workspace.name,
          workspaceSlug: workspace.slug,
          effectiveAt: event.data.effectiveAt,
          immediate: event.data.immediate,
        }
      : null,
  ),
  inApp: (data) => ({
    title: `${data.workspaceName} is cancelled`,
    body: data.immediate
      ? "The cancellation took effect now; the workspace is read-only."
      : `The cancellation took effect at the end of its period, ${when(data.effectiveAt)}; the ` +
        `workspace is read-only.`,
    link: `/w/${data.workspaceSlug}`,
  }),
  email: (data, { appUrl }) => ({
    subject: `${data.workspaceName} is cancelled`,
    element: (
      <EmailLayout
        preview={data.immediate ? "Effective now" : `Effective ${when(data.effectiveAt)}`}
        heading={`${data.workspaceName} is cancelled`}
        action={{ label: "Open the workspace", url: workspaceUrl(appUrl, data.workspaceSlug) }}
      >
        <P>
          {data.immediate
            ? "It took effect now. The unused part of the base fee is credited on your next " +
              "invoice."
            : `The cancellation you asked for took effect at the end of its period, ` +
              `${when(data.effectiveAt)}.`}
        </P>
        <P>
          The workspace is read-only and its API keys are refused. Its data is deleted 30 days after
          cancellation, or sooner if an owner deletes it; invoices, payments and the audit trail are
          kept as records.
        </P>
      </EmailLayout>
    ),
  }),
});

export const collaboratorInvite = defineNotification({
  type: "workspace.collaborator_invite",
  label: "Invitation to a workspace",
  description: "Someone invited this address to join a workspace.",
  category: "security",
  audience: "address",
  channels: ["email"],
  schema: z.object({
    workspaceName: z.string(),
    inviterName: z.string(),
    role: z.string(),
    acceptUrl: z.url(),
    expiresAt: instant,
    invitationId: z.string(),
  }),
  sample: {
    workspaceName: "Acme Labs",
    inviterName: "Ada Lovelace",
    role: "member",
    acceptUrl: "http://localhost:3000/invite/sample-token",
    expiresAt: "2027-03-08T09:00:00.000Z",
    invitationId: "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f",
  },
  secretFields: ["acceptUrl"],
  // Sent by the reaction that makes the link (server/workspaces/members.ts sendInvitation).
  object: (data) => ({ type: "invitation", id: data.invitationId }),
  inApp: (data) => ({
    title: `Invitation to ${data.workspaceName}`,
    body: `${data.inviterName} invited you as ${data.role}.`,
    link: null,
  }),
  email: (data) => ({
    subject: `${data.inviterName} invited you to ${data.workspaceName} on Tally`,
    element: (
      <EmailLayout
        preview={`Join ${data.workspaceName} as ${data.role}`}
        heading={`Join ${data.workspaceName} on Tally`}
        action={{ label: "Accept the invitation", url: data.acceptUrl }}
        footer="You receive this because someone invited this address to a Tally workspace."
      >
        <P>
          {data.inviterName} invited you to {data.workspaceName} as {data.role}. The invitation
          expires on {when(data.expiresAt)}.
        </P>
        <P>If you do not know {data.inviterName}, ignore this email.</P>
      </EmailLayout>
    ),
  }),
});
