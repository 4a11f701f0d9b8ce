import type { KeyHolder } from "@/lib/core/services/accounts/authenticate";

/**
 * A short-lived cache of API key → account, so the MCP hot path neither hashes the key nor
 * queries the database on every call. It lives only in this process's memory, where the keys
 * pass through anyway. A key revoked through this process (REST, dashboard, the CLI over the
 * socket) is dropped at once (`forgetKeyId`, via Deps.onApiKeyRevoked); on PostgreSQL, one revoked
 * anywhere else (another instance, the CLI) as soon as the database's notification arrives
 * (lib/db/notifications.ts), milliseconds later. While that news cannot arrive (not listening
 * yet, or the listener lost its connection) the cache is suspended: every key is checked in the
 * database.
 */
const TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;

export class ApiKeyCache {
  private readonly entries = new Map<string, { holder: KeyHolder; keyId?: string; until: number }>();
  private suspended = false;
  /** Counts forgets: a lookup that began before one may have read a key since revoked. */
  private forgets = 0;

  get(key: string): KeyHolder | undefined {
    if (this.suspended) return undefined;
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.until < Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.holder;
  }

  /** Taken before looking a key up in the database; `set` with it keeps the answer only if nothing was forgotten meanwhile. */
  ticket(): number {
    return this.forgets;
  }

  set(key: string, holder: KeyHolder, keyId: string, ticket: number) {
    if (this.suspended || ticket !== this.forgets) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { holder, keyId, until: Date.now() + TTL_MS });
  }

  /** Drops the cached entry of the key with this id (revoked): its next use is checked again. */
  forgetKeyId(keyId: string) {
    this.forgets++;
    for (const [key, e] of this.entries) if (e.keyId === keyId) this.entries.delete(key);
  }

  /** Revocations may be missed from now on: forget everything, cache nothing until `resume`. */
  suspend() {
    this.forgets++;
    this.suspended = true;
    this.entries.clear();
  }

  resume() {
    this.suspended = false;
  }
}
