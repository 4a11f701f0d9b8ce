import { BerthError } from "@/lib/core/errors";
import type { Db } from "@/lib/db/db";
import { countUsers } from "@/lib/db/queries/accounts";
import { createAccount } from "./create-account";

/** Whether Berth has no user yet: the built-in sign-in then offers first-run setup, and only then. */
export async function isFirstRun(deps: { db: Db }) {
  return (await countUsers(deps.db)) === 0;
}

/**
 * First-run setup: the first account and its owner, an operator (whoever reached it installed this
 * Berth). Once only, however many race for it: the users table is locked while it checks that
 * there is none and adds the first, so the others find one and are refused.
 */
export async function createFirstAccount(
  deps: { db: Db },
  input: { name: string; ownerEmail: string; ownerPasswordHash: string },
) {
  return deps.db.transaction(async (tx) => {
    await tx.exec("lock table users in share row exclusive mode");
    if ((await countUsers(tx)) > 0) throw new BerthError("conflict", "Berth is set up already; sign in instead.");
    return createAccount({ db: tx }, { ...input, operator: true });
  });
}
