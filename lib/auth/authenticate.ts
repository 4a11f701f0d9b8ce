import type { Principal } from "@/lib/core/http/route";
import { accountOfBearer, type KeyCache } from "@/lib/core/services/accounts/authenticate";
import type { Db } from "@/lib/db/db";
import { getMembership } from "@/lib/db/queries/accounts";
import { readCookie, SESSION_COOKIE, unsealSession } from "./session";

/**
 * Who is calling, from an API key or else the session cookie. A session counts only while
 * its user is still a member of the account it names.
 */
export async function authenticateHeaders(
  db: Db,
  sessionPassword: string,
  headers: { authorization?: string | null; cookie?: string | null },
  keyCache?: KeyCache,
): Promise<Principal | undefined> {
  if (headers.authorization) {
    const accountId = await accountOfBearer(db, headers.authorization, keyCache);
    return accountId ? { accountId, actor: { kind: "api_key" } } : undefined;
  }
  const sealed = readCookie(headers.cookie, SESSION_COOKIE);
  const session = sealed ? await unsealSession(sealed, sessionPassword) : undefined;
  if (!session) return undefined;
  const member = await getMembership(db, session);
  return member ? { accountId: session.accountId, actor: { kind: "user", userId: session.userId } } : undefined;
}
