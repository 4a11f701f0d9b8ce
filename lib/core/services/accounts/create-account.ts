import type { Db } from "@/lib/db/db";
import { addMembership, insertAccount, setOperator, upsertUser } from "@/lib/db/queries/accounts";
import { issueApiKey } from "../api-keys";

/**
 * Creates an account with a first API key and, when an owner email is given, its owner
 * (created if new; an existing user keeps their password), made an operator with `operator`.
 */
export async function createAccount(
  deps: { db: Db },
  input: { name: string; ownerEmail?: string; ownerPasswordHash?: string | null; operator?: boolean },
) {
  return deps.db.transaction(async (tx) => {
    const account = await insertAccount(tx, { name: input.name });
    let userId: string | undefined;
    if (input.ownerEmail) {
      const user = await upsertUser(tx, { email: input.ownerEmail, passwordHash: input.ownerPasswordHash ?? null });
      await addMembership(tx, { accountId: account.id, userId: user.id, role: "owner" });
      if (input.operator) await setOperator(tx, { userId: user.id, operator: true });
      userId = user.id;
    }
    const apiKey = (await issueApiKey(tx, { accountId: account.id, name: "default" })).key;
    return { account, userId, apiKey };
  });
}
