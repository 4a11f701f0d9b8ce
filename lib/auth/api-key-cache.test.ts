import { describe, expect, it } from "vitest";
import { ApiKeyCache } from "./api-key-cache";

const ACCT = { accountId: "acct", scope: "mcp" as const };

describe("ApiKeyCache", () => {
  it("remembers a key's account, and forgets it when the key is revoked", () => {
    const cache = new ApiKeyCache();
    cache.set("k", ACCT, "id1", cache.ticket());
    expect(cache.get("k")).toEqual(ACCT);
    cache.forgetKeyId("id1");
    expect(cache.get("k")).toBeUndefined();
  });

  it("keeps no answer read from the database before a revocation that arrived during the lookup", () => {
    const cache = new ApiKeyCache();
    const ticket = cache.ticket(); // the lookup starts: the key is not revoked yet
    cache.forgetKeyId("id1"); // the revocation is heard while the query is in flight
    cache.set("k", ACCT, "id1", ticket); // the lookup's (now stale) answer comes back
    expect(cache.get("k")).toBeUndefined();
  });

  it("caches nothing while suspended, nor a lookup begun before the suspension once resumed", () => {
    const cache = new ApiKeyCache();
    const before = cache.ticket();
    cache.suspend();
    cache.set("k", ACCT, "id1", cache.ticket());
    expect(cache.get("k")).toBeUndefined();
    cache.resume();
    cache.set("k", ACCT, "id1", before);
    expect(cache.get("k")).toBeUndefined();
    cache.set("k", ACCT, "id1", cache.ticket());
    expect(cache.get("k")).toEqual(ACCT);
  });
});
