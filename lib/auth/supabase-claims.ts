import type { JwtPayload } from "@supabase/supabase-js";

/** Who a verified Supabase session speaks for: `userId` is `users.id` in Berth (`auth.uid()`). */
export type SupabaseSessionUser = { userId: string; email?: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The user of claims `getClaims()` verified, held to what the REST API asks of a token
 * (lib/auth/supabase-jwt.ts): a signed-in, non-anonymous user with a uuid `sub`. getClaims checks
 * the signature and expiry only.
 */
function userOfClaims(claims: JwtPayload | null | undefined): SupabaseSessionUser | undefined {
  if (claims?.role !== "authenticated" || claims.is_anonymous === true) return undefined;
  if (typeof claims.sub !== "string" || !UUID.test(claims.sub)) return undefined;
  const email = typeof claims.email === "string" && claims.email !== "" ? claims.email : undefined;
  return { userId: claims.sub.toLowerCase(), email };
}

/**
 * The user of the session's access token, verified with getClaims(). A token it cannot verify,
 * however malformed (an algorithm the key cannot do, say, throws rather than answering an error),
 * is no session: the visitor is signed out, never served a 500.
 */
export async function verifiedUser(auth: {
  getClaims(): Promise<{ data: { claims: JwtPayload } | null }>;
}): Promise<SupabaseSessionUser | undefined> {
  try {
    const { data } = await auth.getClaims();
    return userOfClaims(data?.claims);
  } catch {
    return undefined;
  }
}
