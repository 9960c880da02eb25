import { z } from "zod";

import { currencyCode, defineNotification, triggeredBy } from "../definition";
import { EmailLayout, Facts, P } from "../email-layout";
import { money, when, workspaceUrl } from "../format";

const workspaceFields = { workspaceName: z.string(), workspaceSlug: z.string() };
const amount = { amountMinor: z.number().int(), currency: currencyCode };

export const invoiceIssued = defineNotification({
  type: "billing.invoice_issued",
  label: "Invoice issued",
  description: "An invoice was finalized; the email will carry its PDF.",
  category: "billing",
  audience: "billing",
  channels: ["email", "in_app", "webhook"],
  schema: z.object({
    ...workspaceFields,
    invoiceId: z.string(),
    totalMinor: z.number().int(),
    currency: currencyCode,
  }),
  sample: {
    workspaceName: "Acme Labs",
    workspaceSlug: "acme-labs",
    invoiceId: "5a0f6b7e-2c1d-4e9a-8b3f-6d2e1c0b9a87",
    totalMinor: 4_900,
    currency: "USD",
  },
  trigger: triggeredBy("billing/invoice-generated", ({ event, workspace }) =>
    workspace
      ? {
          workspaceName: workspace.name,
          workspaceSlug: workspace.slug,
          invoiceId: event.data.invoiceId,
          totalMinor: event.data.totalMinor,
          currency: event.data.currency,
        }
      : null,
  ),
  inApp: (data) => ({
    title: "New invoice",
    body:
      `An invoice of ${money(data.totalMinor, data.currency)} for ${data.workspaceName} is ` +
      `ready.`,
    link: `/w/${data.workspaceSlug}`,
  }),
  email: (data, { appUrl }) => ({
    subject:
      `Your Tally invoice for ${data.workspaceName}: ` + `${money(data.totalMinor, data.currency)}`,
    element: (
      <EmailLayout
        preview={`Total ${money(data.totalMinor, data.currency)}`}
        heading="Your invoice is ready"
        action={{ label: "View the invoice", url: workspaceUrl(appUrl, data.workspaceSlug) }}
      >
        <P>A new invoice for {data.workspaceName} has been issued.</P>
        <Facts
          rows={[
            ["Total", money(data.totalMinor, data.currency)],
            ["Invoice", data.invoiceId],
          ]}
        />
      </EmailLayout>
    ),
  }),
});

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
    workspace && event.data.attempt === 1
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
    workspace && event.data.attempt > 1
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
  // TODO: dunning sends this before the last retry; until dunning exists it is only previewed.
  object: (data) => ({ type: "workspace", id: data.workspaceId }),
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
