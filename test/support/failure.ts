import { TRPCError } from "@trpc/server";
import { ZodError } from "zod";

import { AppError } from "@/server/errors";

/**
 * What a failed tRPC call said: its code, the app's code and the field it
 * concerns (from an AppError, or the first issue of a refused input).
 */
export async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof TRPCError)) throw error;
    const cause = error.cause;
    if (cause instanceof ZodError) {
      return {
        code: error.code,
        appCode: "invalid_request",
        field: cause.issues[0]?.path.join("."),
        message: cause.issues[0]?.message,
      };
    }

    return {
      code: error.code,
      appCode: cause instanceof AppError ? cause.code : undefined,
      field: cause instanceof AppError ? cause.field : undefined,
      message: error.message,
    };
  }
  throw new Error("expected the call to fail");
}
