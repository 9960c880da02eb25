/**
 * The period overage is counted in. Overage is capped and billed per billing
 * period.
 *
 * TODO: until subscriptions have billing periods, the period is the calendar
 * month in UTC; it will follow the workspace's billing anchor.
 */
export function overagePeriodStart(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
}
