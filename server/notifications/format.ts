import { formatMoney } from "@/server/money";

/** Wording shared by the notification templates. */
export function credits(value: number): string {
  return `${value.toLocaleString("en-US")} ${Math.abs(value) === 1 ? "credit" : "credits"}`;
}

export function money(amountMinor: number, currency: string): string {
  return formatMoney(amountMinor, currency);
}

/** "Mar 3, 2027, 14:00 UTC": emails go to people in any time zone. */
export function when(instant: string | Date): string {
  const text = new Date(instant).toLocaleString("en-US", {
    month: "short",
    day: "numeric",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZone: "UTC",
  });

  return `${text} UTC`;
}

export function workspaceUrl(appUrl: string, slug: string, path = ""): string {
  return `${appUrl}/w/${slug}${path}`;
}
