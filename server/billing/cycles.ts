import type { DbOrTx } from "@/server/db/client";

import type { BillingConfig } from "./config";
import type { DraftLine, InvoiceTotals } from "./invoice-math";

/**
 * Billing cycles: the chain of steps that bills each ended period.
 *
 * TODO: being built; the cycle sweep and its reactions land with the rest of billing.
 */

/** What the invoice at the current period's end would hold if the period ended now. */
export interface UpcomingInvoice {
  currency: string;
  /** When it will be issued: the end of the current period. */
  issuesAt: Date;
  /** The current period, billed in arrears (overage) and the next one in advance (fee, seats). */
  periodStart: Date;
  periodEnd: Date;
  lines: DraftLine[];
  totals: InvoiceTotals;
}

export async function upcomingInvoice(
  _db: DbOrTx,
  _workspaceId: string,
  _now: Date,
  _config: BillingConfig,
): Promise<UpcomingInvoice | null> {
  return null;
}
