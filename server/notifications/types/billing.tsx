import { z } from "zod";

import { currencyCode, defineNotification, triggeredBy } from "../definition";
import { EmailLayout, Facts, P } from "../email-layout";
import { money, when, workspaceUrl } from "../format";
import { invoiceDate } from "@/server/billing/invoice-view";
import { invoicePdfFilename, printableInvoice, renderInvoicePdf } from "@/server/billing/pdf";

const workspaceFields = { workspaceName: z.string(), workspaceSlug: z.string() };
const amount = { amountMinor: z.number().int(), currency: currencyCode };

export const invoiceIssued = defineNotification({
  type: "billing.invoice_issued",
  label: "Invoice issued",
  description: "An invoice was finalized; the email carries its PDF.",
  category: "billing",
  audience: "billing",
  channels: ["email", "in_app", "webhook"],
  schema: z.object({
    ...workspaceFields,
    invoiceId: z.string(),
    number: z.string(),
    status: z.enum(["open", "paid", "void", "uncollectible"]),
    totalMinor: z.number().int(),
    amountDueMinor: z.number().int(),
    currency: currencyCode,
    dueAt: z.iso.datetime({ offset: true }).nullable(),
  }),
  sample: {
    workspaceName: "Acme Labs",
    workspaceSlug: "acme-labs",
    invoiceId: "5a0f6b7e-2c1d-4e9a-8b3f-6d2e1c0b9a87",
    number: "INV-2027-000001",
    status: "open",
    totalMinor: 4_900,
    amountDueMinor: 4_900,
    currency: "USD",
    dueAt: "2027-01-19T09:00:00.000Z",
  },
  trigger: triggeredBy("billing/invoice-generated", async ({ tx, event, workspace }) => {
    // A credit pack's invoice is paid at checkout: it rides on the purchase receipt instead.
    if (!workspace || event.data.kind === "purchase") return null;
    const invoice = await printableInvoice(tx, event.data.invoiceId);
    if (!invoice) return null;

    return {
      workspaceName: workspace.name,
      workspaceSlug: workspace.slug,
      invoiceId: invoice.invoice.id,
      number: invoice.invoice.number,
      status: invoice.invoice.status,
      totalMinor: invoice.invoice.totalMinor,
      amountDueMinor: invoice.invoice.amountDueMinor,
      currency: invoice.invoice.currency,
      dueAt: invoice.invoice.dueAt?.toISOString() ?? null,
    };
  }),
  inApp: (data) => ({
    title: `Invoice ${data.number}`,
    body: `${invoiceStanding(data)} for ${data.workspaceName}.`,
    link: `/w/${data.workspaceSlug}/billing`,
  }),
  email: (data, { appUrl }) => ({
    subject: `Invoice ${data.number} — ${invoiceStanding(data)}`,
    element: (
      <EmailLayout
        preview={`${data.workspaceName}: ${invoiceStanding(data)}`}
        heading={`Invoice ${data.number}`}
        action={{
          label: "Open billing",
          url: workspaceUrl(appUrl, data.workspaceSlug, "/billing"),
        }}
      >
        <P>
          {data.amountDueMinor > 0 && data.status === "open"
            ? `A new invoice for ${data.workspaceName} is ready; the PDF is attached.`
            : `A new invoice for ${data.workspaceName} is ready and settled; the PDF is attached.`}
        </P>
        <Facts
          rows={[
            ["Invoice", data.number],
            ["Total", money(data.totalMinor, data.currency)],
            ["Amount due", money(data.status === "open" ? data.amountDueMinor : 0, data.currency)],
            ...(data.dueAt && data.status === "open" && data.amountDueMinor > 0
              ? [["Due by", invoiceDate(data.dueAt)] as [string, string]]
              : []),
          ]}
        />
      </EmailLayout>
    ),
  }),
  attachments: async (data, { db }) => {
    const invoice = await printableInvoice(db, data.invoiceId);
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

/** "€12.00 due by 19 Jan 2027", or "€12.00 paid" when nothing is left to pay. */
function invoiceStanding(data: {
  status: string;
  totalMinor: number;
  amountDueMinor: number;
  currency: string;
  dueAt: string | null;
}): string {
  if (data.status === "open" && data.amountDueMinor > 0) {
    const due = money(data.amountDueMinor, data.currency);

    return data.dueAt ? `${due} due by ${invoiceDate(data.dueAt)}` : `${due} due`;
  }

  return `${money(data.totalMinor, data.currency)} ${data.status === "open" ? "paid" : data.status}`;
}

export const paymentSucceeded = defineNotification({
  type: "billing.payment_succeeded",
  label: "Payment received",
  description: "A payment went through.",
  category: "billing",
  audience: "billing",
  channels: ["email", "in_app", "webhook"],
  schema: z.object({
    ...workspaceFields,
    ...amount,
    paymentId: z.string(),
    invoiceId: z.string().nullable(),
  }),
  sample: {
    workspaceName: "Acme Labs",
    workspaceSlug: "acme-labs",
    amountMinor: 4_900,
    currency: "USD",
    paymentId: "pi_sim8Hq2Lm4Nn6Pp8Rr0Tt2Vv4X",
    invoiceId: null,
  },
  trigger: triggeredBy("billing/payment-succeeded", ({ event, workspace }) =>
    workspace
      ? {
          workspaceName: workspace.name,
          workspaceSlug: workspace.slug,
          amountMinor: event.data.amountMinor,
          currency: event.data.currency,
          paymentId: event.data.paymentId,
          invoiceId: event.data.invoiceId,
        }
      : null,
  ),
  inApp: (data) => ({
    title: "Payment received",
    body: `${money(data.amountMinor, data.currency)} received for ${data.workspaceName}.`,
    link: `/w/${data.workspaceSlug}`,
  }),
  email: (data, { appUrl }) => ({
    subject: `Payment received: ${money(data.amountMinor, data.currency)}`,
    element: (
      <EmailLayout
        preview={`Thank you: ${money(data.amountMinor, data.currency)} for ${data.workspaceName}`}
        heading="Payment received"
        action={{ label: "Open billing", url: workspaceUrl(appUrl, data.workspaceSlug) }}
      >
        <P>Thank you. We received your payment for {data.workspaceName}.</P>
        <Facts
          rows={[
            ["Amount", money(data.amountMinor, data.currency)],
            ["Payment", data.paymentId],
          ]}
        />
      </EmailLayout>
    ),
  }),
});

const failureSchema = z.object({
  ...workspaceFields,
  ...amount,
  paymentId: z.string(),
  invoiceId: z.string().nullable(),
  failureCode: z.string().nullable(),
  attempt: z.number().int(),
});

const failureSample = {
  workspaceName: "Acme Labs",
  workspaceSlug: "acme-labs",
  amountMinor: 4_900,
  currency: "USD",
  paymentId: "pi_simF4i1L2e3d4P5a6y7m8e9n",
  invoiceId: "5a0f6b7e-2c1d-4e9a-8b3f-6d2e1c0b9a87",
  failureCode: "card_declined",
  attempt: 1,
};

export const paymentFailed = defineNotification({
  type: "billing.payment_failed",
  label: "Payment failed",
  description: "The first attempt to collect a payment failed; retries follow.",
  category: "billing",
  audience: "billing",
  channels: ["email", "in_app", "webhook"],
  schema: failureSchema,
  sample: failureSample,
  trigger: triggeredBy("billing/payment-failed", ({ event, workspace }) =>
    workspace && event.data.attempt === 1 && event.data.trigger !== "customer"
      ? { workspaceName: workspace.name, workspaceSlug: workspace.slug, ...event.data }
      : null,
  ),
  inApp: (data) => ({
    title: "Payment failed",
    body:
      `A payment of ${money(data.amountMinor, data.currency)} for ${data.workspaceName} ` +
      `failed. Update the card to avoid interruption.`,
    link: `/w/${data.workspaceSlug}`,
  }),
  email: (data, { appUrl }) => ({
    subject: `Payment failed for ${data.workspaceName}`,
    element: (
      <EmailLayout
        preview={`We could not collect ${money(data.amountMinor, data.currency)}`}
        heading="We could not collect your payment"
        action={{
          label: "Update the payment method",
          url: workspaceUrl(appUrl, data.workspaceSlug),
        }}
      >
        <P>
          The payment of {money(data.amountMinor, data.currency)} for {data.workspaceName} failed
          {data.failureCode ? ` (${data.failureCode.replaceAll("_", " ")})` : ""}. We will try again
          over the next days.
        </P>
        <P>Updating the card retries the payment at once.</P>
      </EmailLayout>
    ),
  }),
});

export const paymentRetryFailed = defineNotification({
  type: "billing.payment_retry_failed",
  label: "Payment retry failed",
  description: "A dunning retry failed; each retry that fails sends one.",
  category: "billing",
  audience: "billing",
  channels: ["email", "in_app", "webhook"],
  schema: failureSchema,
  sample: { ...failureSample, attempt: 3 },
  trigger: triggeredBy("billing/payment-failed", ({ event, workspace }) =>
    workspace && event.data.attempt > 1 && event.data.trigger !== "customer"
      ? { workspaceName: workspace.name, workspaceSlug: workspace.slug, ...event.data }
      : null,
  ),
  inApp: (data) => ({
    title: `Payment retry ${data.attempt - 1} failed`,
    body:
      `We still could not collect ${money(data.amountMinor, data.currency)} for ` +
      `${data.workspaceName}.`,
    link: `/w/${data.workspaceSlug}`,
  }),
  email: (data, { appUrl }) => ({
    subject: `Payment retry failed for ${data.workspaceName}`,
    element: (
      <EmailLayout
        preview={`Attempt ${data.attempt} for ${money(data.amountMinor, data.currency)} failed`}
        heading="Your payment is still outstanding"
        action={{
          label: "Update the payment method",
          url: workspaceUrl(appUrl, data.workspaceSlug),
        }}
      >
        <P>
          Attempt {data.attempt} to collect {money(data.amountMinor, data.currency)} for{" "}
          {data.workspaceName} failed.
        </P>
        <P>Update the card to pay now; otherwise we retry on the schedule in your billing page.</P>
      </EmailLayout>
    ),
  }),
});

export const suspensionWarning = defineNotification({
  type: "billing.suspension_warning",
  label: "Suspension warning",
  description: "The last payment retry is next; the workspace is suspended if it fails.",
  category: "billing",
  audience: "billing",
  channels: ["email", "in_app", "webhook"],
  schema: z.object({
    ...workspaceFields,
    ...amount,
    workspaceId: z.uuid(),
    suspendsAt: z.iso.datetime({ offset: true }),
  }),
  sample: {
    workspaceName: "Acme Labs",
    workspaceSlug: "acme-labs",
    workspaceId: "8f1a6f5e-7d43-4d36-9a55-2f0d2c6a9b11",
    amountMinor: 4_900,
    currency: "USD",
    suspendsAt: "2027-03-08T09:00:00.000Z",
  },
  object: (data) => ({ type: "workspace", id: data.workspaceId }),
  // Sent once per unpaid invoice, when its last retry is the next one (server/billing/dunning.ts).
  trigger: triggeredBy("billing/dunning-warning", ({ event, workspace }) =>
    workspace
      ? {
          workspaceName: workspace.name,
          workspaceSlug: workspace.slug,
          workspaceId: event.data.workspaceId,
          amountMinor: event.data.amountMinor,
          currency: event.data.currency,
          suspendsAt: event.data.suspendsAt,
        }
      : null,
  ),
  inApp: (data) => ({
    title: "Workspace will be suspended",
    body:
      `Pay ${money(data.amountMinor, data.currency)} before ${when(data.suspendsAt)} to keep ` +
      `${data.workspaceName} running.`,
    link: `/w/${data.workspaceSlug}`,
  }),
  email: (data, { appUrl }) => ({
    subject: `Action needed: ${data.workspaceName} will be suspended`,
    element: (
      <EmailLayout
        preview={`Suspension on ${when(data.suspendsAt)} unless the payment goes through`}
        heading={`${data.workspaceName} will be suspended`}
        action={{ label: "Pay now", url: workspaceUrl(appUrl, data.workspaceSlug) }}
      >
        <P>
          We have not been able to collect {money(data.amountMinor, data.currency)}. The last retry
          is on {when(data.suspendsAt)}; if it fails, the workspace is suspended and its API keys
          stop working.
        </P>
      </EmailLayout>
    ),
  }),
});

export const dunningExhausted = defineNotification({
  type: "billing.dunning_exhausted",
  label: "Unpaid invoice: workspace suspended",
  description:
    "Every retry of an invoice failed and its workspace was suspended; for platform admins.",
  category: "operations",
  audience: "platform_admins",
  channels: ["email", "in_app"],
  schema: z.object({
    ...workspaceFields,
    ...amount,
    workspaceId: z.uuid(),
    invoiceId: z.string(),
    number: z.string(),
    attempts: z.number().int(),
  }),
  sample: {
    workspaceName: "Acme Labs",
    workspaceSlug: "acme-labs",
    workspaceId: "8f1a6f5e-7d43-4d36-9a55-2f0d2c6a9b11",
    invoiceId: "5a0f6b7e-2c1d-4e9a-8b3f-6d2e1c0b9a87",
    number: "INV-2027-000012",
    amountMinor: 4_900,
    currency: "USD",
    attempts: 5,
  },
  trigger: triggeredBy("billing/dunning-exhausted", async ({ tx, event, workspace }) => {
    const invoice = await printableInvoice(tx, event.data.invoiceId);
    if (!workspace || !invoice) return null;

    return {
      workspaceName: workspace.name,
      workspaceSlug: workspace.slug,
      workspaceId: event.data.workspaceId,
      invoiceId: event.data.invoiceId,
      number: invoice.invoice.number,
      amountMinor: event.data.amountMinor,
      currency: event.data.currency,
      attempts: event.data.attempts,
    };
  }),
  inApp: (data) => ({
    title: `Unpaid: ${data.workspaceName} suspended`,
    body:
      `${data.number} (${money(data.amountMinor, data.currency)}) failed ${data.attempts} ` +
      `charges; the workspace is suspended.`,
    link: "/admin/dunning",
  }),
  email: (data, { appUrl }) => ({
    subject: `Unpaid invoice: ${data.workspaceName} suspended`,
    element: (
      <EmailLayout
        preview={`${data.number} failed ${data.attempts} charges`}
        heading={`${data.workspaceName} was suspended for an unpaid invoice`}
        action={{ label: "Open the dunning queue", url: `${appUrl}/admin/dunning` }}
        footer="You receive this because you are a Tally platform administrator."
      >
        <Facts
          rows={[
            ["Workspace", data.workspaceName],
            ["Invoice", data.number],
            ["Amount", money(data.amountMinor, data.currency)],
            ["Charges tried", String(data.attempts)],
          ]}
        />
      </EmailLayout>
    ),
  }),
});
