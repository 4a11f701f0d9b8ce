import { hashApiKey, looksLikeApiKey } from "@/lib/crypto/api-keys";
import type { Db } from "@/lib/db/db";
import { findAccountIdByKeyHash } from "@/lib/db/queries/api-keys";

/** The account an `Authorization: Bearer <key>` header speaks for, or undefined. */
export async function accountOfBearer(db: Db, header: string | null): Promise<string | undefined> {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  if (!match?.[1] || !looksLikeApiKey(match[1])) return undefined;
  return findAccountIdByKeyHash(db, { keyHash: await hashApiKey(match[1]) });
}
