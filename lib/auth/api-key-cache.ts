/**
 * A short-lived cache of API key → account, so the MCP hot path neither hashes the key nor
 * queries the database on every call. A revoked key keeps working for at most TTL_MS. It lives
 * only in this process's memory, where the keys pass through anyway.
 */
const TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;

export class ApiKeyCache {
  private readonly entries = new Map<string, { accountId: string; until: number }>();

  get(key: string): string | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.until < Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.accountId;
  }

  set(key: string, accountId: string) {
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { accountId, until: Date.now() + TTL_MS });
  }
}
