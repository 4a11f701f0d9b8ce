/**
 * Where to go after signing in: a path of this site the visitor asked for, or the dashboard. Never
 * another origin (`//evil.example`, `/\evil.example`, `https://…`): an open redirect would let a
 * link to Berth's sign-in page send people elsewhere afterwards.
 */
export function nextPath(asked: string | null | undefined): string {
  if (!asked?.startsWith("/") || asked.startsWith("//") || asked.startsWith("/\\")) return "/dashboard";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(asked)) return "/dashboard";
  const url = new URL(asked, "http://berth.invalid");
  if (url.origin !== "http://berth.invalid") return "/dashboard";
  // Dot segments can leave a path that starts with two slashes (`/.//evil.example`): as a
  // Location, that is another site.
  if (/^[/\\]{2}/.test(url.pathname)) return "/dashboard";
  return `${url.pathname}${url.search}`;
}

/** /sign-in, remembering the page that was asked for. */
export function signInPathFor(asked: string | null | undefined) {
  const next = nextPath(asked);
  return next === "/dashboard" || next === "/" ? "/sign-in" : `/sign-in?${new URLSearchParams({ next })}`;
}

/** Set by the proxy on page requests: the page asked for, for a page that finds the session over. */
export const ASKED_HEADER = "x-berth-asked";
