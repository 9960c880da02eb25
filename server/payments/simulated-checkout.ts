import { roleAtLeast } from "@/server/auth/roles";
import { AppError } from "@/server/errors";
import type { Runtime } from "@/server/runtime";
import { findMembership } from "@/server/workspaces/queries";

import {
  isSimulatedGateway,
  SIMULATED_CARDS,
  type SimulatedGateway,
  type SimulatedCard,
  type SimulatedSession,
} from "./simulated";

/**
 * The simulated gateway's hosted checkout page, the stand-in for Stripe
 * Checkout in the embedded default: in payment mode it pays a purchase, in
 * setup mode it saves a card. Only billing members (and up) of the session's
 * workspace see or submit it; to anyone else, and in Stripe mode, it does not
 * exist.
 */

type CheckoutRuntime = Pick<Runtime, "db" | "gateway">;

export interface CheckoutPage {
  session: SimulatedSession;
  purchaseId: string | null;
  workspace: { name: string; slug: string };
  cards: { number: SimulatedCard; label: string }[];
}

function simulatedGateway(runtime: CheckoutRuntime): SimulatedGateway {
  if (!isSimulatedGateway(runtime.gateway)) {
    throw new AppError(
      "not_found",
      "Payments go through Stripe here; there is no simulated checkout",
    );
  }

  return runtime.gateway;
}

async function authorised(runtime: CheckoutRuntime, userId: string, sessionId: string) {
  const gateway = simulatedGateway(runtime);
  const session = await gateway.checkoutSession(sessionId);
  const workspaceId = session?.metadata.workspace_id;
  const membership = workspaceId
    ? await findMembership(runtime.db, userId, workspaceId)
    : undefined;
  if (!session || !membership || !roleAtLeast(membership.role, "billing")) {
    throw new AppError("not_found", "This checkout does not exist or is not yours to pay");
  }

  return { gateway, session, membership };
}

export async function simulatedCheckoutPage(
  runtime: CheckoutRuntime,
  userId: string,
  sessionId: string,
): Promise<CheckoutPage> {
  const { session, membership } = await authorised(runtime, userId, sessionId);

  return {
    session,
    purchaseId: session.metadata.purchase_id ?? null,
    workspace: { name: membership.name, slug: membership.slug },
    cards: (Object.keys(SIMULATED_CARDS) as SimulatedCard[]).map((number) => ({
      number,
      label: SIMULATED_CARDS[number].label,
    })),
  };
}

export type CheckoutOutcome =
  | { outcome: "paid" | "saved"; redirectUrl: string }
  | { outcome: "declined"; message: string }
  | { outcome: "expired"; redirectUrl: string };

/**
 * Pays (payment mode) or saves the card (setup mode) with a test card; on
 * success the browser goes to the session's success URL.
 */
export async function paySimulatedCheckout(
  runtime: CheckoutRuntime,
  userId: string,
  sessionId: string,
  card: SimulatedCard,
): Promise<CheckoutOutcome> {
  const { gateway } = await authorised(runtime, userId, sessionId);
  const paid = await gateway.payCheckoutSession(sessionId, card);
  if (!paid) throw new AppError("not_found", "This checkout does not exist");
  if (paid.outcome === "declined") return { outcome: "declined", message: paid.message };

  return {
    outcome: paid.outcome,
    redirectUrl: paid.outcome === "expired" ? paid.session.cancelUrl : paid.session.successUrl,
  };
}

/** Gives up: the session expires unpaid and the browser goes to its cancel URL. */
export async function cancelSimulatedCheckout(
  runtime: CheckoutRuntime,
  userId: string,
  sessionId: string,
): Promise<{ redirectUrl: string }> {
  const { gateway } = await authorised(runtime, userId, sessionId);
  const session = await gateway.expireCheckoutSession(sessionId);
  if (!session) throw new AppError("not_found", "This checkout does not exist");

  return { redirectUrl: session.status === "complete" ? session.successUrl : session.cancelUrl };
}
