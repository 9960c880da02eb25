import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import { AppError } from "@/server/errors";

import { type ApiRequest, type MeteringApi } from "./metering";

/**
 * The metering API on plain node:http: no framework between the socket and
 * the handler, so its throughput is bounded by the database, not by a
 * request pipeline built for pages. `serve.ts` runs it in front of Next
 * (requests under /api/v1 never reach Next) or on its own.
 */

export const API_PATH_PREFIX = "/api/v1";

export function isApiPath(url: string | undefined): boolean {
  return (
    url === API_PATH_PREFIX ||
    (url?.startsWith(`${API_PATH_PREFIX}/`) ?? false) ||
    (url?.startsWith(`${API_PATH_PREFIX}?`) ?? false)
  );
}

class TooLarge extends AppError {
  constructor(limit: number) {
    super("payload_too_large", `The body is larger than ${limit} bytes`);
  }
}

/** Reads the body, refusing more than `limit` bytes without buffering them all. */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) return Promise.reject(new TooLarge(limit));

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off("data", onData);
        reject(new TooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () =>
      resolve(
        chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8"),
      ),
    );
    req.once("error", reject);
  });
}

function apiRequest(req: IncomingMessage): ApiRequest & { tooLarge: boolean } {
  const url = req.url ?? "/";
  const query = url.indexOf("?");
  const request = {
    method: req.method ?? "GET",
    path: query === -1 ? url : url.slice(0, query),
    tooLarge: false,
    header: (name: string) => {
      const value = req.headers[name];

      return Array.isArray(value) ? value.join(", ") : value;
    },
    text: (limit: number) =>
      readBody(req, limit).catch((error: unknown) => {
        if (error instanceof TooLarge) request.tooLarge = true;
        throw error;
      }),
  };

  return request;
}

/** Answers one request under /api/v1. */
export async function serveApi(api: MeteringApi, req: IncomingMessage, res: ServerResponse) {
  const request = apiRequest(req);
  const response = await api.handle(request);
  const body = JSON.stringify(response.body);
  const headers: Record<string, string | number> = {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
    ...response.headers,
  };
  // The rest of an oversized body is not read: the connection cannot carry another request.
  if (request.tooLarge) headers.connection = "close";
  res.writeHead(response.status, headers);
  res.end(body);
}

export interface ListenOptions {
  port: number;
  hostname?: string;
  /** Everything outside /api/v1; a 404 in JSON when absent (the API-only server). */
  fallback?: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
}

export interface RunningServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Starts an HTTP server that routes /api/v1 to the metering API and the rest to `fallback`. */
export function listen(api: MeteringApi, options: ListenOptions): Promise<RunningServer> {
  const server = createServer((req, res) => {
    const done = (error: unknown) => {
      api.log.error({ err: error, url: req.url }, "request failed");
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end();
    };
    if (isApiPath(req.url) || !options.fallback) {
      serveApi(api, req, res).catch(done);
      return;
    }
    Promise.resolve(options.fallback(req, res)).catch(done);
  });
  // Keep-alive connections from a client's pool outlive Node's 5 s default between calls.
  server.keepAliveTimeout = 65_000;
  // A client that stalls mid-request is cut off in seconds, not Node's five minutes, and no
  // number of stalled sockets can use up the process's file descriptors.
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;
  server.maxConnections = 4_096;
  // What Node's own parser refuses (a header too large, a malformed length) is answered in the
  // API's error format too.
  server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || (error as { code?: string }).code === "ECONNRESET") {
      socket.destroy();
      return;
    }
    const tooLarge = error.code === "HPE_HEADER_OVERFLOW";
    const timedOut = error.code === "ERR_HTTP_REQUEST_TIMEOUT";
    const [status, reason, code, message] = tooLarge
      ? [
          431,
          "Request Header Fields Too Large",
          "headers_too_large",
          "The request's headers are too large",
        ]
      : timedOut
        ? [408, "Request Timeout", "request_timeout", "The request took too long to arrive"]
        : [400, "Bad Request", "invalid_request", "The request is not valid HTTP"];
    const body = JSON.stringify({ error: { code, message, details: {} } });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname ?? "127.0.0.1", () => {
      server.off("error", reject);
      const address = server.address() as AddressInfo;
      const host = options.hostname === "localhost" ? "localhost" : address.address;
      resolve({
        server,
        url: `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}
