import { z } from "zod";

import { formatMoney } from "@/server/money";

import { defineNotification, triggeredBy } from "../definition";
import { EmailLayout, Facts, P } from "../email-layout";

const disputeFacts = z.object({
  workspaceName: z.string(),
  disputeId: z.string(),
  amountMinor: z.number().int(),
  currency: z.string(),
  clawedBackCredits: z.number().int(),
  shortfallCredits: z.number().int(),
});

export const disputeOpened = defineNotification({
  type: "payments.dispute_opened",
  label: "Payment disputed",
  description:
    "A customer disputed a payment at their bank; the unspent credits were clawed back. For " +
    "platform admins.",
  category: "operations",
  audience: "platform_admins",
  channels: ["email", "in_app"],
  schema: disputeFacts,
  sample: {
    workspaceName: "Acme Labs",
    disputeId: "0b9f5a52-3f4e-4f0a-9a59-1f2e3d4c5b6a",
    amountMinor: 4900,
    currency: "USD",
    clawedBackCredits: 6_500,
    shortfallCredits: 3_500,
  },
  trigger: triggeredBy("payments/dispute-opened", ({ event, workspace }) => ({
    workspaceName: workspace?.name ?? "a deleted workspace",
    disputeId: event.data.disputeId,
    amountMinor: event.data.amountMinor,
    currency: event.data.currency,
    clawedBackCredits: event.data.clawedBackCredits,
    shortfallCredits: event.data.shortfallCredits,
  })),
  inApp: (data) => ({
    title: `Payment disputed: ${formatMoney(data.amountMinor, data.currency)}`,
    body:
      `${data.workspaceName}: ${data.clawedBackCredits.toLocaleString("en-US")} credits clawed ` +
      `back, ${data.shortfallCredits.toLocaleString("en-US")} already spent.`,
    link: `/admin/disputes/${data.disputeId}`,
  }),
  email: (data, { appUrl }) => ({
    subject: `Payment disputed by ${data.workspaceName} (${formatMoney(data.amountMinor, data.currency)})`,
    element: (
      <EmailLayout
        preview={`${data.workspaceName} disputed a payment`}
        heading="A payment was disputed"
        action={{ label: "Open the dispute", url: `${appUrl}/admin/disputes/${data.disputeId}` }}
        footer="You receive this because you are a Tally platform administrator."
      >
        <P>Respond with evidence at the payment gateway before its deadline.</P>
        <Facts
          rows={[
            ["Workspace", data.workspaceName],
            ["Amount", formatMoney(data.amountMinor, data.currency)],
            ["Credits clawed back", data.clawedBackCredits.toLocaleString("en-US")],
            ["Already spent", data.shortfallCredits.toLocaleString("en-US")],
          ]}
        />
      </EmailLayout>
    ),
  }),
});

export const disputeClosed = defineNotification({
  type: "payments.dispute_closed",
  label: "Dispute decided",
  description: "A dispute was won (credits reinstated) or lost. For platform admins.",
  category: "operations",
  audience: "platform_admins",
  channels: ["in_app"],
  schema: z.object({
    workspaceName: z.string(),
    disputeId: z.string(),
    outcome: z.enum(["won", "lost"]),
    reinstatedCredits: z.number().int(),
  }),
  sample: {
    workspaceName: "Acme Labs",
    disputeId: "0b9f5a52-3f4e-4f0a-9a59-1f2e3d4c5b6a",
    outcome: "won",
    reinstatedCredits: 6_500,
  },
  trigger: triggeredBy("payments/dispute-closed", ({ event, workspace }) => ({
    workspaceName: workspace?.name ?? "a deleted workspace",
    disputeId: event.data.disputeId,
    outcome: event.data.outcome,
    reinstatedCredits: event.data.reinstatedCredits,
  })),
  inApp: (data) => ({
    title: `Dispute ${data.outcome}: ${data.workspaceName}`,
    body:
      data.outcome === "won"
        ? `${data.reinstatedCredits.toLocaleString("en-US")} credits reinstated.`
        : "The money went back to the customer by chargeback.",
    link: `/admin/disputes/${data.disputeId}`,
  }),
  email: (data, { appUrl }) => ({
    subject: `Dispute ${data.outcome}: ${data.workspaceName}`,
    element: (
      <EmailLayout
        preview={`Dispute ${data.outcome}`}
        heading={`The dispute was ${data.outcome}`}
        action={{ label: "Open the dispute", url: `${appUrl}/admin/disputes/${data.disputeId}` }}
        footer="You receive this because you are a Tally platform administrator."
      >
        <P>
          {data.outcome === "won"
            ? `${data.reinstatedCredits.toLocaleString("en-US")} credits were reinstated.`
            : "The money went back to the customer by chargeback."}
        </P>
      </EmailLayout>
    ),
  }),
});
