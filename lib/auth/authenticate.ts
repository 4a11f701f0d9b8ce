import { BerthError } from "@/lib/core/errors";
import type { Principal } from "@/lib/core/http/route";
import { holderOfBearer, type KeyCache, type KeyHolder } from "@/lib/core/services/accounts/authenticate";
import type { Db } from "@/lib/db/db";
import { listMembershipsOfUser } from "@/lib/db/queries/accounts";
import { getSessionMember } from "@/lib/db/queries/sessions";
import { readCookie, SESSION_COOKIE, unsealSession } from "./session";
import { isSupabaseAuthUnavailable, looksLikeJwt, type SupabaseJwtVerifier } from "./supabase-jwt";

export type AuthOptions = {
  /** Seals the built-in sign-in's cookie; without it cookies are not looked at (the Edge Function). */
  sessionPassword?: string;
  /** Supabase Auth access tokens are accepted when set (NEXT_PUBLIC_SUPABASE_URL / SUPABASE_URL). */
  supabase?: SupabaseJwtVerifier;
  keyCache?: KeyCache;
};

export type AuthHeaders = {
  authorization?: string | null;
  cookie?: string | null;
  /** Which of a user's accounts (`Berth-Account` header or `account_id` query); default their first. */
  account?: string | null;
};

/**
 * Who is calling: an API key (its account, with an admin's rights), a Supabase Auth access token
 * (a member, by `auth.uid()`), or else the built-in session cookie. A user counts only while a
 * member of the account, with that membership's role.
 */
export async function authenticateHeaders(
  db: Db,
  opts: AuthOptions,
  headers: AuthHeaders,
): Promise<Principal | undefined> {
  const bearer = headers.authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (bearer && opts.supabase && looksLikeJwt(bearer)) {
    const user = await verified(opts.supabase, bearer);
    return user ? memberPrincipal(db, user.userId, headers.account) : undefined;
  }
  if (headers.authorization) {
    const holder = await holderOfBearer(db, headers.authorization, opts.keyCache);
    return holder && keyPrincipal(holder);
  }
  const sealed = opts.sessionPassword ? readCookie(headers.cookie, SESSION_COOKIE) : undefined;
  const session = sealed ? await unsealSession(sealed, opts.sessionPassword as string) : undefined;
  if (!session) return undefined;
  const member = await getSessionMember(db, session);
  return member
    ? { accountId: session.accountId, role: member.role, actor: { kind: "user", userId: session.userId } }
    : undefined;
}

async function verified(supabase: SupabaseJwtVerifier, token: string) {
  try {
    return await supabase.verify(token);
  } catch (err) {
    if (!isSupabaseAuthUnavailable(err)) throw err;
    // The token may well be good: "sign in again" would not help, trying again shortly may.
    throw new BerthError("unavailable", "Supabase Auth's signing keys cannot be loaded right now.", undefined, 5);
  }
}

/** The account a signed-in user acts in: the one asked for if a member of it, else their first. */
async function memberPrincipal(db: Db, userId: string, account: string | null | undefined) {
  const memberships = await listMembershipsOfUser(db, { userId });
  const m = account ? memberships.find((x) => x.account_id === account) : memberships[0];
  return m ? ({ accountId: m.account_id, role: m.role, actor: { kind: "user", userId } } as Principal) : undefined;
}

/** A Request's headers as the authenticator reads them. */
export function authHeadersOf(req: Request): AuthHeaders {
  return {
    authorization: req.headers.get("authorization"),
    cookie: req.headers.get("cookie"),
    account: req.headers.get("berth-account") ?? new URL(req.url).searchParams.get("account_id"),
  };
}

/** An API key's principal: an admin of its account, reaching what its scope allows. */
export function keyPrincipal({ accountId, scope }: KeyHolder): Principal {
  return { accountId, role: "admin", actor: { kind: "api_key", scope } };
}
