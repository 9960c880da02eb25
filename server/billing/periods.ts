/**
 * Monthly periods that keep their anchor day. A period starts at the anchor
 * plus n months and ends where the next one starts, so periods tile with no
 * gap and no overlap. A month that lacks the anchor's day ends on its last
 * day and the next period returns to the anchor's day: anchored on Jan 31,
 * the boundaries are Feb 28 (29 in leap years), Mar 31, Apr 30. Everything is
 * computed in UTC and keeps the anchor's time of day.
 */

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/** The anchor plus `months` calendar months, its day clamped to the target month's length. */
export function addMonthsAnchored(anchor: Date, months: number): Date {
  if (!Number.isInteger(months)) throw new Error("months must be a whole number");
  const total = anchor.getUTCMonth() + months;
  const year = anchor.getUTCFullYear() + Math.floor(total / 12);
  const month = ((total % 12) + 12) % 12;
  const day = Math.min(anchor.getUTCDate(), daysInMonth(year, month));

  return new Date(
    Date.UTC(
      year,
      month,
      day,
      anchor.getUTCHours(),
      anchor.getUTCMinutes(),
      anchor.getUTCSeconds(),
      anchor.getUTCMilliseconds(),
    ),
  );
}

/** Period `sequence` (1 is the first) of a monthly schedule anchored at `anchor`. */
export function periodBounds(anchor: Date, sequence: number): { startsAt: Date; endsAt: Date } {
  if (!Number.isInteger(sequence) || sequence < 1) {
    throw new Error("A period sequence starts at 1");
  }

  return {
    startsAt: addMonthsAnchored(anchor, sequence - 1),
    endsAt: addMonthsAnchored(anchor, sequence),
  };
}

/** The period that holds `at` (start inclusive, end exclusive), of a schedule anchored at `anchor`. */
export function periodAt(anchor: Date, at: Date): { startsAt: Date; endsAt: Date } {
  const monthsApart =
    (at.getUTCFullYear() - anchor.getUTCFullYear()) * 12 + at.getUTCMonth() - anchor.getUTCMonth();
  // The estimate is at most one month off either way; step to the period that holds `at`.
  let sequence = Math.max(1, monthsApart);
  while (sequence > 1 && periodBounds(anchor, sequence).startsAt > at) sequence--;
  while (periodBounds(anchor, sequence).endsAt <= at) sequence++;

  return periodBounds(anchor, sequence);
}
