import "server-only";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { connection } from "next/server";
import { cache } from "react";
import { getAppDeps } from "@/lib/app-deps";
import type { Ctx } from "@/lib/core/context";
import type { Db } from "@/lib/db/db";
import { getMembership, listMembershipsOfUser, type Role } from "@/lib/db/queries/accounts";
import { SESSION_COOKIE, type SessionData, sealSession, sessionCookieOptions, unsealSession } from "./session";
import { getSupabaseUser } from "./supabase-server";

export type CurrentUser = { userId: string; accountId: string; email: string; accountName: string; role: Role };

/**
 * The signed-in user of this request, or undefined. The proxy only checks that there is a
 * session; this is the real check, cached per request so a layout and its page share one lookup.
 * Built-in sign-in: the cookie's seal must be valid and the user still a member of the account it
 * names. Supabase Auth (then the only sign-in): the Supabase session's verified user (getClaims →
 * sub), in their first account (oldest membership), as the REST API picks it for them.
 */
export const getCurrentUser = cache(async (): Promise<CurrentUser | undefined> => {
  await connection(); // per request, never at build time (when Berth's deps do not exist)
  const { db, supabase } = getAppDeps();
  return supabase ? supabaseMember(db) : builtInUser(db);
});

async function builtInUser(db: Db): Promise<CurrentUser | undefined> {
  const sealed = (await cookies()).get(SESSION_COOKIE)?.value;
  if (!sealed) return undefined;
  const session = await unsealSession(sealed, getAppDeps().sessionPassword);
  if (!session) return undefined;
  const member = await getMembership(db, session);
  if (!member) return undefined;
  return { ...session, email: member.email, accountName: member.account_name, role: member.role };
}

async function supabaseMember(db: Db): Promise<CurrentUser | undefined> {
  const user = await getSupabaseUser();
  if (!user) return undefined;
  const [first] = await listMembershipsOfUser(db, { userId: user.userId });
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
  redirect((await getSupabaseUser()) ? "/no-account" : "/sign-in");
}

/** A service context acting as the signed-in user in their current account. */
export function userContext(user: CurrentUser): Ctx {
  return { ...getAppDeps(), accountId: user.accountId, actor: { kind: "user", userId: user.userId } };
}

/** Opens a built-in sign-in session in the HttpOnly cookie. Server actions only: cookies cannot be set while rendering. */
export async function startSession(data: SessionData) {
  const { sessionPassword, secureCookies } = getAppDeps();
  (await cookies()).set(SESSION_COOKIE, await sealSession(data, sessionPassword), sessionCookieOptions(secureCookies));
}

/** Clears the built-in session cookie (same attributes as when set, so the browser drops it). */
export async function endSession() {
  const { secureCookies } = getAppDeps();
  (await cookies()).set(SESSION_COOKIE, "", { ...sessionCookieOptions(secureCookies), maxAge: 0 });
}
