import { BerthError } from "@/lib/core/errors";
import { generateApiKey, hashApiKey } from "@/lib/crypto/api-keys";
import type { Db } from "@/lib/db/db";
import { getAccount } from "@/lib/db/queries/accounts";
import { insertApiKey } from "@/lib/db/queries/api-keys";

/** Makes a new key for the account; the key itself is returned once and never stored. */
export async function createApiKey(deps: { db: Db }, input: { accountId: string; name?: string }) {
  if (!(await getAccount(deps.db, { accountId: input.accountId })))
    throw new BerthError("not_found", "No such account.");
  const { key, prefix } = generateApiKey();
  await insertApiKey(deps.db, {
    accountId: input.accountId,
    name: input.name ?? "default",
    prefix,
    keyHash: await hashApiKey(key),
  });
  return key;
}
