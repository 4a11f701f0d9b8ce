import { hashApiKey, looksLikeApiKey } from "@/lib/crypto/api-keys";
import type { Db } from "@/lib/db/db";
import { findApiKeyByHash } from "@/lib/db/queries/api-keys";

/**
 * Remembers key → account for a short while (keyed by the key itself, so a hit skips hashing),
 * with the key's id so that a revoked key's entry can be dropped.
 */
export type KeyCache = {
  get(key: string): string | undefined;
  ticket(): number;
  set(key: string, accountId: string, keyId: string, ticket: number): void;
};

/** The account an `Authorization: Bearer <key>` header speaks for, or undefined. */
export async function accountOfBearer(db: Db, header: string | null, cache?: KeyCache): Promise<string | undefined> {
  const key = bearerKey(header);
  if (!key) return undefined;
  const cached = cache?.get(key);
  if (cached) return cached;
  const ticket = cache?.ticket() ?? 0;
  const found = await findApiKeyByHash(db, { keyHash: await hashApiKey(key) });
  if (found) cache?.set(key, found.accountId, found.id, ticket);
  return found?.accountId;
}

/** The API key in an `Authorization: Bearer <key>` header, if it looks like one. */
export function bearerKey(header: string | null | undefined): string | undefined {
  const key = header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  return key && looksLikeApiKey(key) ? key : undefined;
}
