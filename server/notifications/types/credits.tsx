import { eq } from "drizzle-orm";
import { z } from "zod";

import { invoices } from "@/drizzle/schema";
import { invoicePdfFilename, printableInvoice, renderInvoicePdf } from "@/server/billing/pdf";

import { currencyCode, defineNotification, triggeredBy } from "../definition";
import { EmailLayout, Facts, P } from "../email-layout";
import { credits, money, workspaceUrl } from "../format";

const workspaceFields = { workspaceName: z.string(), workspaceSlug: z.string() };

export const lowBalance = defineNotification({
  type: "credits.low_balance",
  label: "Low balance",
  description: "The balance fell below the tier's low-balance threshold (once per crossing).",
  category: "billing",
  audience: "billing",
  channels: ["email", "in_app", "webhook"],
  schema: z.object({ ...workspaceFields, balance: z.number().int(), threshold: z.number().int() }),
  sample: { workspaceName: "Acme Labs", workspaceSlug: "acme-labs", balance: 87, threshold: 100 },
  trigger: triggeredBy("credits/low-balance", ({ event, workspace }) =>
    workspace
      ? {
          workspaceName: workspace.name,
          workspaceSlug: workspace.slug,
          balance: event.data.balance,
          threshold: event.data.threshold,
        }
      : null,
  ),
  inApp: (data) => ({
    title: "Credits are running low",
    body:
      `${data.workspaceName} has ${credits(data.balance)} left, below the ` +
      `${credits(data.threshold)} threshold.`,
    link: `/w/${data.workspaceSlug}/credits`,
  }),
  email: (data, { appUrl }) => ({
    subject: `${data.workspaceName} is running low on credits`,
    element: (
      <EmailLayout
        preview={`${credits(data.balance)} left in ${data.workspaceName}`}
        heading={`${data.workspaceName} is running low on credits`}
        action={{ label: "Review the balance", url: workspaceUrl(appUrl, data.workspaceSlug) }}
      >
        <P>
          The balance is {credits(data.balance)}, below the {credits(data.threshold)} threshold.
        </P>
        <P>When it reaches zero, calls that need credits are refused until credits are added.</P>
      </EmailLayout>
    ),
  }),
});

export const purchaseReceipt = defineNotification({
  type: "credits.purchase_receipt",
  label: "Credit purchase receipt",
  description: "A credit pack was paid for and its credits granted.",
  category: "billing",
  audience: "billing",
  channels: ["email", "in_app", "webhook"],
  schema: z.object({
    ...workspaceFields,
    credits: z.number().int(),
    amountMinor: z.number().int(),
    currency: currencyCode,
    paymentId: z.string(),
    grantId: z.string(),
    /** Absent on receipts written before purchases had invoices. */
    purchaseId: z.string().optional(),
  }),
  sample: {
    workspaceName: "Acme Labs",
    workspaceSlug: "acme-labs",
    credits: 10_000,
    amountMinor: 2_900,
    currency: "USD",
    paymentId: "pi_sim3Q1x0Zk8h2W9rTnA5bLcV",
    grantId: "0b9d3c1e-5f1a-4c55-9e52-7f1c2a7d8e11",
  },
  trigger: triggeredBy("credits/purchased", ({ event, workspace }) =>
    workspace
      ? {
          workspaceName: workspace.name,
          workspaceSlug: workspace.slug,
          credits: event.data.credits,
          amountMinor: event.data.amountMinor,
          currency: event.data.currency,
          paymentId: event.data.paymentId,
          grantId: event.data.grantId,
          purchaseId: event.data.purchaseId,
        }
      : null,
  ),
  inApp: (data) => ({
    title: "Credits purchased",
    body:
      `${credits(data.credits)} added to ${data.workspaceName} for ` +
      `${money(data.amountMinor, data.currency)}.`,
    link: `/w/${data.workspaceSlug}/credits`,
  }),
  email: (data, { appUrl }) => ({
    subject: `Receipt: ${credits(data.credits)} for ${data.workspaceName}`,
    element: (
      <EmailLayout
        preview={`${money(data.amountMinor, data.currency)} paid for ${credits(data.credits)}`}
        heading="Thank you for your purchase"
        action={{ label: "See the balance", url: workspaceUrl(appUrl, data.workspaceSlug) }}
      >
        <P>The credits are in {data.workspaceName} and ready to use.</P>
        <Facts
          rows={[
            ["Credits", credits(data.credits)],
            ["Paid", money(data.amountMinor, data.currency)],
            ["Payment", data.paymentId],
          ]}
        />
      </EmailLayout>
    ),
  }),
  /**
   * The purchase's invoice (issued, paid, by billing-purchase-invoice on the
   * same event), when it exists by the time the email goes out.
   */
  attachments: async (data, { db }) => {
    if (!data.purchaseId) return [];
    const [row] = await db
      .select({ id: invoices.id })
      .from(invoices)
      .where(eq(invoices.purchaseId, data.purchaseId));
    const invoice = row ? await printableInvoice(db, row.id) : undefined;
    if (!invoice) return [];

    return [
      {
        filename: invoicePdfFilename(invoice.invoice.number),
        contentType: "application/pdf",
        content: await renderInvoicePdf(invoice),
      },
    ];
  },
});

export const creditsExpired = defineNotification({
  type: "credits.expired",
  label: "Credits expired",
  description: "A grant reached its expiry with credits left.",
  category: "product",
  audience: "billing",
  channels: ["email", "in_app", "webhook"],
  schema: z.object({
    ...workspaceFields,
    credits: z.number().int(),
    balanceAfter: z.number().int(),
  }),
  sample: {
    workspaceName: "Acme Labs",
    workspaceSlug: "acme-labs",
    credits: 400,
    balanceAfter: 3_100,
  },
  trigger: triggeredBy("credits/expired", ({ event, workspace }) =>
    workspace
      ? {
          workspaceName: workspace.name,
          workspaceSlug: workspace.slug,
          credits: event.data.credits,
          balanceAfter: event.data.balanceAfter,
        }
      : null,
  ),
  inApp: (data) => ({
    title: "Credits expired",
    body:
      `${credits(data.credits)} expired in ${data.workspaceName}; the balance is ` +
      `${credits(data.balanceAfter)}.`,
    link: `/w/${data.workspaceSlug}/credits`,
  }),
  email: (data, { appUrl }) => ({
    subject: `${credits(data.credits)} expired in ${data.workspaceName}`,
    element: (
      <EmailLayout
        preview={`The balance is now ${credits(data.balanceAfter)}`}
        heading={`${credits(data.credits)} expired`}
        action={{ label: "See the balance", url: workspaceUrl(appUrl, data.workspaceSlug) }}
      >
        <P>
          A grant in {data.workspaceName} reached its expiry with {credits(data.credits)} unused.
          The balance is now {credits(data.balanceAfter)}.
        </P>
      </EmailLayout>
    ),
  }),
});

export const topUpFailed = defineNotification({
  type: "credits.top_up_failed",
  label: "Auto top-up failed",
  description: "An automatic top-up could not buy credits: a declined card, or its monthly limit.",
  category: "billing",
  audience: "billing",
  channels: ["email", "in_app", "webhook"],
  schema: z.object({ ...workspaceFields, reason: z.string() }),
  sample: {
    workspaceName: "Acme Labs",
    workspaceSlug: "acme-labs",
    reason: "Your card was declined.",
  },
  trigger: triggeredBy("credits/top-up-failed", ({ event, workspace }) =>
    workspace
      ? { workspaceName: workspace.name, workspaceSlug: workspace.slug, reason: event.data.reason }
      : null,
  ),
  inApp: (data) => ({
    title: "Auto top-up failed",
    body: `No credits were bought for ${data.workspaceName}: ${data.reason}`,
    link: `/w/${data.workspaceSlug}/credits`,
  }),
  email: (data, { appUrl }) => ({
    subject: `Auto top-up failed for ${data.workspaceName}`,
    element: (
      <EmailLayout
        preview={`No credits were bought for ${data.workspaceName}`}
        heading="An automatic top-up did not go through"
        action={{
          label: "Review auto top-up",
          url: workspaceUrl(appUrl, data.workspaceSlug, "/credits"),
        }}
      >
        <P>
          The balance of {data.workspaceName} fell below its auto top-up threshold, but no credits
          were bought: {data.reason}
        </P>
        <P>
          Another top-up is tried the next time the balance falls below the threshold. To add
          credits now, buy a pack on the credits page.
        </P>
      </EmailLayout>
    ),
  }),
});
