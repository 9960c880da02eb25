import { randomUUID } from "node:crypto";

import { initTRPC, TRPCError } from "@trpc/server";
import { eq } from "drizzle-orm";
import superjson from "superjson";
import { z, ZodError } from "zod";

import { users } from "@/drizzle/schema";
import type { Actor } from "@/server/actor";
import { execute, type Command } from "@/server/commands";
import { requireWorkspaceAccess, type Access, type ReadOnlyStatus } from "@/server/auth/access";
import type { WorkspaceRole } from "@/server/auth/roles";
import { AppError, errorCodes, type ErrorCode } from "@/server/errors";
import type { Logger } from "@/server/logger";
import type { Runtime } from "@/server/runtime";
import { findUnstorableText } from "@/server/text";
import { findMembership } from "@/server/workspaces/queries";

export interface SessionUser {
  id: string;
  email: string | null;
  name: string | null;
  isPlatformAdmin: boolean;
}

export interface TrpcContext {
  runtime: Runtime;
  user: SessionUser | null;
  requestId: string;
  log: Logger;
}

/**
 * Builds the context from the session's user id; the user row is read fresh so admin rights apply
 * at once.
 */
export async function createContext(
  runtime: Runtime,
  userId: string | null,
  requestId: string = randomUUID(),
): Promise<TrpcContext> {
  let user: SessionUser | null = null;
  if (userId) {
    const [row] = await runtime.db
      .select({
        id: users.id,
        email: users.email,
        name: users.name,
        isPlatformAdmin: users.isPlatformAdmin,
      })
      .from(users)
      .where(eq(users.id, userId));
    user = row ?? null;
  }

  return { runtime, user, requestId, log: runtime.logger.child({ requestId, userId: user?.id }) };
}

export interface ErrorData {
  appCode: ErrorCode;
  field?: string;
  /** Messages per input field, for forms. */
  fieldErrors?: Record<string, string>;
  details?: Record<string, unknown>;
}

function zodFieldErrors(error: ZodError): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = issue.path.join(".") || "form";
    fields[key] ??= issue.message;
  }

  return fields;
}

/** Every procedure says who may call it; the builders below set it, the router tests read it. */
export interface ProcedureMeta {
  access: Access;
}

const t = initTRPC
  .context<TrpcContext>()
  .meta<ProcedureMeta>()
  .create({
    transformer: superjson,
    errorFormatter({ shape, error }) {
      const cause = error.cause;
      let data: ErrorData;
      if (cause instanceof AppError) {
        data = {
          appCode: cause.code,
          field: cause.field,
          fieldErrors: cause.field ? { [cause.field]: cause.message } : undefined,
          details: cause.details,
        };
      } else if (cause instanceof ZodError) {
        const fieldErrors = zodFieldErrors(cause);
        data = { appCode: "invalid_request", field: Object.keys(fieldErrors)[0], fieldErrors };
      } else {
        data = { appCode: codeFromTrpc(error.code) };
      }
      const message =
        cause instanceof ZodError ? (cause.issues[0]?.message ?? "Invalid input") : shape.message;

      // Stack traces stay in the server log.
      const { stack: _stack, ...rest } = shape.data;

      return {
        ...shape,
        message:
          data.appCode === "internal" ? "Something went wrong on our side; it was logged" : message,
        data: { ...rest, ...data },
      };
    },
  });

function codeFromTrpc(code: TRPCError["code"]): ErrorCode {
  const match = (Object.entries(errorCodes) as [ErrorCode, (typeof errorCodes)[ErrorCode]][]).find(
    ([, mapping]) => mapping.trpc === code,
  );

  return match?.[0] ?? "internal";
}

/** AppErrors become TRPCErrors with the code from the one mapping table in server/errors.ts. */
const mapErrors = t.middleware(async ({ next, ctx, path }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    if (cause instanceof AppError) {
      if (["forbidden", "unauthenticated", "workspace_read_only"].includes(cause.code)) {
        ctx.log.warn({ path, code: cause.code }, "request refused");
      }
      throw new TRPCError({ code: errorCodes[cause.code].trpc, message: cause.message, cause });
    }
    if (result.error.code === "INTERNAL_SERVER_ERROR") {
      ctx.log.error({ err: cause ?? result.error, path }, "procedure failed");
    }
  }

  return result;
});

/**
 * Runs a command through the pipeline as the caller: the actor (the signed-in
 * user, or the system for public procedures), the request id and the logger
 * come from the tRPC context.
 */
export function runCommand<TSchema extends z.ZodType, TResult, TPrepared>(
  ctx: TrpcContext & { actor?: Actor },
  command: Command<TSchema, TResult, TPrepared>,
  input: z.input<TSchema>,
): Promise<TResult> {
  const actor: Actor = ctx.actor ?? { type: "system", reason: `public ${command.name}` };

  return execute(ctx.runtime, command, input, { actor, requestId: ctx.requestId, log: ctx.log });
}

export const router = t.router;
/** Joins routers that share one namespace, e.g. the ledger's and the purchases' under `credits`. */
export const mergeRouters = t.mergeRouters;
export const createCallerFactory = t.createCallerFactory;

/** Text the database cannot store is refused for every procedure, queries included. */
const refuseUnstorableText = t.middleware(async ({ getRawInput, next }) => {
  const problem = findUnstorableText(await getRawInput());
  if (problem) {
    throw new AppError("invalid_request", `${problem.path || "The input"} ${problem.message}`, {
      field: problem.path || undefined,
    });
  }

  return next();
});

export const publicProcedure = t.procedure
  .meta({ access: { kind: "public" } })
  .use(mapErrors)
  .use(refuseUnstorableText);

export const signedInProcedure = publicProcedure
  .meta({ access: { kind: "signed_in" } })
  .use(({ ctx, next }) => {
    if (!ctx.user) throw new AppError("unauthenticated", "Sign in to continue");
    const user = ctx.user;

    return next({
      ctx: { user, actor: { type: "user", userId: user.id } satisfies Actor as Actor },
    });
  });

export interface WorkspaceProcedureOptions {
  /**
   * The procedure changes the workspace. A suspended or cancelled workspace
   * is read-only, so it refuses the call with workspace_read_only.
   */
  writes?: boolean;
  /**
   * Read-only states in which this change still goes through, e.g. buying
   * credits while suspended. Only meaningful with `writes`.
   */
  allowedWhile?: readonly ReadOnlyStatus[];
}

/**
 * Procedures on one workspace. The input carries `workspaceId`; the caller
 * must be a member with at least `minimum`, and a change (`writes`) needs the
 * workspace to be active unless `allowedWhile` names its state. The rules are
 * in server/auth/access.ts; the README's access matrix is generated from
 * these declarations. ctx gains the workspace and the role.
 */
export function workspaceProcedure(
  minimum: WorkspaceRole,
  options: WorkspaceProcedureOptions = {},
) {
  const rule = {
    minimum,
    writes: options.writes ?? false,
    allowedWhile: options.allowedWhile ?? [],
  };

  return signedInProcedure
    .meta({ access: { kind: "workspace", ...rule } })
    .input(z.object({ workspaceId: z.uuid() }))
    .use(async ({ ctx, input, next }) => {
      const workspace = requireWorkspaceAccess(
        rule,
        await findMembership(ctx.runtime.db, ctx.user.id, input.workspaceId),
      );

      return next({
        ctx: { workspace, log: ctx.log.child({ workspaceId: workspace.workspaceId }) },
      });
    });
}

export const platformAdminProcedure = signedInProcedure
  .meta({ access: { kind: "platform_admin" } })
  .use(({ ctx, next }) => {
    if (!ctx.user.isPlatformAdmin) throw new AppError("forbidden", "Platform administrators only");

    return next();
  });
