/**
 * A five-field cron matcher (minute hour day-of-month month day-of-week, UTC)
 * for the in-process driver; Inngest reads the same strings itself. Supports
 * `*`, numbers, ranges `a-b`, lists `a,b` and steps `* /n` or `a-b/n`.
 */
const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day of week", min: 0, max: 7 },
] as const;

export interface CronSchedule {
  expression: string;
  fields: Set<number>[];
  /** True when day-of-month and day-of-week are both restricted: cron then matches either. */
  dayEither: boolean;
}

function parseField(text: string, min: number, max: number, name: string): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(",")) {
    const [rangeText, stepText] = part.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`Bad step in cron ${name}: ${part}`);

    let from = min;
    let to = max;
    if (rangeText !== "*") {
      const [a, b] = (rangeText ?? "").split("-");
      from = Number(a);
      to = b === undefined ? (stepText === undefined ? from : max) : Number(b);
    }
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < min || to > max || from > to) {
      throw new Error(`Bad cron ${name}: ${part}`);
    }
    for (let value = from; value <= to; value += step) values.add(value);
  }

  return values;
}

export function parseCron(expression: string): CronSchedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error(`Cron needs five fields: ${expression}`);
  const fields = parts.map((part, index) => {
    const spec = FIELDS[index]!;
    return parseField(part, spec.min, spec.max, spec.name);
  });
  // 7 is another name for Sunday.
  if (fields[4]!.has(7)) fields[4]!.add(0);

  return { expression, fields, dayEither: parts[2] !== "*" && parts[4] !== "*" };
}

export function cronMatches(schedule: CronSchedule, at: Date): boolean {
  const [minute, hour, dayOfMonth, month, dayOfWeek] = schedule.fields as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  if (!minute.has(at.getUTCMinutes()) || !hour.has(at.getUTCHours())) return false;
  if (!month.has(at.getUTCMonth() + 1)) return false;

  const domOk = dayOfMonth.has(at.getUTCDate());
  const dowOk = dayOfWeek.has(at.getUTCDay());

  return schedule.dayEither ? domOk || dowOk : domOk && dowOk;
}

/** The minutes in (after, upTo] at which the schedule fires, oldest first, at most `limit`. */
export function dueMinutes(schedule: CronSchedule, after: Date, upTo: Date, limit = 60): Date[] {
  const due: Date[] = [];
  const start = Math.floor(after.getTime() / 60_000) + 1;
  const end = Math.floor(upTo.getTime() / 60_000);
  for (
    let minute = Math.max(start, end - 60 * 24 * 31);
    minute <= end && due.length < limit;
    minute++
  ) {
    const at = new Date(minute * 60_000);
    if (cronMatches(schedule, at)) due.push(at);
  }

  return due;
}

/**
 * The latest minute in (after, upTo] at which the schedule fires, or undefined. Looks back at most
 * 31 days, as far as a monthly schedule needs.
 */
export function lastDueMinute(schedule: CronSchedule, after: Date, upTo: Date): Date | undefined {
  const start = Math.floor(after.getTime() / 60_000) + 1;
  const end = Math.floor(upTo.getTime() / 60_000);
  for (let minute = end; minute >= Math.max(start, end - 60 * 24 * 31); minute--) {
    const at = new Date(minute * 60_000);
    if (cronMatches(schedule, at)) return at;
  }

  return undefined;
}
