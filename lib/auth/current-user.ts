import "server-only";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { cache } from "react";
import { getAppDeps } from "@/lib/app-deps";
import type { Ctx } from "@/lib/core/context";
import { getMembership, type Role } from "@/lib/db/queries/accounts";
import { SESSION_COOKIE, type SessionData, sealSession, sessionCookieOptions, unsealSession } from "./session";

export type CurrentUser = { userId: string; accountId: string; email: string; accountName: string; role: Role };

/**
 * The signed-in user of this request, or undefined. The proxy only checks that a cookie is
 * there; this is the real check: the seal must be valid and the user still a member of the
 * account it names. Cached per request so a layout and its page share one lookup.
 */
export const getCurrentUser = cache(async (): Promise<CurrentUser | undefined> => {
  const sealed = (await cookies()).get(SESSION_COOKIE)?.value;
  if (!sealed) return undefined;
  const { db, sessionPassword } = getAppDeps();
  const session = await unsealSession(sealed, sessionPassword);
  if (!session) return undefined;
  const member = await getMembership(db, session);
  if (!member) return undefined;
  return { ...session, email: member.email, accountName: member.account_name, role: member.role };
});

/** The signed-in user, or a redirect to /sign-in. */
export async function requireCurrentUser(): Promise<CurrentUser> {
  const user = await getCurrentUser();
  if (!user) redirect("/sign-in");
  return user;
}

/** A service context acting as the signed-in user in their current account. */
export function userContext(user: CurrentUser): Ctx {
  return { ...getAppDeps(), accountId: user.accountId, actor: { kind: "user", userId: user.userId } };
}

/** Opens a session in the HttpOnly cookie. Server actions only: cookies cannot be set while rendering. */
export async function startSession(data: SessionData) {
  const { sessionPassword, secureCookies } = getAppDeps();
  (await cookies()).set(SESSION_COOKIE, await sealSession(data, sessionPassword), sessionCookieOptions(secureCookies));
}

/** Clears the session cookie (same attributes as when set, so the browser drops it). */
export async function endSession() {
  const { secureCookies } = getAppDeps();
  (await cookies()).set(SESSION_COOKIE, "", { ...sessionCookieOptions(secureCookies), maxAge: 0 });
}
