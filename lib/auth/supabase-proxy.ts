import { createServerClient } from "@supabase/ssr";
import { type NextRequest, NextResponse } from "next/server";
import type { SupabaseSettings } from "@/lib/app-deps";
import { type SupabaseSessionUser, verifiedUser } from "./supabase-claims";
import { nodeRealtimeOption } from "./supabase-node-realtime";

/**
 * Supabase's session refresh for proxy.ts, as Supabase documents it for Next.js: a client over the
 * request's cookies whose writes go to the request (so the page rendered next sees the refreshed
 * tokens) and to the response (so the browser keeps them), with Supabase's no-store headers.
 * getClaims() comes first and nothing runs in between: it is what refreshes an expiring session,
 * and it verifies the access token. Returns the response to send on and the session's user.
 */
export async function updateSupabaseSession(
  request: NextRequest,
  settings: SupabaseSettings,
  { secureCookies }: { secureCookies: boolean },
): Promise<{ response: NextResponse; user: SupabaseSessionUser | undefined }> {
  let response = NextResponse.next({ request });
  const supabase = createServerClient(settings.url, settings.publishableKey, {
    ...nodeRealtimeOption,
    cookieOptions: { secure: secureCookies },
    cookies: {
      getAll: () => request.cookies.getAll(),
      setAll(toSet, headers) {
        for (const { name, value } of toSet) request.cookies.set(name, value);
        response = NextResponse.next({ request });
        for (const { name, value, options } of toSet) response.cookies.set(name, value, options);
        for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
      },
    },
  });
  // First: the refresh in getClaims replaces `response` (setAll) with one carrying the new cookies.
  const user = await verifiedUser(supabase.auth);
  return { response, user };
}

/** A redirect that carries the cookies (and headers) the refresh wrote, so the browser stays in step. */
export function redirectKeepingCookies(from: NextResponse, url: URL) {
  const redirect = NextResponse.redirect(url);
  for (const cookie of from.cookies.getAll()) redirect.cookies.set(cookie);
  for (const name of ["cache-control", "expires", "pragma"]) {
    const value = from.headers.get(name);
    if (value) redirect.headers.set(name, value);
  }
  return redirect;
}
