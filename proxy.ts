import { type NextRequest, NextResponse } from "next/server";
import { getAppDeps } from "@/lib/app-deps";
import { SESSION_COOKIE } from "@/lib/auth/session";
import { redirectKeepingCookies, updateSupabaseSession } from "@/lib/auth/supabase-proxy";

/** Pages anyone may open: the proxy lets them through (in Supabase mode after refreshing the session). */
const OPEN_PAGES = /^\/(sign-in|setup)(\/|$)/;

/**
 * Sends visitors without a session to /sign-in. Built-in sign-in: cookie presence only, the seal
 * and the membership are checked by the page itself (lib/auth/current-user.ts), so this stays
 * cheap. Supabase Auth: refreshes the session cookies as Supabase documents, and only a verified
 * session passes (getClaims); the membership is again the page's to check. /api never comes here:
 * server.ts answers it before Next, with 401 JSON.
 */
export async function proxy(request: NextRequest) {
  const open = OPEN_PAGES.test(request.nextUrl.pathname);
  const { supabase, secureCookies } = getAppDeps();
  if (!supabase) {
    if (open || request.cookies.has(SESSION_COOKIE)) return NextResponse.next();
    return NextResponse.redirect(new URL("/sign-in", request.url));
  }
  const { response, user } = await updateSupabaseSession(request, supabase, { secureCookies });
  if (user || open) return response;
  return redirectKeepingCookies(response, new URL("/sign-in", request.url));
}

export const config = {
  matcher: [
    // Everything but the API, Next's assets and files with an extension. The sign-in pages are
    // included so that their session reads, too, come after a refresh.
    "/((?!api(?:/|$)|_next/|favicon\\.ico$|.*\\.[a-zA-Z0-9]+$).*)",
  ],
};
