import { sealData, unsealData } from "iron-session";

/**
 * The browser session: a sealed (encrypted, signed) HttpOnly cookie naming the session row (which
 * sign-out revokes), the user and the account they act in.
 */
export const SESSION_COOKIE = "berth_session";
export const SESSION_TTL_SECONDS = 7 * 24 * 3600;

export type SessionData = { sessionId: string; userId: string; accountId: string };

export function sealSession(data: SessionData, password: string) {
  return sealData(data, { password, ttl: SESSION_TTL_SECONDS });
}

export async function unsealSession(sealed: string, password: string): Promise<SessionData | undefined> {
  try {
    const data = await unsealData<Partial<SessionData>>(sealed, { password, ttl: SESSION_TTL_SECONDS });
    // A cookie sealed before sessions had rows names none: it no longer counts.
    if (!data.sessionId || !data.userId || !data.accountId) return undefined;
    return { sessionId: data.sessionId, userId: data.userId, accountId: data.accountId };
  } catch {
    return undefined;
  }
}

export function readCookie(header: string | null | undefined, name: string): string | undefined {
  for (const part of header?.split(";") ?? []) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined; // bad percent-encoding: no cookie Berth set
      }
    }
  }
  return undefined;
}

export const sessionCookieOptions = (secure: boolean) => ({
  httpOnly: true,
  sameSite: "lax" as const,
  secure,
  path: "/",
  maxAge: SESSION_TTL_SECONDS,
});
