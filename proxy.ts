import { type NextRequest, NextResponse } from "next/server";
import { SESSION_COOKIE } from "@/lib/auth/session";

/**
 * Sends cookie-less visitors of a page to /sign-in. Cookie presence only: the seal and the
 * membership are checked by the page itself (lib/auth/current-user.ts), so this stays cheap.
 * /api never comes here: route handlers answer 401 JSON on their own.
 */
export function proxy(request: NextRequest) {
  if (request.cookies.has(SESSION_COOKIE)) return NextResponse.next();
  return NextResponse.redirect(new URL("/sign-in", request.url));
}

export const config = {
  matcher: [
    // Everything but the API, the sign-in pages, Next's assets and files with an extension.
    "/((?!api(?:/|$)|sign-in(?:/|$)|setup(?:/|$)|_next/|favicon\\.ico$|.*\\.[a-zA-Z0-9]+$).*)",
  ],
};
