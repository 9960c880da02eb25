/**
 * The credits page's sentences, built from what the credits queries return.
 * Pure and integer-only, so they are tested without a browser.
 */
import { formatCredits } from "@/components/lib/format";

/** "14 Jan", or "14 Jan 2027" when the date is not in the same year as `now`. */
export function formatDay(value: Date | string, now: Date = new Date()): string {
  const date = new Date(value);
  const sameYear = date.getFullYear() === now.getFullYear();

  return date.toLocaleDateString("en-GB", {
    day: "numeric",
    month: "short",
    ...(sameYear ? {} : { year: "numeric" }),
  });
}

/** A grant's expiry as the breakdown shows it: "expires 1 Feb" or "never expires". */
export function expiryLabel(expiresAt: Date | string | null, now: Date = new Date()): string {
  return expiresAt ? `expires ${formatDay(expiresAt, now)}` : "never expires";
}

export type ForecastView =
  | { kind: "no_usage" }
  | { kind: "empty" }
  | { kind: "beyond_horizon"; creditsPerDay: number }
  | { kind: "runs_out"; runsOutAt: Date; creditsPerDay: number; lapsing: number };

export interface ForecastSentence {
  text: string;
  /** True when the credits run out before the next allowance arrives: worth a warning colour. */
  urgent: boolean;
}

function perDay(creditsPerDay: number): string {
  return `${formatCredits(creditsPerDay)} ${creditsPerDay === 1 ? "credit" : "credits"}/day`;
}

/**
 * The depletion forecast in words. `periodEndsAt` is when the allowance
 * renews; the forecast itself does not count the next allowance, so when
 * the renewal comes first the sentence says the credits last until then.
 */
export function forecastSentence(
  forecast: ForecastView,
  periodEndsAt: Date | string | null,
  now: Date = new Date(),
): ForecastSentence {
  switch (forecast.kind) {
    case "empty":
      return { text: "No credits left.", urgent: true };
    case "no_usage":
      return { text: "Not enough recent usage to forecast when credits run out.", urgent: false };
    case "beyond_horizon":
      return {
        text: `At this rate (${perDay(forecast.creditsPerDay)}), credits last more than ten years.`,
        urgent: false,
      };
    case "runs_out": {
      const rate = `At this rate (${perDay(forecast.creditsPerDay)})`;
      const runsOut = new Date(forecast.runsOutAt);
      const lapsing =
        forecast.lapsing > 0
          ? ` ${formatCredits(forecast.lapsing)} ` +
            `${forecast.lapsing === 1 ? "credit expires" : "credits expire"} unused on the way.`
          : "";
      if (periodEndsAt === null) {
        return {
          text: `${rate}, credits run out on ${formatDay(runsOut, now)}.${lapsing}`,
          urgent: false,
        };
      }
      const renews = new Date(periodEndsAt);
      if (runsOut.getTime() < renews.getTime()) {
        return {
          text:
            `${rate}, credits run out on ${formatDay(runsOut, now)}, before your allowance ` +
            `renews on ${formatDay(renews, now)}.${lapsing}`,
          urgent: true,
        };
      }

      return {
        text: `${rate}, credits last until your allowance renews on ${formatDay(renews, now)}.${lapsing}`,
        urgent: false,
      };
    }
  }
}

export interface OverageView {
  policy: "hard_stop" | "soft_cap" | "auto_top_up";
  capCredits: number;
  usedCredits: number;
  calls: number;
}

/** The soft cap's state this cycle, or null when the tier has no soft cap. */
export function overageSentence(overage: OverageView): string | null {
  if (overage.policy !== "soft_cap") return null;
  if (overage.usedCredits === 0) {
    return (
      `Past zero, calls go on for up to ${formatCredits(overage.capCredits)} credits of overage ` +
      `this cycle, billed with the next invoice. None used so far.`
    );
  }
  const left = Math.max(0, overage.capCredits - overage.usedCredits);

  return (
    `${formatCredits(overage.usedCredits)} of ${formatCredits(overage.capCredits)} overage ` +
    `credits used this cycle (${formatCredits(overage.calls)} ` +
    `${overage.calls === 1 ? "call" : "calls"}); ${formatCredits(left)} left before calls are ` +
    `refused.`
  );
}

/** Whole percent of `part` in `whole`, rounded down, 0 to 100: for bar widths. */
export function percentOf(part: number, whole: number): number {
  if (whole <= 0 || part <= 0) return 0;
  if (part >= whole) return 100;

  return Math.floor((part * 100) / whole);
}

/** The smallest 1, 2 or 5 × 10ⁿ at or above `value`: the top of a chart's scale. */
export function niceScaleMax(value: number): number {
  if (value <= 1) return 1;
  let magnitude = 1;
  while (magnitude * 10 <= value) magnitude *= 10;
  for (const step of [1, 2, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }

  return 10 * magnitude;
}

/** "2026-12-04" (a UTC day from the usage query) as "4 Dec". */
export function formatUtcDay(date: string): string {
  return new Date(`${date}T00:00:00Z`).toLocaleDateString("en-GB", {
    day: "numeric",
    month: "short",
    timeZone: "UTC",
  });
}

/**
 * Whole credits typed in a field ("1,000", "-250", "+40"), or undefined
 * when the text is not a whole number a balance can hold.
 */
export function parseWholeCredits(text: string): number | undefined {
  const value = text
    .trim()
    .replace(/[,\s]/g, "")
    .replace(/^\+/, "")
    .replace(/^\u2212/, "-");
  if (!/^-?\d+$/.test(value)) return undefined;
  const number = Number(value);

  return Number.isSafeInteger(number) ? number : undefined;
}
