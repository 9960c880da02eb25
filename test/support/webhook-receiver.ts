import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import { verifySignature } from "@/server/notifications/webhooks/signature";

/**
 * A webhook receiver such as a customer would write: it verifies the
 * Tally-Signature with the endpoint's secret, and processes events in order
 * per object, dropping any whose sequence is not newer than the last one it
 * processed for that object.
 */
export interface ReceivedWebhook {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  payload: {
    id: string;
    type: string;
    sequence: number | null;
    previous_sequence: number | null;
    object: { type: string; id: string };
    data: Record<string, unknown>;
  };
  signatureValid: boolean;
  outcome: "processed" | "stale";
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** The status to answer with; 200 by default. */
  status: number;
  secret: string;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const lastSequence = new Map<string, number>();
  const receiver: WebhookReceiver = {
    url: "",
    received: [],
    status: 200,
    secret: "",
    close: async () => undefined,
  };
  const server: Server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      const signature = request.headers["tally-signature"];
      const signatureValid = verifySignature(
        receiver.secret,
        body,
        typeof signature === "string" ? signature : null,
        Math.floor(Date.now() / 1000),
        // The test's clock is not the wall clock; freshness is checked elsewhere.
        Number.MAX_SAFE_INTEGER,
      );
      const payload = JSON.parse(body) as ReceivedWebhook["payload"];
      const key = `${payload.object.type}:${payload.object.id}`;
      let outcome: ReceivedWebhook["outcome"] = "processed";
      if (receiver.status < 300 && signatureValid && payload.sequence !== null) {
        if ((lastSequence.get(key) ?? 0) >= payload.sequence) outcome = "stale";
        else lastSequence.set(key, payload.sequence);
      }
      receiver.received.push({ headers: request.headers, body, payload, signatureValid, outcome });
      response.writeHead(signatureValid ? receiver.status : 400, { "content-type": "text/plain" });
      response.end(signatureValid ? `status ${receiver.status}` : "bad signature");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/tally`;
  receiver.close = () => new Promise<void>((resolve) => server.close(() => resolve()));

  return receiver;
}
