import { z } from "zod";

import { defineNotification, triggeredBy } from "../definition";
import { EmailLayout, P } from "../email-layout";
import { when, workspaceUrl } from "../format";

const workspaceFields = { workspaceName: z.string(), workspaceSlug: z.string() };
const instant = z.iso.datetime({ offset: true });

export const trialEnding = defineNotification({
  type: "promotions.trial_ending",
  label: "Trial ending",
  description: "A trial ends soon.",
  category: "billing",
  audience: "billing",
  channels: ["email", "in_app", "webhook"],
  schema: z.object({ ...workspaceFields, endsAt: instant }),
  sample: {
    workspaceName: "Acme Labs",
    workspaceSlug: "acme-labs",
    endsAt: "2027-03-10T00:00:00.000Z",
  },
  trigger: triggeredBy("promotions/trial-ending", ({ event, workspace }) =>
    workspace
      ? { workspaceName: workspace.name, workspaceSlug: workspace.slug, endsAt: event.data.endsAt }
      : null,
  ),
  inApp: (data) => ({
    title: "Your trial ends soon",
    body: `The trial of ${data.workspaceName} ends on ${when(data.endsAt)}.`,
    link: `/w/${data.workspaceSlug}`,
  }),
  email: (data, { appUrl }) => ({
    subject: `Your Tally trial for ${data.workspaceName} ends ${when(data.endsAt)}`,
    element: (
      <EmailLayout
        preview={`Ends ${when(data.endsAt)}`}
        heading="Your trial ends soon"
        action={{ label: "Choose a plan", url: workspaceUrl(appUrl, data.workspaceSlug) }}
      >
        <P>
          The trial of {data.workspaceName} ends on {when(data.endsAt)}. Add a payment method to
          keep its tier, or it moves to the free tier.
        </P>
      </EmailLayout>
    ),
  }),
});

export const promotionApplied = defineNotification({
  type: "promotions.applied",
  label: "Promotion applied",
  description: "A promotion code was redeemed.",
  category: "product",
  audience: "billing",
  channels: ["email", "in_app", "webhook"],
  schema: z.object({ ...workspaceFields, code: z.string(), redemptionId: z.string() }),
  sample: {
    workspaceName: "Acme Labs",
    workspaceSlug: "acme-labs",
    code: "LAUNCH20",
    redemptionId: "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6",
  },
  trigger: triggeredBy("promotions/applied", ({ event, workspace }) =>
    workspace
      ? {
          workspaceName: workspace.name,
          workspaceSlug: workspace.slug,
          code: event.data.code,
          redemptionId: event.data.redemptionId,
        }
      : null,
  ),
  inApp: (data) => ({
    title: `Promotion ${data.code} applied`,
    body: `${data.workspaceName} redeemed ${data.code}.`,
    link: `/w/${data.workspaceSlug}`,
  }),
  email: (data, { appUrl }) => ({
    subject: `Promotion ${data.code} applied to ${data.workspaceName}`,
    element: (
      <EmailLayout
        preview={`${data.code} is active`}
        heading={`Promotion ${data.code} applied`}
        action={{ label: "See the details", url: workspaceUrl(appUrl, data.workspaceSlug) }}
      >
        <P>
          The promotion {data.code} is now active on {data.workspaceName}.
        </P>
      </EmailLayout>
    ),
  }),
});

export const promotionExpiring = defineNotification({
  type: "promotions.expiring",
  label: "Promotion expiring",
  description: "A redeemed promotion ends soon.",
  category: "product",
  audience: "billing",
  channels: ["email", "in_app", "webhook"],
  schema: z.object({
    ...workspaceFields,
    code: z.string(),
    expiresAt: instant,
    redemptionId: z.string(),
  }),
  sample: {
    workspaceName: "Acme Labs",
    workspaceSlug: "acme-labs",
    code: "LAUNCH20",
    expiresAt: "2027-04-01T00:00:00.000Z",
    redemptionId: "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6",
  },
  // TODO: a promotions cron sends this ahead of expiry; until promotions exist it is only
  // previewed.
  object: (data) => ({ type: "promotion_redemption", id: data.redemptionId }),
  inApp: (data) => ({
    title: `${data.code} ends soon`,
    body: `The promotion on ${data.workspaceName} ends on ${when(data.expiresAt)}.`,
    link: `/w/${data.workspaceSlug}`,
  }),
  email: (data, { appUrl }) => ({
    subject: `${data.code} on ${data.workspaceName} ends ${when(data.expiresAt)}`,
    element: (
      <EmailLayout
        preview={`Ends ${when(data.expiresAt)}`}
        heading={`${data.code} ends soon`}
        action={{ label: "Open the workspace", url: workspaceUrl(appUrl, data.workspaceSlug) }}
      >
        <P>
          The promotion {data.code} on {data.workspaceName} ends on {when(data.expiresAt)}.
        </P>
      </EmailLayout>
    ),
  }),
});
