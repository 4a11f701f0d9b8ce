import { describe, expect, it } from "vitest";
import { withRetries } from "./retry";

const policy = { attempts: 4, baseMs: 100, capMs: 250 };

/** A call failing `failures` times with `err`, then answering "ok"; counts its tries. */
function flaky(failures: number, err: unknown = new Error("busy")) {
  const state = { tries: 0 };
  const fn = async () => {
    state.tries++;
    if (state.tries <= failures) throw err;
    return "ok";
  };
  return { fn, state };
}

describe("withRetries", () => {
  it("tries again after a retryable failure, waiting a random part of a doubling, capped backoff", async () => {
    const waits: number[] = [];
    const { fn, state } = flaky(3);
    const out = await withRetries(
      fn,
      () => true,
      policy,
      async (ms) => void waits.push(ms),
      () => 0.5,
    );
    expect(out).toBe("ok");
    expect(state.tries).toBe(4);
    expect(waits).toEqual([50, 100, 125]); // half of 100, 200, then the 250 cap
  });

  it("gives up after the policy's attempts with the last error", async () => {
    const err = new Error("still busy");
    const { fn, state } = flaky(10, err);
    await expect(
      withRetries(
        fn,
        () => true,
        policy,
        async () => {},
      ),
    ).rejects.toBe(err);
    expect(state.tries).toBe(4);
  });

  it("never retries an error that is not retryable", async () => {
    const err = new Error("bad request");
    const { fn, state } = flaky(10, err);
    await expect(
      withRetries(
        fn,
        (e) => e !== err,
        policy,
        async () => {},
      ),
    ).rejects.toBe(err);
    expect(state.tries).toBe(1);
  });

  it("waits between 0 and the backoff (full jitter)", async () => {
    const waits: number[] = [];
    const { fn } = flaky(3);
    await withRetries(
      fn,
      () => true,
      policy,
      async (ms) => void waits.push(ms),
    );
    for (const [i, ms] of waits.entries()) {
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThanOrEqual(Math.min(250, 100 * 2 ** i));
    }
  });
});
