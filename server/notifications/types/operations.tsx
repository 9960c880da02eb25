import { z } from "zod";

import { defineNotification, triggeredBy } from "../definition";
import { EmailLayout, Facts, P } from "../email-layout";
import { when, workspaceUrl } from "../format";

export const quotaExceeded = defineNotification({
  type: "usage.quota_exceeded",
  label: "Quota exceeded",
  description: "A feature went over its quota for the period (once per period and quota).",
  category: "product",
  audience: "admins",
  channels: ["email", "in_app", "webhook"],
  schema: z.object({
    workspaceName: z.string(),
    workspaceSlug: z.string(),
    featureCode: z.string(),
    quota: z.number().int(),
    used: z.number().int(),
    periodStart: z.iso.datetime({ offset: true }),
  }),
  sample: {
    workspaceName: "Acme Labs",
    workspaceSlug: "acme-labs",
    featureCode: "translate",
    quota: 10_000,
    used: 10_001,
    periodStart: "2027-03-01T00:00:00.000Z",
  },
  trigger: triggeredBy("usage/quota-exceeded", ({ event, workspace }) =>
    workspace
      ? {
          workspaceName: workspace.name,
          workspaceSlug: workspace.slug,
          featureCode: event.data.featureCode,
          quota: event.data.quota,
          used: event.data.used,
          periodStart: event.data.periodStart,
        }
      : null,
  ),
  inApp: (data) => ({
    title: `${data.featureCode} is over its quota`,
    body:
      `${data.used.toLocaleString("en-US")} of ${data.quota.toLocaleString("en-US")} this ` +
      `period.`,
    link: `/w/${data.workspaceSlug}`,
  }),
  email: (data, { appUrl }) => ({
    subject: `${data.workspaceName}: ${data.featureCode} is over its quota`,
    element: (
      <EmailLayout
        preview={`${data.used.toLocaleString("en-US")} used, quota ${data.quota}`}
        heading={`${data.featureCode} is over its quota`}
        action={{ label: "See usage", url: workspaceUrl(appUrl, data.workspaceSlug) }}
      >
        <Facts
          rows={[
            ["Used", data.used.toLocaleString("en-US")],
            ["Quota", data.quota.toLocaleString("en-US")],
            ["Period from", when(data.periodStart)],
          ]}
        />
        <P>Further calls are billed as overage where the tier allows it.</P>
      </EmailLayout>
    ),
  }),
});

export const performanceAlert = defineNotification({
  type: "operations.performance_alert",
  label: "Performance alert",
  description: "A platform metric crossed its alert threshold; for platform admins.",
  category: "operations",
  audience: "platform_admins",
  channels: ["email", "in_app"],
  schema: z.object({ metric: z.string(), value: z.number(), threshold: z.number() }),
  sample: { metric: "metering p99 latency (ms)", value: 412, threshold: 250 },
  trigger: triggeredBy("usage/performance-alert", ({ event }) => ({
    metric: event.data.metric,
    value: event.data.value,
    threshold: event.data.threshold,
  })),
  inApp: (data) => ({
    title: `Alert: ${data.metric}`,
    body: `${data.value} against a threshold of ${data.threshold}.`,
    link: "/admin",
  }),
  email: (data, { appUrl }) => ({
    subject: `Alert: ${data.metric} at ${data.value} (threshold ${data.threshold})`,
    element: (
      <EmailLayout
        preview={`${data.metric} crossed ${data.threshold}`}
        heading={`${data.metric} crossed its threshold`}
        action={{ label: "Open the admin", url: `${appUrl}/admin` }}
        footer="You receive this because you are a Tally platform administrator."
      >
        <Facts
          rows={[
            ["Value", String(data.value)],
            ["Threshold", String(data.threshold)],
          ]}
        />
      </EmailLayout>
    ),
  }),
});

export const endpointDisabled = defineNotification({
  type: "webhooks.endpoint_disabled",
  label: "Webhook endpoint disabled",
  description: "An endpoint failed too many times in a row and was turned off.",
  category: "security",
  audience: "admins",
  channels: ["email", "in_app"],
  schema: z.object({
    workspaceName: z.string(),
    workspaceSlug: z.string(),
    endpointId: z.string(),
    url: z.string(),
    failures: z.number().int(),
    lastError: z.string(),
  }),
  sample: {
    workspaceName: "Acme Labs",
    workspaceSlug: "acme-labs",
    endpointId: "e1f2a3b4-c5d6-4e7f-8091-a2b3c4d5e6f7",
    url: "https://hooks.acme.example/tally",
    failures: 20,
    lastError: "HTTP 503",
  },
  object: (data) => ({ type: "webhook_endpoint", id: data.endpointId }),
  inApp: (data) => ({
    title: "A webhook endpoint was disabled",
    body: `${data.url} failed ${data.failures} times in a row (${data.lastError}).`,
    link: `/w/${data.workspaceSlug}/webhooks`,
  }),
  email: (data, { appUrl }) => ({
    subject: `Webhook endpoint disabled for ${data.workspaceName}`,
    element: (
      <EmailLayout
        preview={`${data.url} failed ${data.failures} times`}
        heading="A webhook endpoint was disabled"
        action={{
          label: "Review the endpoint",
          url: workspaceUrl(appUrl, data.workspaceSlug, "/webhooks"),
        }}
      >
        <P>
          {data.url} failed {data.failures} times in a row, most recently with {data.lastError}.
          Tally stopped sending to it.
        </P>
        <P>Fix the endpoint, then enable it again; failed deliveries can be resent from its log.</P>
      </EmailLayout>
    ),
  }),
});

export const webhookTest = defineNotification({
  type: "webhooks.test",
  label: "Test event",
  description: "Sent on request to one endpoint, to check that it receives and verifies payloads.",
  category: "operations",
  audience: "admins",
  channels: ["webhook"],
  schema: z.object({ endpointId: z.string(), message: z.string() }),
  sample: {
    endpointId: "e1f2a3b4-c5d6-4e7f-8091-a2b3c4d5e6f7",
    message: "This is a test event from Tally.",
  },
  object: (data) => ({ type: "webhook_endpoint", id: data.endpointId }),
  inApp: (data) => ({ title: "Test event", body: data.message, link: null }),
  email: (data) => ({
    subject: "Tally test event",
    element: (
      <EmailLayout preview={data.message} heading="Test event">
        <P>{data.message}</P>
      </EmailLayout>
    ),
  }),
});

export const reconciliationDrift = defineNotification({
  type: "operations.reconciliation_drift",
  label: "Reconciliation drift",
  description:
    "The daily comparison with the payment gateway found differences to repair; for platform admins.",
  category: "operations",
  audience: "platform_admins",
  channels: ["email", "in_app"],
  schema: z.object({
    runId: z.string(),
    driftsFound: z.number().int(),
    checked: z.number().int(),
    windowStart: z.iso.datetime({ offset: true }),
    windowEnd: z.iso.datetime({ offset: true }),
  }),
  sample: {
    runId: "0b6c1d2e-3f40-4a51-8b62-7c83d94ea5f6",
    driftsFound: 2,
    checked: 148,
    windowStart: "2027-03-01T02:50:00.000Z",
    windowEnd: "2027-03-02T02:50:00.000Z",
  },
  object: (data) => ({ type: "reconciliation_run", id: data.runId }),
  // Only a run that found something new calls for a notice.
  trigger: triggeredBy("payments/reconciliation-finished", ({ event }) =>
    event.data.driftsFound > 0
      ? {
          runId: event.data.runId,
          driftsFound: event.data.driftsFound,
          checked: event.data.checked,
          windowStart: event.data.windowStart,
          windowEnd: event.data.windowEnd,
        }
      : null,
  ),
  inApp: (data) => ({
    title: `Reconciliation found ${driftCount(data.driftsFound)}`,
    body: `${data.checked} gateway objects compared with Tally's records; repair or dismiss each.`,
    link: "/admin/reconciliation",
  }),
  email: (data, { appUrl }) => ({
    subject: `Reconciliation found ${driftCount(data.driftsFound)} with the payment gateway`,
    element: (
      <EmailLayout
        preview={`${driftCount(data.driftsFound)} in ${data.checked} gateway objects`}
        heading={`${driftCount(data.driftsFound)} between Tally and the gateway`}
        action={{ label: "Review the drift", url: `${appUrl}/admin/reconciliation` }}
        footer="You receive this because you are a Tally platform administrator."
      >
        <Facts
          rows={[
            ["New drift", String(data.driftsFound)],
            ["Gateway objects compared", String(data.checked)],
            ["Created from", when(data.windowStart)],
            ["Created before", when(data.windowEnd)],
          ]}
        />
        <P>
          Each drift shows what the gateway and Tally say, and the action that repairs it. Money
          Tally does not own is refunded at the gateway by hand, then dismissed.
        </P>
      </EmailLayout>
    ),
  }),
});

function driftCount(count: number): string {
  return count === 1 ? "1 drift" : `${count} drifts`;
}
