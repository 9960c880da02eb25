/** Display helpers for the pages. Credits are integers; money is whole minor units + currency. */

/** "$29.00", "¥500": from integer minor units, never through a float (see server/money.ts). */
export { formatMoney } from "@/server/money";

export function formatCredits(value: number): string {
  return value.toLocaleString("en-US");
}

/** "+1,000" or "−3", with a real minus sign so the column lines up. */
export function formatSignedCredits(value: number): string {
  if (value > 0) return `+${formatCredits(value)}`;
  if (value < 0) return `\u2212${formatCredits(-value)}`;

  return "0";
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${formatCredits(bytes)} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }

  return `${value.toLocaleString("en-US", { maximumFractionDigits: 1 })} ${units[unit]}`;
}

export function formatDateTime(value: Date | string | null | undefined): string {
  if (!value) return "—";

  return new Date(value).toLocaleString("en-US", {
    month: "short",
    day: "numeric",
    year: "numeric",
    hour: "numeric",
    minute: "2-digit",
  });
}

export function formatRelative(value: Date | string, now: Date = new Date()): string {
  const seconds = Math.round((now.getTime() - new Date(value).getTime()) / 1000);
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;

  return formatDateTime(value);
}

/** "tier_allocation" → "Tier allocation". */
export function humanize(code: string): string {
  const words = code.replace(/[_-]+/g, " ").trim();

  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A JSON text indented for reading; anything that is not JSON comes back as it was. */
export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${formatCredits(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
