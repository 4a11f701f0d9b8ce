/**
 * A short-lived cache of API key → account, so the MCP hot path neither hashes the key nor
 * queries the database on every call. It lives only in this process's memory, where the keys
 * pass through anyway. A key revoked through this process (REST, dashboard, the CLI over the
 * socket) is dropped at once (`forgetKeyId`, via Deps.onApiKeyRevoked); on PostgreSQL, one revoked
 * anywhere else (another instance, the CLI) too, told by the database (lib/db/key-revocations.ts).
 * While that news cannot arrive (not listening yet, or the listener lost its connection) the
 * cache is suspended: every key is checked in the database.
 */
const TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;

export class ApiKeyCache {
  private readonly entries = new Map<string, { accountId: string; keyId?: string; until: number }>();
  private suspended = false;

  get(key: string): string | undefined {
    if (this.suspended) return undefined;
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.until < Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.accountId;
  }

  set(key: string, accountId: string, keyId?: string) {
    if (this.suspended) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { accountId, keyId, until: Date.now() + TTL_MS });
  }

  /** Drops the cached entry of the key with this id (revoked): its next use is checked again. */
  forgetKeyId(keyId: string) {
    for (const [key, e] of this.entries) if (e.keyId === keyId) this.entries.delete(key);
  }

  /** Revocations may be missed from now on: forget everything, cache nothing until `resume`. */
  suspend() {
    this.suspended = true;
    this.entries.clear();
  }

  resume() {
    this.suspended = false;
  }
}
