import type { Clock } from "@/server/clock";

/**
 * A token bucket per API key: it holds at most `burst` tokens, refills at
 * `perSecond` tokens a second, and every request takes one (a batch of a
 * thousand consumptions is one request). An empty bucket answers when the
 * next token arrives, for Retry-After.
 *
 * TODO: buckets live in the server process; with several processes behind a
 * load balancer each has its own, so a key may get up to that many times the
 * limit. A shared limit needs a shared store (a PostgreSQL row or Redis).
 */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export type RateDecision =
  { allowed: true; remaining: number } | { allowed: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  /** Clock time of the last refill, in ms. */
  at: number;
}

/** Buckets not touched for this long are full again; dropping them frees their memory. */
const IDLE_MS = 10 * 60_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep: number;

  /** `limit` is the default, for keys whose tier sets none. */
  constructor(
    private readonly limit: RateLimit,
    private readonly clock: Clock,
  ) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1)) {
      throw new RangeError("A rate limit needs a positive rate and a burst of at least 1");
    }
    this.lastSweep = clock.now().getTime();
  }

  /**
   * Takes a token from `key`'s bucket under `limit` (the key's tier's), or
   * under the limiter's own, the default, when it is null or missing.
   */
  take(key: string, limit: RateLimit | null = null): RateDecision {
    const { perSecond, burst } = limit ?? this.limit;
    const now = this.clock.now().getTime();
    this.sweep(now);
    const bucket = this.buckets.get(key) ?? { tokens: burst, at: now };
    // A clock moved backwards refills nothing rather than draining the bucket.
    const elapsed = Math.max(0, now - bucket.at);
    bucket.tokens = Math.min(burst, bucket.tokens + (elapsed * perSecond) / 1000);
    bucket.at = Math.max(now, bucket.at);
    this.buckets.set(key, bucket);

    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;

      return { allowed: true, remaining: Math.floor(bucket.tokens) };
    }
    const waitMs = ((1 - bucket.tokens) * 1000) / perSecond;

    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  private sweep(now: number) {
    if (now - this.lastSweep < IDLE_MS) return;
    this.lastSweep = now;
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.at > IDLE_MS) this.buckets.delete(key);
    }
  }
}
