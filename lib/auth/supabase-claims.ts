import type { JwtPayload } from "@supabase/supabase-js";

/** Who a verified Supabase session speaks for: `userId` is `users.id` in Berth (`auth.uid()`). */
export type SupabaseSessionUser = { userId: string; email?: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The user of claims `getClaims()` verified, held to what the REST API asks of a token
 * (lib/auth/supabase-jwt.ts): a signed-in, non-anonymous user with a uuid `sub`. getClaims checks
 * the signature and expiry only.
 */
export function userOfClaims(claims: JwtPayload | null | undefined): SupabaseSessionUser | undefined {
  if (claims?.role !== "authenticated" || claims.is_anonymous === true) return undefined;
  if (typeof claims.sub !== "string" || !UUID.test(claims.sub)) return undefined;
  const email = typeof claims.email === "string" && claims.email !== "" ? claims.email : undefined;
  return { userId: claims.sub.toLowerCase(), email };
}
