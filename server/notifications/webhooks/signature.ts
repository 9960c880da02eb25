import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Outgoing webhooks are signed like Stripe's: the header
 *
 *   Tally-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the endpoint
 * secret>
 *
 * A receiver recomputes the HMAC over the raw body, compares in constant
 * time and refuses timestamps too far from its clock (replays). README,
 * "Outgoing webhooks", shows a receiver.
 */
export const SIGNATURE_HEADER = "Tally-Signature";

export function newEndpointSecret(): string {
  return `whsec_${randomBytes(32).toString("base64url")}`;
}

export function signatureHeader(secret: string, body: string, timestampSeconds: number): string {
  const signature = createHmac("sha256", secret)
    .update(`${timestampSeconds}.${body}`)
    .digest("hex");

  return `t=${timestampSeconds},v1=${signature}`;
}

/** The receiver's side, exported for tests and as a reference implementation. */
export function verifySignature(
  secret: string,
  body: string,
  header: string | null,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  if (!header) return false;
  const parts = new Map<string, string[]>();
  for (const part of header.split(",")) {
    const [key, value] = part.split("=", 2);
    if (key && value) parts.set(key.trim(), [...(parts.get(key.trim()) ?? []), value.trim()]);
  }
  const timestamp = Number(parts.get("t")?.[0]);
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds)
    return false;

  const expected = Buffer.from(
    createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex"),
    "utf8",
  );
  return (parts.get("v1") ?? []).some((candidate) => {
    const given = Buffer.from(candidate, "utf8");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
