import type { workspaceStatus } from "@/drizzle/schema";
import { AppError } from "@/server/errors";

import { roleAtLeast, type WorkspaceRole } from "./roles";

/**
 * The rules the procedure builders (server/trpc/init.ts) apply, written once:
 * who may call a procedure, and what a workspace's state allows. The
 * builders are the only callers that enforce them; pages read the same
 * notice (`readOnlyNotice`) to disable what would be refused.
 */

export type WorkspaceStatus = (typeof workspaceStatus.enumValues)[number];
/** The states in which a workspace is read-only in the portal. */
/** A deleted workspace is gone for everyone (not_found); these are the states it can be seen in. */
export type ReadOnlyStatus = Exclude<WorkspaceStatus, "active" | "deleted">;
export const readOnlyStatuses: readonly ReadOnlyStatus[] = ["suspended", "cancelled"];

/**
 * The metering API's refusal of a workspace that is not active: its keys, its
 * consumption, holds and balance. `workspace_cancelled` for a cancelled or
 * deleted workspace (nothing brings its keys back but support), and
 * `workspace_suspended` for a suspended one.
 */
export function inactiveWorkspaceError(status: WorkspaceStatus, what: string): AppError {
  if (status === "cancelled" || status === "deleted") {
    return new AppError("workspace_cancelled", `This workspace is ${status}; ${what}`);
  }

  return new AppError(
    "workspace_suspended",
    `This workspace is ${status}; ${what} until it is reactivated`,
  );
}

/** Who may call a procedure: declared by the builder it is made with, and read by the tests. */
export type Access =
  | { kind: "public" }
  /** `scope` says what a procedure checks beyond sign-in, for the README's matrix. */
  | { kind: "signed_in"; scope?: string }
  | { kind: "platform_admin" }
  | ({ kind: "workspace" } & WorkspaceRule);

export interface WorkspaceRule {
  /** The least powerful role admitted. */
  minimum: WorkspaceRole;
  /** The procedure changes the workspace, so a read-only workspace refuses it. */
  writes: boolean;
  /**
   * Read-only states in which this change still goes through: buying credits
   * while suspended, paying an invoice, taking access away.
   */
  allowedWhile: readonly ReadOnlyStatus[];
}

/** What the builder knows about the caller's place in a workspace. */
export interface WorkspaceState {
  name: string;
  role: WorkspaceRole;
  status: WorkspaceStatus;
  suspensionReason: string | null;
}

export interface ReadOnlyNotice {
  status: ReadOnlyStatus;
  /** Why, as the platform admin or dunning gave it (suspensions only). */
  reason: string | null;
  /** Why the workspace is read-only and what to do about it, in a sentence or two. */
  message: string;
}

/** Why a workspace is read-only and what to do, or null while it is active. */
export function readOnlyNotice(state: Omit<WorkspaceState, "role">): ReadOnlyNotice | null {
  switch (state.status) {
    case "active":
    case "deleted":
      return null;
    case "suspended":
      return {
        status: "suspended",
        reason: state.suspensionReason,
        message:
          `${state.name} is suspended` +
          (state.suspensionReason ? ` (${state.suspensionReason.replace(/[.\s]+$/, "")})` : "") +
          `, so it is read-only and its API keys are refused. To reactivate it, pay the open ` +
          `invoice or contact support; buying credits still works.`,
      };
    case "cancelled":
      return {
        status: "cancelled",
        reason: null,
        message:
          `${state.name} is cancelled, so it is read-only; its history stays readable. ` +
          `Contact support to reopen it.`,
      };
  }
}

/**
 * Lets a caller run a workspace procedure or throws the refusal: the state
 * back when they may. A non-member gets not_found, so workspace ids cannot
 * be probed; the role is checked before the state, so a refusal never hints
 * at a state the caller could not act on.
 */
export function requireWorkspaceAccess<TState extends WorkspaceState>(
  rule: WorkspaceRule,
  state: TState | undefined,
): TState {
  if (!state || state.status === "deleted") throw new AppError("not_found", "Workspace not found");
  if (!roleAtLeast(state.role, rule.minimum)) {
    throw new AppError(
      "forbidden",
      `This needs the ${rule.minimum} role or higher; you are ${state.role}`,
    );
  }
  const notice = readOnlyNotice(state);
  if (rule.writes && notice && !rule.allowedWhile.includes(notice.status)) {
    throw new AppError("workspace_read_only", notice.message, {
      details: { status: notice.status },
    });
  }

  return state;
}
