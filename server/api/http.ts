import { randomUUID } from "node:crypto";

import { AppError, errorBody } from "@/server/errors";

/** Helpers shared by Tally's plain HTTP endpoints (metering API, webhooks). */

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

export function requestIdOf(request: Request): string {
  const incoming = request.headers.get("x-request-id");

  return incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

export function json(
  body: unknown,
  status: number,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      ...headers,
    },
  });
}

export function errorResponse(
  error: AppError,
  requestId: string,
  extra: Record<string, unknown> = {},
): Response {
  return json({ ...extra, ...errorBody(error) }, error.httpStatus, { "x-request-id": requestId });
}

/** Reads the body as text, refusing more than `limit` bytes without buffering them all. */
export async function readText(request: Request, limit: number): Promise<string> {
  const tooLarge = () =>
    new AppError("payload_too_large", `The body is larger than ${limit} bytes`);
  if (Number(request.headers.get("content-length") ?? "0") > limit) throw tooLarge();
  if (!request.body) return "";

  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }

  return Buffer.concat(chunks).toString("utf8");
}

/** Reads a JSON object body of at most `limit` bytes, with clear errors otherwise. */
export async function readJsonObject(
  request: Request,
  limit = 64 * 1024,
): Promise<Record<string, unknown>> {
  const text = await readText(request, limit);
  if (text.trim() === "")
    throw new AppError("invalid_request", "The body is empty; send a JSON object");

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AppError("invalid_request", "The body is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new AppError("invalid_request", "The body must be a JSON object");
  }

  return parsed as Record<string, unknown>;
}
