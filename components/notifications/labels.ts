/** Words and colours for notification deliveries, shared by the portal and admin pages. */

export type DeliveryStatus = "pending" | "sent" | "delivered" | "failed";
export type DeliveryChannel = "email" | "in_app" | "webhook";
export type RetryOutcome = "delivered" | "sent" | "failed" | "skipped";

export const deliveryStatuses: readonly DeliveryStatus[] = [
  "pending",
  "sent",
  "delivered",
  "failed",
];
export const deliveryChannels: readonly DeliveryChannel[] = ["email", "in_app", "webhook"];

export const statusTone: Record<DeliveryStatus, "amber" | "indigo" | "green" | "red"> = {
  pending: "amber",
  sent: "indigo",
  delivered: "green",
  failed: "red",
};

export const statusLabel: Record<DeliveryStatus, string> = {
  pending: "Pending",
  sent: "Sent",
  delivered: "Delivered",
  failed: "Failed",
};

export const channelLabel: Record<DeliveryChannel, string> = {
  email: "Email",
  in_app: "In-app",
  webhook: "Webhook",
};

/** What a retry came to, in a sentence; `ok` says whether it reached the recipient. */
export function retryOutcomeMessage(outcome: RetryOutcome): { ok: boolean; message: string } {
  switch (outcome) {
    case "delivered":
      return { ok: true, message: "Delivered." };
    case "sent":
      return { ok: true, message: "Handed to the mail server." };
    case "failed":
      return { ok: false, message: "Failed again; the error is in the row." };
    case "skipped":
      return { ok: true, message: "Another attempt was already running; it shows here shortly." };
  }
}
