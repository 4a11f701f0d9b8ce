import type { Db } from "@/lib/db/db";
import { addMembership, insertAccount, upsertUser } from "@/lib/db/queries/accounts";
import { createApiKey } from "./create-api-key";

/**
 * Creates an account with a first API key and, when an owner email is given, its owner
 * (created if new; an existing user keeps their password).
 */
export async function createAccount(
  deps: { db: Db },
  input: { name: string; ownerEmail?: string; ownerPasswordHash?: string | null },
) {
  return deps.db.transaction(async (tx) => {
    const account = await insertAccount(tx, { name: input.name });
    let userId: string | undefined;
    if (input.ownerEmail) {
      const user = await upsertUser(tx, { email: input.ownerEmail, passwordHash: input.ownerPasswordHash ?? null });
      await addMembership(tx, { accountId: account.id, userId: user.id, role: "owner" });
      userId = user.id;
    }
    const apiKey = await createApiKey({ db: tx }, { accountId: account.id, name: "default" });
    return { account, userId, apiKey };
  });
}
