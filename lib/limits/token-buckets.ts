/**
 * A token bucket per key (an API key, an account): `burst` may be spent at once, then `perSecond`.
 * Used where one tenant's traffic would otherwise take the event loop every tenant shares. Buckets
 * full again are forgotten, so keys that come and go cost nothing for long.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private lastSweep = performance.now();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {}

  /** Spends `cost` of `key`'s tokens: 0 when it could, else the seconds until it could (nothing spent). */
  take(key: string, cost = 1): number {
    const now = performance.now();
    if (now - this.lastSweep > 60_000) this.sweep(now);
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) * this.perSecond) / 1000);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return 0;
    }
    return Math.max(1, Math.ceil((Math.min(cost, this.burst) - b.tokens) / this.perSecond));
  }

  private sweep(now: number) {
    this.lastSweep = now;
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) * this.perSecond) / 1000 >= this.burst) this.buckets.delete(key);
    }
  }
}
