import { hashApiKey, looksLikeApiKey } from "@/lib/crypto/api-keys";
import type { Db } from "@/lib/db/db";
import { findAccountIdByKeyHash } from "@/lib/db/queries/api-keys";

/** Remembers key → account for a short while (keyed by the key itself, so a hit skips hashing). */
export type KeyCache = { get(key: string): string | undefined; set(key: string, accountId: string): void };

/** The account an `Authorization: Bearer <key>` header speaks for, or undefined. */
export async function accountOfBearer(db: Db, header: string | null, cache?: KeyCache): Promise<string | undefined> {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  if (!match?.[1] || !looksLikeApiKey(match[1])) return undefined;
  const key = match[1];
  const cached = cache?.get(key);
  if (cached) return cached;
  const accountId = await findAccountIdByKeyHash(db, { keyHash: await hashApiKey(key) });
  if (accountId) cache?.set(key, accountId);
  return accountId;
}
