import type { AnyProcedure, AnyRouter } from "@trpc/server";

import { inactiveWorkspaceError, readOnlyStatuses, type Access } from "@/server/auth/access";
import { roleAtLeast, workspaceRoles } from "@/server/auth/roles";
import { endpoints } from "@/server/api/openapi";

import type { ProcedureMeta } from "./init";

/**
 * Who may call what, read from the code itself: every tRPC procedure's
 * access as its builder declared it (server/trpc/init.ts), and every
 * metering API endpoint's scope (server/api/openapi.ts). The router tests
 * call each procedure as these rows say they must be refused, and the
 * README's access matrix is this module's output, checked by the same tests.
 */

export interface ProcedureAccess {
  path: string;
  type: "query" | "mutation" | "subscription";
  /** Undefined when the procedure was built without one of the builders: a test failure. */
  access: Access | undefined;
}

/** Every procedure of a router, in the order the router declares them. */
export function proceduresOf(router: AnyRouter): ProcedureAccess[] {
  const procedures = router._def.procedures as Record<string, AnyProcedure>;

  return Object.entries(procedures).map(([path, procedure]) => ({
    path,
    type: procedure._def.type,
    access: (procedure._def.meta as ProcedureMeta | undefined)?.access,
  }));
}

const yes = "✓";
const no = "–";

function stateCell(access: Extract<Access, { kind: "workspace" }>, status: string): string {
  if (!access.writes) return "reads";

  return (access.allowedWhile as readonly string[]).includes(status) ? "allowed" : "refused";
}

function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");
}

function who(access: Exclude<Access, { kind: "workspace" }>): string {
  switch (access.kind) {
    case "public":
      return "anyone, signed in or not";
    case "signed_in":
      return access.scope ? `signed-in users: ${access.scope}` : "signed-in users";
    case "platform_admin":
      return "platform admins";
  }
}

/** The README's tables: workspace procedures, the others, the metering API. */
export function accessMatrixMarkdown(procedures: ProcedureAccess[]): string {
  const workspace = procedures.flatMap((entry) =>
    entry.access?.kind === "workspace" ? [{ ...entry, access: entry.access }] : [],
  );
  const others = procedures.flatMap((entry) =>
    entry.access && entry.access.kind !== "workspace" ? [{ ...entry, access: entry.access }] : [],
  );

  const workspaceTable = table(
    ["procedure", ...workspaceRoles, ...readOnlyStatuses.map((status) => `when ${status}`)],
    workspace.map(({ path, access }) => [
      `\`${path}\``,
      ...workspaceRoles.map((role) => (roleAtLeast(role, access.minimum) ? yes : no)),
      ...readOnlyStatuses.map((status) => stateCell(access, status)),
    ]),
  );
  const otherTable = table(
    ["procedure", "who"],
    others.map(({ path, access }) => [`\`${path}\``, who(access)]),
  );
  const apiTable = table(
    ["endpoint", "API key scope", ...readOnlyStatuses.map((status) => `when ${status}`)],
    endpoints.map((endpoint) => [
      `\`${endpoint.method} /api/v1${endpoint.path}\``,
      endpoint.scope ? `\`${endpoint.scope}\`` : "none",
      ...readOnlyStatuses.map((status) => `403 \`${inactiveWorkspaceError(status, "").code}\``),
    ]),
  );

  return [
    "**Workspace procedures**",
    "",
    workspaceTable,
    "",
    "**Other procedures**",
    "",
    otherTable,
    "",
    "**Metering API**",
    "",
    apiTable,
  ].join("\n");
}

export const MATRIX_START = "<!-- access-matrix:start -->";
export const MATRIX_END = "<!-- access-matrix:end -->";

/** The text between the README's markers, or undefined when they are missing. */
export function matrixSection(readme: string): string | undefined {
  const start = readme.indexOf(MATRIX_START);
  const end = readme.indexOf(MATRIX_END);
  if (start < 0 || end < start) return undefined;

  return readme.slice(start + MATRIX_START.length, end).trim();
}

export function withMatrix(readme: string, matrix: string): string {
  const start = readme.indexOf(MATRIX_START);
  const end = readme.indexOf(MATRIX_END);

  return `${readme.slice(0, start + MATRIX_START.length)}\n${matrix}\n${readme.slice(end)}`;
}
