import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import http from "node:http";
import https from "node:https";
import net from "node:net";

/**
 * Posts one webhook. Customers choose the URLs, so in production requests to
 * loopback, private, link-local and other internal addresses are refused
 * (checked on the address actually connected to, so DNS cannot be used to
 * swap it after a check). No redirects are followed; 3xx counts as a failure.
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
  /** The first 4 KiB of the response body. */
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

/**
 * Loopback, private, link-local, carrier-grade NAT, multicast and reserved ranges, IPv4 and IPv6.
 */
export function isInternalAddress(address: string): boolean {
  if (net.isIPv4(address)) return ipv4Private(address);
  const lower = address.toLowerCase();
  const mapped = lower.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/);
  if (mapped?.[1]) return ipv4Private(mapped[1]);

  return (
    lower === "::" ||
    lower === "::1" ||
    lower.startsWith("fc") ||
    lower.startsWith("fd") ||
    lower.startsWith("fe8") ||
    lower.startsWith("fe9") ||
    lower.startsWith("fea") ||
    lower.startsWith("feb") ||
    lower.startsWith("ff")
  );
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
        {
          code: "EINTERNAL",
        },
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
    ...result,
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
    const client = url.protocol === "https:" ? https : http;
    const outgoing = client.request(
      url,
      {
        method: "POST",
        headers: {
          ...request.headers,
          "content-length": Buffer.byteLength(request.body).toString(),
        },
        timeout: request.timeoutMs,
        ...(request.allowPrivateAddresses ? {} : { lookup: guardedLookup as never }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          if (size < MAX_RESPONSE_BYTES) chunks.push(chunk.subarray(0, MAX_RESPONSE_BYTES - size));
          size += chunk.byteLength;
        });
        response.on("end", () =>
          resolve(
            done({
              status: response.statusCode ?? null,
              body: Buffer.concat(chunks).toString("utf8"),
              error: null,
            }),
          ),
        );
        response.on("error", (error) =>
          resolve(done({ status: response.statusCode ?? null, body: null, error: error.message })),
        );
      },
    );
    outgoing.on("timeout", () =>
      outgoing.destroy(new Error(`No response within ${request.timeoutMs} ms`)),
    );
    outgoing.on("error", (error) =>
      resolve(done({ status: null, body: null, error: error.message })),
    );
    outgoing.end(request.body);
  });
}
