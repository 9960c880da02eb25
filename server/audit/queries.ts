import { and, desc, eq, inArray, lt, sql } from "drizzle-orm";
import { z } from "zod";

import { auditLog, users } from "@/drizzle/schema";
import type { Db } from "@/server/db/client";

export const auditTrailInput = z.object({
  workspaceId: z.uuid(),
  /** Only entries of these commands (e.g. `workspaces.suspend`); empty means all. */
  commands: z.array(z.string().trim().min(1).max(80)).max(20).default([]),
  limit: z.number().int().min(1).max(100).default(20),
  /** Entries older than this id: the previous page's `nextBefore`. */
  before: z.number().int().positive().optional(),
});
export type AuditTrailInput = z.input<typeof auditTrailInput>;

/**
 * Platform admins: one workspace's audit entries, newest first, keyset-paginated
 * by id, with the acting user's email, and the commands that appear in the
 * workspace's trail (for the filter).
 */
export async function auditTrail(db: Db, rawInput: AuditTrailInput) {
  const input = auditTrailInput.parse(rawInput);
  const [rows, commands] = await Promise.all([
    db
      .select({
        id: auditLog.id,
        command: auditLog.command,
        actorType: auditLog.actorType,
        actorId: auditLog.actorId,
        actorEmail: users.email,
        summary: auditLog.summary,
        requestId: auditLog.requestId,
        occurredAt: auditLog.occurredAt,
      })
      .from(auditLog)
      .leftJoin(
        users,
        and(eq(auditLog.actorType, "user"), sql`${users.id}::text = ${auditLog.actorId}`),
      )
      .where(
        and(
          eq(auditLog.workspaceId, input.workspaceId),
          input.commands.length > 0 ? inArray(auditLog.command, input.commands) : undefined,
          input.before === undefined ? undefined : lt(auditLog.id, input.before),
        ),
      )
      .orderBy(desc(auditLog.id))
      .limit(input.limit + 1),
    db
      .selectDistinct({ command: auditLog.command })
      .from(auditLog)
      .where(eq(auditLog.workspaceId, input.workspaceId))
      .orderBy(auditLog.command),
  ]);
  const entries = rows.slice(0, input.limit);

  return {
    entries,
    nextBefore: rows.length > input.limit ? (entries.at(-1)?.id ?? null) : null,
    commands: commands.map((row) => row.command),
  };
}
