import { createHash, randomBytes } from "node:crypto";

import { and, desc, eq, isNull, lt, or } from "drizzle-orm";
import { z } from "zod";

import { apiKeys, workspaces } from "@/drizzle/schema";
import type { Clock } from "@/server/clock";
import { defineCommand } from "@/server/commands";
import type { Db } from "@/server/db/client";
import { AppError } from "@/server/errors";

export const API_KEY_PREFIX = "tally_sk_";
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** `tally_sk_` followed by 32 base-62 characters (about 190 bits). */
export function generateApiKey(): string {
  // 248 is the largest multiple of 62 below 256: rejecting larger bytes keeps every character
  // equally likely.
  let body = "";
  while (body.length < 32) {
    for (const byte of randomBytes(48)) {
      if (byte < 248 && body.length < 32) body += ALPHABET[byte % 62];
    }
  }

  return `${API_KEY_PREFIX}${body}`;
}

export function displayPrefix(key: string): string {
  return key.slice(0, API_KEY_PREFIX.length + 6);
}

export const createApiKeyInput = z.object({
  workspaceId: z.uuid(),
  name: z
    .string()
    .trim()
    .min(1, "Name the key after what uses it")
    .max(60, "Names are at most 60 characters"),
});

/** Creates an API key. The key is returned once and only its hash is kept. */
export const createApiKey = defineCommand({
  name: "workspaces.createApiKey",
  input: createApiKeyInput,
  async run({ tx, actor, clock }, input) {
    const key = generateApiKey();
    const [row] = await tx
      .insert(apiKeys)
      .values({
        workspaceId: input.workspaceId,
        name: input.name,
        prefix: displayPrefix(key),
        keyHash: hashApiKey(key),
        createdBy: actor.type === "user" ? actor.userId : null,
        createdAt: clock.now(),
      })
      .returning({ id: apiKeys.id, prefix: apiKeys.prefix });
    if (!row) throw new Error("API key insert returned nothing");

    return {
      result: { id: row.id, key, prefix: row.prefix },
      workspaceId: input.workspaceId,
      audit: { apiKeyId: row.id, name: input.name, prefix: row.prefix },
    };
  },
});

export const revokeApiKey = defineCommand({
  name: "workspaces.revokeApiKey",
  input: z.object({ workspaceId: z.uuid(), apiKeyId: z.uuid() }),
  async run({ tx, clock }, input) {
    const [row] = await tx
      .update(apiKeys)
      .set({ revokedAt: clock.now() })
      .where(
        and(
          eq(apiKeys.id, input.apiKeyId),
          eq(apiKeys.workspaceId, input.workspaceId),
          isNull(apiKeys.revokedAt),
        ),
      )
      .returning({ id: apiKeys.id });
    if (!row) throw new AppError("not_found", "No active API key with that id in this workspace");

    return { result: { id: row.id }, workspaceId: input.workspaceId };
  },
});

export async function listApiKeys(db: Db, workspaceId: string) {
  return db
    .select({
      id: apiKeys.id,
      name: apiKeys.name,
      prefix: apiKeys.prefix,
      createdAt: apiKeys.createdAt,
      lastUsedAt: apiKeys.lastUsedAt,
      revokedAt: apiKeys.revokedAt,
    })
    .from(apiKeys)
    .where(eq(apiKeys.workspaceId, workspaceId))
    .orderBy(desc(apiKeys.createdAt));
}

export interface ApiKeyPrincipal {
  apiKeyId: string;
  workspaceId: string;
  workspaceStatus: "active" | "suspended" | "cancelled";
}

/**
 * Resolves a bearer key to its workspace: the one place the metering API
 * decides access. Unknown and revoked keys are both 401 with the same
 * message, so a caller cannot probe which keys existed; a key of a workspace
 * that is not active is 403.
 * last_used_at is written at most once a minute per key, to keep the hot
 * path free of a write per call.
 */
export async function authenticateApiKey(
  db: Db,
  clock: Clock,
  key: string | null,
): Promise<ApiKeyPrincipal> {
  if (!key) {
    throw new AppError(
      "unauthenticated",
      "Send your API key as 'Authorization: Bearer tally_sk_...'",
    );
  }
  const [row] = await db
    .select({
      apiKeyId: apiKeys.id,
      workspaceId: apiKeys.workspaceId,
      revokedAt: apiKeys.revokedAt,
      lastUsedAt: apiKeys.lastUsedAt,
      workspaceStatus: workspaces.status,
    })
    .from(apiKeys)
    .innerJoin(workspaces, eq(workspaces.id, apiKeys.workspaceId))
    .where(eq(apiKeys.keyHash, hashApiKey(key)));
  if (!row || row.revokedAt) throw new AppError("unauthenticated", "This API key is not valid");
  if (row.workspaceStatus !== "active") {
    // Every call is refused while the workspace is not active, replays of earlier calls included.
    throw new AppError(
      "workspace_suspended",
      `This workspace is ${row.workspaceStatus}; its API keys work again once it is reactivated`,
    );
  }

  const now = clock.now();
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > 60_000) {
    const staleBefore = new Date(now.getTime() - 60_000);
    await db
      .update(apiKeys)
      .set({ lastUsedAt: now })
      .where(
        and(
          eq(apiKeys.id, row.apiKeyId),
          or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, staleBefore)),
        ),
      );
  }

  return {
    apiKeyId: row.apiKeyId,
    workspaceId: row.workspaceId,
    workspaceStatus: row.workspaceStatus,
  };
}
