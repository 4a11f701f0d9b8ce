import { isBerthError } from "./errors";

/**
 * Bounded retries with exponential backoff and full jitter, for what may fail for a moment: a
 * provider's control plane (E2B answering 429 or 5xx), the database dropping a session. Full
 * jitter (a random wait up to the backoff) keeps many Berth instances, retrying after the same
 * outage, from coming back in step. (p-retry's jitter multiplies the backoff by 1-2 instead, and
 * this is all Berth needs of it.)
 */
export type RetryPolicy = {
  /** Tries in all, the first included. */
  attempts: number;
  /** The first backoff; it doubles per try up to `capMs`. */
  baseMs: number;
  capMs: number;
};

/**
 * Four tries; at most 0.2 + 0.4 + 0.8 = 1.4 s of waiting before the error is the caller's. A 429
 * carrying `Retry-After` is waited out by the `e2b` SDK itself before it counts as a try here.
 */
export const PROVIDER_RETRIES: RetryPolicy = { attempts: 4, baseMs: 200, capMs: 2000 };

export async function withRetries<T>(
  fn: () => Promise<T>,
  retryable: (err: unknown) => boolean,
  policy: RetryPolicy = PROVIDER_RETRIES,
  wait: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  random: () => number = Math.random,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= policy.attempts || !retryable(err)) throw err;
      await wait(random() * Math.min(policy.capMs, policy.baseMs * 2 ** (attempt - 1)));
    }
  }
}

/** ~16 s of trying, for what must be recorded once a sandbox has changed. */
const DATABASE_RETRIES: RetryPolicy = { attempts: 8, baseMs: 250, capMs: 4000 };

/**
 * A read or write tried again while the database cannot be reached (its sessions dropped for a
 * moment): for what must follow a sandbox that was already started or stopped, so that the row
 * does not go on saying otherwise. Only for writes that are safe twice (guarded by the status
 * they expect, or re-read after).
 */
export function persistently<T>(query: () => Promise<T>): Promise<T> {
  return withRetries(query, (err) => isBerthError(err) && err.code === "unavailable", DATABASE_RETRIES);
}
