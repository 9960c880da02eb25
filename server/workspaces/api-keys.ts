import { createHash, randomBytes } from "node:crypto";

import { and, desc, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { Sql } from "postgres";
import { z } from "zod";

import { apiKeys, tiers, workspaces, type TierFeature } from "@/drizzle/schema";
import type { RateLimit } from "@/server/api/rate-limit";
import type { Clock } from "@/server/clock";
import { defineCommand } from "@/server/commands";
import type { Db, Tx } from "@/server/db/client";
import { inactiveWorkspaceError, type WorkspaceStatus } from "@/server/auth/access";
import { AppError } from "@/server/errors";

import { requireTierFeature } from "./tiers";

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

/**
 * What a key may do on the metering API: `usage:write` consumes credits and
 * places, finalizes and releases holds; `balance:read` reads the balance.
 */
export const API_KEY_SCOPES = ["usage:write", "balance:read"] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export const apiKeyScopes = z
  .array(z.enum(API_KEY_SCOPES, { error: `Scopes are ${API_KEY_SCOPES.join(" and ")}` }))
  .min(1, "Choose at least one scope")
  .transform((scopes) => API_KEY_SCOPES.filter((scope) => scopes.includes(scope)));

export const createApiKeyInput = z.object({
  workspaceId: z.uuid(),
  name: z
    .string()
    .trim()
    .min(1, "Name the key after what uses it")
    .max(60, "Names are at most 60 characters"),
  scopes: apiKeyScopes.default([...API_KEY_SCOPES]),
});

/**
 * The PostgreSQL NOTIFY channel that tells every server process a key was
 * revoked (payload: the key's id), so caches of authenticated keys drop it.
 */
export const API_KEY_REVOKED_CHANNEL = "tally_api_key_revoked";

/**
 * The NOTIFY channel that tells every server process a workspace was
 * suspended, reactivated or cancelled, or moved to another tier (payload: the
 * workspace's id), so caches drop its keys and the next call reads the new
 * status, features and rate limit. Publishing or archiving a tier version
 * needs no notice: no workspace's version changes.
 */
export const WORKSPACE_STATUS_CHANNEL = "tally_workspace_status";

/**
 * Called by the commands that change a workspace's status, in their
 * transaction: the notice goes out at commit, and this process forgets the
 * workspace's keys at once, so no cached key answers with the old status.
 */
export async function announceWorkspaceStatus(tx: Tx, workspaceId: string): Promise<void> {
  await tx.execute(sql`SELECT pg_notify(${WORKSPACE_STATUS_CHANNEL}, ${workspaceId})`);
  for (const cache of caches) cache.forgetWorkspace(workspaceId);
}

/** Creates an API key. The key is returned once and only its hash is kept. */
export const createApiKey = defineCommand({
  name: "workspaces.createApiKey",
  input: createApiKeyInput,
  async run({ tx, actor, clock }, input) {
    await requireTierFeature(tx, input.workspaceId, "api_keys");
    const key = generateApiKey();
    const [row] = await tx
      .insert(apiKeys)
      .values({
        workspaceId: input.workspaceId,
        name: input.name,
        prefix: displayPrefix(key),
        keyHash: hashApiKey(key),
        scopes: input.scopes,
        createdBy: actor.type === "user" ? actor.userId : null,
        createdAt: clock.now(),
      })
      .returning({ id: apiKeys.id, prefix: apiKeys.prefix });
    if (!row) throw new Error("API key insert returned nothing");

    return {
      result: { id: row.id, key, prefix: row.prefix, scopes: input.scopes },
      workspaceId: input.workspaceId,
      audit: { apiKeyId: row.id, name: input.name, prefix: row.prefix, scopes: input.scopes },
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
    // Delivered to every listening process at commit; this process forgets the key at once.
    await tx.execute(sql`SELECT pg_notify(${API_KEY_REVOKED_CHANNEL}, ${row.id})`);
    forgetApiKey(row.id);

    return { result: { id: row.id }, workspaceId: input.workspaceId };
  },
});

export async function listApiKeys(db: Db, workspaceId: string) {
  return db
    .select({
      id: apiKeys.id,
      name: apiKeys.name,
      prefix: apiKeys.prefix,
      scopes: apiKeys.scopes,
      createdAt: apiKeys.createdAt,
      lastUsedAt: apiKeys.lastUsedAt,
      revokedAt: apiKeys.revokedAt,
    })
    .from(apiKeys)
    .where(eq(apiKeys.workspaceId, workspaceId))
    .orderBy(desc(apiKeys.createdAt));
}

/**
 * What the metering API needs of the key's tier, cached with the key: its
 * features and its rate limit (null: the server's default). A tier change
 * reaches the caches like a status change, through announceWorkspaceStatus.
 */
export interface KeyTier {
  name: string;
  features: TierFeature[];
  rateLimit: RateLimit | null;
}

export interface ApiKeyPrincipal {
  apiKeyId: string;
  workspaceId: string;
  workspaceStatus: WorkspaceStatus;
  scopes: ApiKeyScope[];
  tier: KeyTier;
}

interface KeyRow extends ApiKeyPrincipal {
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

const LAST_USED_EVERY_MS = 60_000;

function missingKey(): AppError {
  return new AppError(
    "unauthenticated",
    "Send your API key as 'Authorization: Bearer tally_sk_...'",
  );
}

async function findKey(db: Db, keyHash: string): Promise<KeyRow | undefined> {
  const [row] = await db
    .select({
      apiKeyId: apiKeys.id,
      workspaceId: apiKeys.workspaceId,
      revokedAt: apiKeys.revokedAt,
      lastUsedAt: apiKeys.lastUsedAt,
      scopes: apiKeys.scopes,
      workspaceStatus: workspaces.status,
      tierName: tiers.name,
      features: tiers.features,
      perSecond: tiers.apiRatePerSecond,
      burst: tiers.apiRateBurst,
    })
    .from(apiKeys)
    .innerJoin(workspaces, eq(workspaces.id, apiKeys.workspaceId))
    .innerJoin(tiers, eq(tiers.id, workspaces.tierId))
    .where(eq(apiKeys.keyHash, keyHash));
  if (!row) return undefined;
  const { tierName, features, perSecond, burst, ...key } = row;

  return {
    ...key,
    scopes: row.scopes.filter(isScope),
    tier: {
      name: tierName,
      features,
      rateLimit: perSecond !== null && burst !== null ? { perSecond, burst } : null,
    },
  };
}

function isScope(scope: string): scope is ApiKeyScope {
  return (API_KEY_SCOPES as readonly string[]).includes(scope);
}

/** Refuses a key of a workspace that is not active: every call, replays of earlier ones included. */
function principalOf(row: KeyRow): ApiKeyPrincipal {
  if (row.workspaceStatus !== "active") {
    throw inactiveWorkspaceError(row.workspaceStatus, "its API keys are refused");
  }

  return {
    apiKeyId: row.apiKeyId,
    workspaceId: row.workspaceId,
    workspaceStatus: row.workspaceStatus,
    scopes: row.scopes,
    tier: row.tier,
  };
}

/** Writes last_used_at when the stored time is more than a minute old. */
async function touchKey(db: Db, apiKeyId: string, now: Date): Promise<void> {
  const staleBefore = new Date(now.getTime() - LAST_USED_EVERY_MS);
  await db
    .update(apiKeys)
    .set({ lastUsedAt: now })
    .where(
      and(
        eq(apiKeys.id, apiKeyId),
        or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, staleBefore)),
      ),
    );
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
  if (!key) throw missingKey();
  const row = await findKey(db, hashApiKey(key));
  if (!row || row.revokedAt) throw new AppError("unauthenticated", "This API key is not valid");
  const principal = principalOf(row);

  const now = clock.now();
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > LAST_USED_EVERY_MS) {
    await touchKey(db, row.apiKeyId, now);
  }

  return principal;
}

const globalForCaches = globalThis as unknown as { tallyApiKeyCaches?: Set<ApiKeyCache> };
const caches = (globalForCaches.tallyApiKeyCaches ??= new Set());

/** Drops a revoked key from every cache in this process (whichever module copy made it). */
export function forgetApiKey(apiKeyId: string): void {
  for (const cache of caches) cache.forget(apiKeyId);
}

interface CachedKey {
  row: KeyRow;
  /** performance.now() after which the row is read again. */
  freshUntil: number;
}

export interface ApiKeyCacheOptions {
  /** How long a key's row (its workspace's status included) is trusted; 5 seconds by default. */
  ttlMs?: number;
  /** Errors of the background last_used_at writes go here. */
  onError?: (error: unknown) => void;
}

/**
 * authenticateApiKey with the key's row kept in memory for a few seconds, so
 * the metering API's hot path makes no query to authenticate. A revoked key
 * stops working at once: revokeApiKey tells this process directly and every
 * other process through NOTIFY on API_KEY_REVOKED_CHANNEL (listen() subscribes;
 * when the listening connection is re-established, everything cached is
 * dropped, since notices may have been missed). A workspace's suspension or
 * reactivation reaches the caches the same way, on WORKSPACE_STATUS_CHANNEL
 * (a change made without announceWorkspaceStatus is seen within `ttlMs`), and
 * consumption and holds check the workspace's status again in their own
 * transaction.
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, CachedKey>();
  private readonly ttlMs: number;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly options: ApiKeyCacheOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 5_000;
    caches.add(this);
  }

  /** Subscribes to revocations from other processes (postgres.js keeps the subscription alive). */
  async listen(sql: Sql): Promise<void> {
    await sql.listen(
      API_KEY_REVOKED_CHANNEL,
      (apiKeyId) => this.forget(apiKeyId),
      () => this.entries.clear(),
    );
    await sql.listen(
      WORKSPACE_STATUS_CHANNEL,
      (workspaceId) => this.forgetWorkspace(workspaceId),
      () => this.entries.clear(),
    );
  }

  forget(apiKeyId: string): void {
    for (const [hash, entry] of this.entries) {
      if (entry.row.apiKeyId === apiKeyId) this.entries.delete(hash);
    }
  }

  forgetWorkspace(workspaceId: string): void {
    for (const [hash, entry] of this.entries) {
      if (entry.row.workspaceId === workspaceId) this.entries.delete(hash);
    }
  }

  close(): void {
    this.entries.clear();
    caches.delete(this);
  }

  async authenticate(key: string | null): Promise<ApiKeyPrincipal> {
    if (!key) throw missingKey();
    const hash = hashApiKey(key);
    const cached = this.entries.get(hash);
    let row: KeyRow | undefined;
    if (cached && cached.freshUntil > performance.now()) {
      row = cached.row;
    } else {
      row = await findKey(this.db, hash);
      // Only valid keys are kept: an unknown key is asked about every time.
      if (row && !row.revokedAt) {
        this.entries.set(hash, { row, freshUntil: performance.now() + this.ttlMs });
      } else {
        this.entries.delete(hash);
      }
    }
    if (!row || row.revokedAt) throw new AppError("unauthenticated", "This API key is not valid");
    const principal = principalOf(row);

    const now = this.clock.now();
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > LAST_USED_EVERY_MS) {
      row.lastUsedAt = now;
      touchKey(this.db, row.apiKeyId, now).catch((error: unknown) => this.options.onError?.(error));
    }

    return principal;
  }
}
