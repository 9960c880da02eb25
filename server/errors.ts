/**
 * One typed application error. Commands, queries and reactions throw
 * `AppError(code, message)`; the tRPC error formatter and the HTTP API map it
 * with the table below, and nowhere else decides a status code.
 */
export const errorCodes = {
  invalid_request: { http: 400, trpc: "BAD_REQUEST" },
  unauthenticated: { http: 401, trpc: "UNAUTHORIZED" },
  insufficient_credits: { http: 402, trpc: "PAYMENT_REQUIRED" },
  forbidden: { http: 403, trpc: "FORBIDDEN" },
  workspace_suspended: { http: 403, trpc: "FORBIDDEN" },
  /** The metering API refuses the keys of a cancelled (or deleted) workspace. */
  workspace_cancelled: { http: 403, trpc: "FORBIDDEN" },
  /** The portal refuses a change to a suspended or cancelled workspace. */
  workspace_read_only: { http: 403, trpc: "FORBIDDEN" },
  insufficient_scope: { http: 403, trpc: "FORBIDDEN" },
  /** The workspace's tier does not include the feature (webhooks, transfers, holds...). */
  feature_not_in_tier: { http: 403, trpc: "FORBIDDEN" },
  not_found: { http: 404, trpc: "NOT_FOUND" },
  method_not_allowed: { http: 405, trpc: "METHOD_NOT_SUPPORTED" },
  conflict: { http: 409, trpc: "CONFLICT" },
  /** Members and open invitations would exceed the tier's max_seats; a higher tier allows more. */
  seat_limit_reached: { http: 409, trpc: "CONFLICT" },
  idempotency_conflict: { http: 409, trpc: "CONFLICT" },
  /** Paying needs a saved card and the workspace has none. */
  payment_method_required: { http: 409, trpc: "PRECONDITION_FAILED" },
  /** Moving the platform clock while time travel is off (TALLY_TIME_TRAVEL). */
  time_travel_disabled: { http: 409, trpc: "PRECONDITION_FAILED" },
  payload_too_large: { http: 413, trpc: "PAYLOAD_TOO_LARGE" },
  rate_limited: { http: 429, trpc: "TOO_MANY_REQUESTS" },
  internal: { http: 500, trpc: "INTERNAL_SERVER_ERROR" },
} as const;

export type ErrorCode = keyof typeof errorCodes;

export interface AppErrorOptions {
  /** The input field the error concerns, so forms can show it beside that field. */
  field?: string;
  /** Extra machine-readable facts returned with the error (never secrets). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly field?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.field = options.field;
    this.details = options.details;
  }

  get httpStatus(): number {
    return errorCodes[this.code].http;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

/** The JSON body every HTTP error response carries. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string } & Record<string, unknown>;
}

export function errorBody(error: AppError): ErrorBody {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.field ? { field: error.field } : {}),
      ...error.details,
    },
  };
}
