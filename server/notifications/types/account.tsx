import { createHash } from "node:crypto";

import { eq } from "drizzle-orm";
import { z } from "zod";

import { tiers } from "@/drizzle/schema";

import { defineNotification, triggeredBy } from "../definition";
import { EmailLayout, P } from "../email-layout";
import { credits, workspaceUrl } from "../format";

const workspaceFields = { workspaceName: z.string(), workspaceSlug: z.string() };

/** Stands for a one-time link where it must not appear itself. */
function fingerprint(secret: string): string {
  return createHash("sha256").update(secret).digest("hex").slice(0, 32);
}

export const welcome = defineNotification({
  type: "account.welcome",
  label: "Welcome",
  description: "A new workspace is ready, with its first credits.",
  category: "account",
  audience: "owners",
  channels: ["email", "in_app"],
  schema: z.object({ ...workspaceFields, tierName: z.string(), initialCredits: z.number().int() }),
  sample: {
    workspaceName: "Acme Labs",
    workspaceSlug: "acme-labs",
    tierName: "Free",
    initialCredits: 1_250,
  },
  trigger: triggeredBy("workspace/created", async ({ tx, event, workspace }) => {
    const [tier] = await tx.select().from(tiers).where(eq(tiers.id, event.data.tierId));

    return {
      workspaceName: workspace?.name ?? event.data.name,
      workspaceSlug: workspace?.slug ?? event.data.slug,
      tierName: tier?.name ?? event.data.tierCode,
      initialCredits: (tier?.monthlyCredits ?? 0) + (tier?.signupBonusCredits ?? 0),
    };
  }),
  inApp: (data) => ({
    title: `${data.workspaceName} is ready`,
    body: `It starts on the ${data.tierName} tier with ${credits(data.initialCredits)}.`,
    link: `/w/${data.workspaceSlug}`,
  }),
  email: (data, { appUrl }) => ({
    subject: `Welcome to Tally, ${data.workspaceName} is ready`,
    element: (
      <EmailLayout
        preview={`${data.workspaceName} starts with ${credits(data.initialCredits)}`}
        heading={`Welcome to Tally, ${data.workspaceName} is ready`}
        action={{ label: "Open the dashboard", url: workspaceUrl(appUrl, data.workspaceSlug) }}
      >
        <P>
          Your workspace {data.workspaceName} is on the {data.tierName} tier.
        </P>
        <P>
          It starts with {credits(data.initialCredits)}: the tier&apos;s monthly allowance plus a
          signup bonus.
        </P>
        <P>
          Create an API key to meter usage from your own service, or try a feature from the
          dashboard.
        </P>
      </EmailLayout>
    ),
  }),
});

export const signUpConfirmation = defineNotification({
  type: "account.sign_up_confirmation",
  label: "Confirm your email",
  description: "The one-time link that creates a password account.",
  category: "security",
  audience: "address",
  channels: ["email"],
  schema: z.object({ url: z.url() }),
  sample: { url: "http://localhost:3000/sign-up/confirm?token=sample-token" },
  secretFields: ["url"],
  object: (data) => ({ type: "sign_up", id: fingerprint(data.url) }),
  inApp: () => ({ title: "Confirm your email", body: "A sign-up confirmation link", link: null }),
  email: (data) => ({
    subject: "Confirm your email to finish signing up",
    element: (
      <EmailLayout
        preview="One click creates your Tally account"
        heading="Confirm your email to finish signing up"
        action={{ label: "Confirm my email", url: data.url }}
        footer="You receive this because someone signed up to Tally with this address."
      >
        <P>
          Someone signed up to Tally with this address. If it was you, follow the link and enter the
          password you chose to create your account.
        </P>
        <P>
          The link expires in 24 hours. If you did not sign up, ignore this email: no account is
          created without the link and that password.
        </P>
      </EmailLayout>
    ),
  }),
});

export const magicLink = defineNotification({
  type: "account.magic_link",
  label: "Sign-in link",
  description: "A one-time link that signs a user in without a password.",
  category: "security",
  audience: "address",
  channels: ["email"],
  schema: z.object({ url: z.url(), host: z.string() }),
  sample: {
    url: "http://localhost:3000/api/auth/callback/email?token=sample",
    host: "localhost:3000",
  },
  secretFields: ["url"],
  object: (data) => ({ type: "sign_in_link", id: fingerprint(data.url) }),
  inApp: (data) => ({ title: "Sign-in link", body: `A sign-in link for ${data.host}`, link: null }),
  email: (data) => ({
    subject: "Sign in to Tally",
    element: (
      <EmailLayout
        preview={`Your sign-in link for ${data.host}`}
        heading="Sign in to Tally"
        action={{ label: "Sign in", url: data.url }}
        footer="You receive this because someone asked to sign in to Tally with this address."
      >
        <P>
          Use the link below to sign in to {data.host}. It works once and expires in 15 minutes.
        </P>
        <P>If you did not ask for it, ignore this email.</P>
      </EmailLayout>
    ),
  }),
});
