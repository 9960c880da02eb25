import type { Channel } from "./definition";

/**
 * How long to wait before each retry of a failed delivery, by channel. After
 * the last one fails, the delivery is failed for good (its dead letter), and
 * listed for admins to retry by hand.
 */
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export const retrySchedule: Record<Channel, readonly number[]> = {
  email: [MINUTE, 5 * MINUTE, 30 * MINUTE, 2 * HOUR],
  webhook: [MINUTE, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 24 * HOUR],
  in_app: [],
};

/**
 * The delay before the next try after `attempt` attempts failed, or null when there is none left.
 */
export function nextRetryDelay(channel: Channel, attempt: number): number | null {
  return retrySchedule[channel][attempt - 1] ?? null;
}

/** Failed webhook attempts in a row, across deliveries, after which an endpoint is disabled. */
export const DISABLE_ENDPOINT_AFTER = 20;
