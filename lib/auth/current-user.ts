import "server-only";
import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { connection } from "next/server";
import { cache } from "react";
import { getAppDeps } from "@/lib/app-deps";
import type { Ctx } from "@/lib/core/context";
import type { Db } from "@/lib/db/db";
import { listMembershipsOfUser, type Role } from "@/lib/db/queries/accounts";
import { getSessionMember, insertSession, isSessionOpen, revokeSession } from "@/lib/db/queries/sessions";
import { ASKED_HEADER, signInPathFor } from "./next-path";
import {
  SESSION_COOKIE,
  SESSION_TTL_SECONDS,
  type SessionData,
  sealSession,
  sessionCookieOptions,
  unsealSession,
} from "./session";
import { getSupabaseUser } from "./supabase-server";

export type CurrentUser = { userId: string; accountId: string; email: string; accountName: string; role: Role };

/**
 * The signed-in user of this request, or undefined. The proxy only checks that there is a
 * session; this is the real check, cached per request so a layout and its page share one lookup.
 * Built-in sign-in: the cookie's seal must be valid, the session it names not signed out, and the
 * user still a member of the account it names. Supabase Auth (then the only sign-in): the Supabase
 * session's verified user (getClaims → sub), in the account they chose, else their first (oldest
 * membership), as the REST API picks it for them.
 */
export const getCurrentUser = cache(async (): Promise<CurrentUser | undefined> => {
  await connection(); // per request, never at build time (when Berth's deps do not exist)
  const { db, supabase } = getAppDeps();
  return supabase ? supabaseMember(db) : builtInUser(db);
});

async function builtInUser(db: Db): Promise<CurrentUser | undefined> {
  const session = await readSession();
  if (!session) return undefined;
  const member = await getSessionMember(db, session);
  if (!member) return undefined;
  return {
    userId: session.userId,
    accountId: session.accountId,
    email: member.email,
    accountName: member.account_name,
    role: member.role,
  };
}

/**
 * Who is signed in, in no particular account (an invitation page accepts for them): the open
 * built-in session's user, or the verified Supabase user.
 */
export async function getSignedInUserId(): Promise<string | undefined> {
  const { db, supabase } = getAppDeps();
  if (supabase) return (await getSupabaseUser())?.userId;
  const session = await readSession();
  return session && (await isSessionOpen(db, session)) ? session.userId : undefined;
}

/** With Supabase Auth: which of the user's accounts they chose to act in (default their first). */
const ACCOUNT_COOKIE = "berth_account";

async function supabaseMember(db: Db): Promise<CurrentUser | undefined> {
  const user = await getSupabaseUser();
  if (!user) return undefined;
  const memberships = await listMembershipsOfUser(db, { userId: user.userId });
  const chosen = (await cookies()).get(ACCOUNT_COOKIE)?.value;
  const first = memberships.find((m) => m.account_id === chosen) ?? memberships[0];
  if (!first) return undefined;
  return {
    userId: user.userId,
    accountId: first.account_id,
    // A user added by id has no email in Berth; their token carries it.
    email: user.email ?? "",
    accountName: first.account_name,
    role: first.role,
  };
}

/**
 * The signed-in user, or a redirect: to /sign-in, or, for a Supabase user who is a member of no
 * account, to /no-account, which says so (the sign-in form again would not help them).
 */
export async function requireCurrentUser(): Promise<CurrentUser> {
  const user = await getCurrentUser();
  if (user) return user;
  if (await getSupabaseUser()) redirect("/no-account");
  redirect(signInPathFor((await headers()).get(ASKED_HEADER)));
}

/** A service context acting as the signed-in user in their current account, with their role in it. */
export function userContext(user: CurrentUser): Ctx {
  return { ...getAppDeps(), accountId: user.accountId, role: user.role, actor: { kind: "user", userId: user.userId } };
}

/**
 * Opens a built-in sign-in session: a row sign-out can revoke, named by the sealed HttpOnly cookie.
 * Server actions only: cookies cannot be set while rendering.
 */
export async function startSession({ userId, accountId }: { userId: string; accountId: string }) {
  const { db } = getAppDeps();
  const sessionId = await insertSession(db, { userId, ttlSeconds: SESSION_TTL_SECONDS });
  await writeSessionCookie({ sessionId, userId, accountId });
}

/**
 * The same session, acting in another of the user's accounts (the caller checked the membership):
 * built-in, the sealed cookie names it; with Supabase Auth, a preference cookie does (it only
 * picks among the verified user's memberships, so it needs no seal).
 */
export async function switchAccount(accountId: string) {
  const { supabase, secureCookies } = getAppDeps();
  if (supabase) {
    (await cookies()).set(ACCOUNT_COOKIE, accountId, sessionCookieOptions(secureCookies));
    return;
  }
  const session = await readSession();
  if (session) await writeSessionCookie({ ...session, accountId });
}

/** Signs the session out: its row is revoked (every copy of the cookie stops working) and the cookie cleared. */
export async function endSession() {
  const session = await readSession();
  if (session) await revokeSession(getAppDeps().db, session);
  const { secureCookies } = getAppDeps();
  (await cookies()).set(SESSION_COOKIE, "", { ...sessionCookieOptions(secureCookies), maxAge: 0 });
}

async function readSession(): Promise<SessionData | undefined> {
  const sealed = (await cookies()).get(SESSION_COOKIE)?.value;
  return sealed ? unsealSession(sealed, getAppDeps().sessionPassword) : undefined;
}

async function writeSessionCookie(data: SessionData) {
  const { sessionPassword, secureCookies } = getAppDeps();
  (await cookies()).set(SESSION_COOKIE, await sealSession(data, sessionPassword), sessionCookieOptions(secureCookies));
}
