import { describe, expect, it } from "vitest";
import { TokenBuckets } from "./token-buckets";

describe("TokenBuckets", () => {
  it("spends a burst at once, then refills at the rate, per key", async () => {
    // 10/s: a token takes 100 ms to come back, however busy the machine is between the takes.
    const b = new TokenBuckets(10, 5);
    for (let i = 0; i < 5; i++) expect(b.take("a")).toBe(0);
    expect(b.take("a")).toBeGreaterThan(0); // empty: says when to retry
    expect(b.take("b")).toBe(0); // another key is not held back
    await new Promise((r) => setTimeout(r, 600)); // 10/s: full again
    expect(b.take("a", 5)).toBe(0);
  });

  it("weighs costs (bytes) and never spends on a refusal", () => {
    const b = new TokenBuckets(1, 100);
    expect(b.take("a", 60)).toBe(0);
    expect(b.take("a", 60)).toBe(20); // 40 left: 20 s until 60
    expect(b.take("a", 40)).toBe(0); // the refusal spent nothing
  });
});
