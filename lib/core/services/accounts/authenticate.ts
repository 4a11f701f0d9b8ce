import { hashApiKey, looksLikeApiKey } from "@/lib/crypto/api-keys";
import type { Db } from "@/lib/db/db";
import { findAccountIdByKeyHash } from "@/lib/db/queries/api-keys";

export type KeyCache = { get(keyHash: string): string | undefined; set(keyHash: string, accountId: string): void };

/** The account an `Authorization: Bearer <key>` header speaks for, or undefined. */
export async function accountOfBearer(db: Db, header: string | null, cache?: KeyCache): Promise<string | undefined> {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  if (!match?.[1] || !looksLikeApiKey(match[1])) return undefined;
  const keyHash = await hashApiKey(match[1]);
  const cached = cache?.get(keyHash);
  if (cached) return cached;
  const accountId = await findAccountIdByKeyHash(db, { keyHash });
  if (accountId) cache?.set(keyHash, accountId);
  return accountId;
}
