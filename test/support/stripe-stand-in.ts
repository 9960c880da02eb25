import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local HTTP stand-in for the parts of Stripe's API that Tally calls, so
 * tests drive the real stripe SDK over real HTTP. It keeps objects in memory,
 * honours Idempotency-Key the way Stripe does (same key and parameters → the
 * stored response; same key, other parameters → 400 idempotency_error), and
 * records every request for assertions.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  params: URLSearchParams;
}

export interface StripeStandIn {
  url: string;
  requests: RecordedRequest[];
  customers: Map<string, Record<string, unknown>>;
  close(): Promise<void>;
}

function stripeId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString("hex")}`;
}

/** Stripe's form encoding: metadata[workspace_id]=... becomes { metadata: { workspace_id } }. */
function decode(params: URLSearchParams): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of params) {
    const match = key.match(/^(\w+)\[(\w+)\]$/);
    if (match) {
      const [, outer, inner] = match as unknown as [string, string, string];
      object[outer] = { ...(object[outer] as Record<string, unknown> | undefined), [inner]: value };
    } else {
      object[key] = value;
    }
  }

  return object;
}

export async function startStripeStandIn(): Promise<StripeStandIn> {
  const requests: RecordedRequest[] = [];
  const customers = new Map<string, Record<string, unknown>>();
  const idempotent = new Map<string, { body: string; status: number; response: string }>();

  const handle = (method: string, path: string, params: URLSearchParams): [number, unknown] => {
    if (method === "POST" && path === "/v1/customers") {
      const fields = decode(params);
      const customer = {
        id: stripeId("cus"),
        object: "customer",
        created: Math.floor(Date.now() / 1000),
        email: fields.email ?? null,
        name: fields.name ?? null,
        metadata: fields.metadata ?? {},
        livemode: false,
      };
      customers.set(customer.id, customer);
      return [200, customer];
    }
    const customer = path.match(/^\/v1\/customers\/([^/]+)$/);
    if (method === "GET" && customer) {
      const found = customers.get(customer[1]!);
      return found
        ? [200, found]
        : [404, { error: { type: "invalid_request_error", code: "resource_missing" } }];
    }

    return [
      404,
      {
        error: {
          type: "invalid_request_error",
          message: `Unrecognized request URL (${method}: ${path})`,
        },
      },
    ];
  };

  const server: Server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      const url = new URL(request.url ?? "/", "http://stand-in");
      const params = new URLSearchParams(request.method === "GET" ? url.search : body);
      requests.push({
        method: request.method ?? "",
        path: url.pathname,
        headers: request.headers,
        params,
      });

      const key = request.headers["idempotency-key"];
      const send = (status: number, payload: string) => {
        response.writeHead(status, {
          "content-type": "application/json",
          "request-id": stripeId("req"),
        });
        response.end(payload);
      };
      if (typeof key === "string" && request.method === "POST") {
        const stored = idempotent.get(key);
        if (stored && stored.body !== body) {
          send(
            400,
            JSON.stringify({
              error: {
                type: "idempotency_error",
                message:
                  "Keys for idempotent requests can only be used with the same parameters they " +
                  "were first used with.",
              },
            }),
          );
          return;
        }
        if (stored) {
          response.setHeader("idempotent-replayed", "true");
          send(stored.status, stored.response);
          return;
        }
      }
      const [status, payload] = handle(request.method ?? "GET", url.pathname, params);
      const text = JSON.stringify(payload);
      if (typeof key === "string" && request.method === "POST")
        idempotent.set(key, { body, status, response: text });
      send(status, text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    customers,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
