import { type NextRequest, NextResponse } from "next/server";
import { getAppDeps } from "@/lib/app-deps";
import { ASKED_HEADER, signInPathFor } from "@/lib/auth/next-path";
import { SESSION_COOKIE } from "@/lib/auth/session";
import { redirectKeepingCookies, updateSupabaseSession } from "@/lib/auth/supabase-proxy";

/** Pages anyone may open: the proxy lets them through (in Supabase mode after refreshing the session). */
const OPEN_PAGES = /^\/(sign-in|setup|invite)(\/|$)/;

/**
 * Sends visitors without a session to /sign-in. Built-in sign-in: cookie presence only, the seal
 * and the membership are checked by the page itself (lib/auth/current-user.ts), so this stays
 * cheap. Supabase Auth: refreshes the session cookies as Supabase documents, and only a verified
 * session passes (getClaims); the membership is again the page's to check. /api never comes here:
 * server.ts answers it before Next, with 401 JSON.
 */
export async function proxy(request: NextRequest) {
  // A path that is not valid percent-encoding (`/install/%ff`) names no page; Next's own decoding
  // of its segments would answer 500.
  if (!decodes(request.nextUrl.pathname))
    return new NextResponse("Not found: this address is not valid.", { status: 404 });
  const open = OPEN_PAGES.test(request.nextUrl.pathname);
  const asked = `${request.nextUrl.pathname}${request.nextUrl.search}`;
  const signIn = new URL(signInPathFor(asked), request.url);
  const { supabase, secureCookies } = getAppDeps();
  if (!supabase) {
    if (open) return NextResponse.next();
    if (!request.cookies.has(SESSION_COOKIE)) return NextResponse.redirect(signIn);
    // The page checks the session itself; should it have ended, it sends the visitor back here.
    const headers = new Headers(request.headers);
    headers.set(ASKED_HEADER, asked);
    return NextResponse.next({ request: { headers } });
  }
  const { response, user } = await updateSupabaseSession(request, supabase, { secureCookies });
  if (user || open) return response;
  return redirectKeepingCookies(response, signIn);
}

function decodes(pathname: string) {
  try {
    decodeURIComponent(pathname);
    return true;
  } catch {
    return false;
  }
}

export const config = {
  matcher: [
    // Everything but the API, Next's assets and files with an extension. The sign-in pages are
    // included so that their session reads, too, come after a refresh.
    "/((?!api(?:/|$)|_next/|favicon\\.ico$|.*\\.[a-zA-Z0-9]+$).*)",
  ],
};
