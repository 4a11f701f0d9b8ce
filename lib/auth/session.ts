import { sealData, unsealData } from "iron-session";

/** The browser session: a sealed (encrypted, signed) HttpOnly cookie naming the user and account. */
export const SESSION_COOKIE = "berth_session";
export const SESSION_TTL_SECONDS = 7 * 24 * 3600;

export type SessionData = { userId: string; accountId: string };

export function sealSession(data: SessionData, password: string) {
  return sealData(data, { password, ttl: SESSION_TTL_SECONDS });
}

export async function unsealSession(sealed: string, password: string): Promise<SessionData | undefined> {
  try {
    const data = await unsealData<Partial<SessionData>>(sealed, { password, ttl: SESSION_TTL_SECONDS });
    return data.userId && data.accountId ? { userId: data.userId, accountId: data.accountId } : undefined;
  } catch {
    return undefined;
  }
}

export function readCookie(header: string | null | undefined, name: string): string | undefined {
  for (const part of header?.split(";") ?? []) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
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
