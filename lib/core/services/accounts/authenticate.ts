import type { ApiKeyScope } from "@/lib/core/context";
import { hashApiKey, looksLikeApiKey } from "@/lib/crypto/api-keys";
import type { Db } from "@/lib/db/db";
import { findApiKeyByHash } from "@/lib/db/queries/api-keys";

/**
 * Remembers key → account for a short while (keyed by the key itself, so a hit skips hashing),
 * with the key's id so that a revoked key's entry can be dropped.
 */
export type KeyCache = {
  get(key: string): KeyHolder | undefined;
  ticket(): number;
  set(key: string, holder: KeyHolder, keyId: string, ticket: number): void;
};

/** Whose a key is, and what it may reach. */
export type KeyHolder = { accountId: string; scope: ApiKeyScope };

/** The account an `Authorization: Bearer <key>` header speaks for, and the key's scope; or undefined. */
export async function holderOfBearer(db: Db, header: string | null, cache?: KeyCache): Promise<KeyHolder | undefined> {
  const key = bearerKey(header);
  if (!key) return undefined;
  const cached = cache?.get(key);
  if (cached) return cached;
  const ticket = cache?.ticket() ?? 0;
  const found = await findApiKeyByHash(db, { keyHash: await hashApiKey(key) });
  if (!found) return undefined;
  const holder = { accountId: found.accountId, scope: found.scope };
  cache?.set(key, holder, found.id, ticket);
  return holder;
}

/** The API key in an `Authorization: Bearer <key>` header, if it looks like one. */
export function bearerKey(header: string | null | undefined): string | undefined {
  const key = header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  return key && looksLikeApiKey(key) ? key : undefined;
}
