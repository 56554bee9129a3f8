import type { Clock } from '../domain/clock.js';

/** Most sessions a limiter tracks at once; a full bucket is forgotten first (it owes nothing). */
const MAX_TRACKED = 100_000;

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, ms on the limiter's clock. */
  at: number;
}

/**
 * Per-key token buckets: `ratePerSec` tokens a second, holding at most `burst`. A limiter with
 * rate 0 allows everything. Counts on this node only; behind a load balancer each node allows
 * the rate, so a deployment of n nodes allows at most n times it.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {}

  /** `ratePerMinute` with a burst of twice the rate, as the rate-limit settings define it. */
  static perMinute(ratePerMinute: number, clock: Clock): RateLimiter {
    return new RateLimiter(ratePerMinute / 60, ratePerMinute * 2, clock);
  }

  /** `ratePerSec` with a burst of twice the rate. */
  static perSecond(ratePerSec: number, clock: Clock): RateLimiter {
    return new RateLimiter(ratePerSec, ratePerSec * 2, clock);
  }

  /**
   * Takes one token for `key`: 0 when allowed, else the whole seconds (at least 1) until a
   * token is available — nothing is taken then.
   */
  take(key: string): number {
    if (this.ratePerSec <= 0) return 0;
    const now = this.clock.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= MAX_TRACKED) this.forgetFull(now);
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(
        this.burst,
        bucket.tokens + ((now - bucket.at) * this.ratePerSec) / 1000,
      );
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.ratePerSec));
  }

  /** Sessions tracked now. */
  get size(): number {
    return this.buckets.size;
  }

  /** Drops every bucket that has refilled (its key would start full anyway), oldest first if none. */
  private forgetFull(now: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) * this.ratePerSec) / 1000 >= this.burst)
        this.buckets.delete(key);
    }
    if (this.buckets.size >= MAX_TRACKED) {
      const oldest = this.buckets.keys().next();
      if (!oldest.done) this.buckets.delete(oldest.value);
    }
  }
}
