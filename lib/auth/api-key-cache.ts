/**
 * A short-lived cache of API key hash → account, so the MCP hot path does not query the
 * database on every call. A revoked key keeps working for at most TTL_MS.
 */
const TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;

export class ApiKeyCache {
  private readonly entries = new Map<string, { accountId: string; until: number }>();

  get(keyHash: string): string | undefined {
    const e = this.entries.get(keyHash);
    if (!e) return undefined;
    if (e.until < Date.now()) {
      this.entries.delete(keyHash);
      return undefined;
    }
    return e.accountId;
  }

  set(keyHash: string, accountId: string) {
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(keyHash, { accountId, until: Date.now() + TTL_MS });
  }
}
