import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import http from "node:http";
import https from "node:https";
import net from "node:net";

import { storable } from "@/server/text";

/**
 * Posts one webhook. Customers choose the URLs, so in production requests to
 * loopback, private, link-local and other internal addresses are refused
 * (checked on the address actually connected to, so DNS cannot be used to
 * swap it after a check). No redirects are followed; 3xx counts as a failure.
 * The timeout bounds the whole exchange, and at most 4 KiB of the reply is
 * read.
 */
export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  allowPrivateAddresses: boolean;
}

export interface WebhookResponse {
  /** Null when no HTTP response came back. */
  status: number | null;
  /** The first 4 KiB of the response body, made storable. */
  body: string | null;
  error: string | null;
  durationMs: number;
}

const MAX_RESPONSE_BYTES = 4096;

function ipv4Private(address: string): boolean {
  const [a = 0, b = 0] = address.split(".").map(Number);

  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 198 && (b === 18 || b === 19)) ||
    a >= 224
  );
}

/** The eight 16-bit groups of an IPv6 address, or undefined if it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  if (!net.isIPv6(address)) return undefined;
  let text = address.toLowerCase().split("%")[0] ?? "";
  const dotted = text.match(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    const hex = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
    text = `${text.slice(0, -dotted[0].length)}${hex}`;
  }
  const [head = "", tail] = text.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const fill = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill("0");

  return [...left, ...fill, ...right].map((group) => parseInt(group, 16));
}

function embeddedIpv4(high: number, low: number): string {
  return [high >> 8, high & 255, low >> 8, low & 255].join(".");
}

/**
 * Loopback, private, link-local, carrier-grade NAT, multicast and reserved
 * ranges, IPv4 and IPv6, including IPv4 addresses carried inside IPv6:
 * mapped (::ffff:0:0/96), compatible (::/96), NAT64 (64:ff9b::/96) and
 * 6to4 (2002::/16), in any spelling.
 */
export function isInternalAddress(address: string): boolean {
  if (net.isIPv4(address)) return ipv4Private(address);
  const groups = ipv6Groups(address);
  if (!groups || groups.length !== 8 || groups.some((group) => Number.isNaN(group))) return true;
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups;

  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && (g5 === 0xffff || g5 === 0)) {
    return ipv4Private(embeddedIpv4(g6, g7));
  }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return ipv4Private(embeddedIpv4(g6, g7));
  }
  if (g0 === 0x2002) return ipv4Private(embeddedIpv4(g1, g2));

  // fc00::/7 unique local, fe80::/10 link-local, ff00::/8 multicast.
  return (g0 & 0xfe00) === 0xfc00 || (g0 & 0xffc0) === 0xfe80 || (g0 & 0xff00) === 0xff00;
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

function guardedLookup(
  hostname: string,
  options: { all?: boolean },
  callback: LookupCallback,
): void {
  dnsLookup(hostname, { all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const blocked = addresses.find((entry) => isInternalAddress(entry.address));
    if (blocked) {
      const refusal = Object.assign(
        new Error(`Refused internal address ${blocked.address} for ${hostname}`),
        { code: "EINTERNAL" },
      );
      return callback(refusal, []);
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0];

    return first
      ? callback(null, first.address, first.family)
      : callback(new Error(`No address for ${hostname}`), []);
  });
}

export function postWebhook(
  request: WebhookRequest,
  now: () => number = Date.now,
): Promise<WebhookResponse> {
  const started = now();
  const done = (result: Omit<WebhookResponse, "durationMs">): WebhookResponse => ({
    status: result.status,
    body: result.body === null ? null : storable(result.body),
    error: result.error === null ? null : storable(result.error),
    durationMs: Math.max(0, now() - started),
  });

  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return Promise.resolve(
      done({ status: null, body: null, error: "The endpoint URL is not valid" }),
    );
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!request.allowPrivateAddresses && net.isIP(host) !== 0 && isInternalAddress(host)) {
    return Promise.resolve(
      done({ status: null, body: null, error: `Refused internal address ${host}` }),
    );
  }

  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Omit<WebhookResponse, "durationMs">) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(done(result));
    };
    const client = url.protocol === "https:" ? https : http;
    const outgoing = client.request(
      url,
      {
        method: "POST",
        headers: {
          ...request.headers,
          "content-length": Buffer.byteLength(request.body).toString(),
        },
        ...(request.allowPrivateAddresses ? {} : { lookup: guardedLookup as never }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const complete = (error: string | null) =>
          finish({
            status: response.statusCode ?? null,
            body: Buffer.concat(chunks).toString("utf8"),
            error,
          });
        response.on("data", (chunk: Buffer) => {
          chunks.push(chunk.subarray(0, Math.max(0, MAX_RESPONSE_BYTES - size)));
          size += chunk.byteLength;
          // Enough of the reply is kept; the rest is not read at all.
          if (size >= MAX_RESPONSE_BYTES) {
            complete(null);
            response.destroy();
          }
        });
        response.on("end", () => complete(null));
        response.on("error", (error) => complete(error.message));
        response.on("close", () =>
          complete(response.complete ? null : "The connection closed mid-response"),
        );
      },
    );
    // The whole exchange, not only idle time: a receiver dripping a byte at a time is cut off too.
    const deadline = setTimeout(
      () => outgoing.destroy(new Error(`No complete response within ${request.timeoutMs} ms`)),
      request.timeoutMs,
    );
    outgoing.on("error", (error) => finish({ status: null, body: null, error: error.message }));
    outgoing.end(request.body);
  });
}
