import type { NotificationDefinition } from "../definition";

import { magicLink, signUpConfirmation, welcome } from "./account";
import {
  dunningExhausted,
  invoiceIssued,
  paymentFailed,
  paymentRetryFailed,
  paymentSucceeded,
  suspensionWarning,
} from "./billing";
import { creditsExpired, lowBalance, purchaseReceipt, topUpFailed } from "./credits";
import {
  endpointDisabled,
  performanceAlert,
  quotaExceeded,
  reconciliationDrift,
  webhookTest,
} from "./operations";
import { disputeClosed, disputeOpened } from "./payments";
import { promotionApplied, promotionExpiring, trialEnding } from "./promotions";
import { cancelled, collaboratorInvite, reactivated, suspended, tierChanged } from "./workspace";

/** Every notification type, in the order the admin previews list them. */
export const notificationTypes = [
  welcome,
  signUpConfirmation,
  magicLink,
  lowBalance,
  purchaseReceipt,
  topUpFailed,
  creditsExpired,
  invoiceIssued,
  paymentSucceeded,
  paymentFailed,
  paymentRetryFailed,
  suspensionWarning,
  dunningExhausted,
  suspended,
  reactivated,
  tierChanged,
  cancelled,
  collaboratorInvite,
  trialEnding,
  promotionApplied,
  promotionExpiring,
  quotaExceeded,
  performanceAlert,
  reconciliationDrift,
  disputeOpened,
  disputeClosed,
  endpointDisabled,
  webhookTest,
] as unknown as readonly NotificationDefinition[];

const byType = new Map(notificationTypes.map((definition) => [definition.type, definition]));

export function notificationType(type: string): NotificationDefinition | undefined {
  return byType.get(type);
}

/** Types a webhook endpoint can subscribe to. */
export const webhookTypes = notificationTypes.filter((definition) =>
  definition.channels.includes("webhook"),
);
