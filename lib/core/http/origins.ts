import { BerthError } from "@/lib/core/errors";

/**
 * Which web origins may call Berth from a browser. MCP's transport spec requires servers to check
 * `Origin` (a page on any site can otherwise reach a server on this machine by rebinding its DNS
 * name to 127.0.0.1), and the same check keeps other sites from driving the REST API with an
 * admin's cookie. Requests without `Origin` come from agents, SDKs and curl: nothing changes for them.
 */
export type OriginVerdict = "none" | "own" | "allowed" | "refused";

/**
 * Berth's own origins (its public URL's: the dashboard's pages) and those allowed besides
 * (`BERTH_ALLOWED_ORIGINS`: web clients an operator trusts with API keys, never with the
 * dashboard's cookie, which only Berth's own pages may use).
 */
export type Origins = { own: ReadonlySet<string>; allowed: ReadonlySet<string> };

const LOOPBACK = ["localhost", "127.0.0.1", "[::1]"];

/**
 * The origin of the public URL, where Berth's own dashboard is served, and those of
 * `BERTH_ALLOWED_ORIGINS`. A Berth on this machine is opened as localhost, 127.0.0.1 or [::1]
 * alike (all name it, and no other site can be served from them), so a loopback public URL's
 * origin is all three on its port.
 */
export function originsOf(publicUrl: string, configured: string[] = []): Origins {
  const url = new URL(publicUrl);
  const own = LOOPBACK.includes(url.hostname)
    ? LOOPBACK.map((host) => `${url.protocol}//${host}${url.port ? `:${url.port}` : ""}`)
    : [url.origin];
  return { own: new Set(own), allowed: new Set([...own, ...configured]) };
}

/** An entry of BERTH_ALLOWED_ORIGINS as browsers send it (`https://app.example.com`), or undefined. */
export function asOrigin(entry: string): string | undefined {
  try {
    const url = new URL(entry);
    const bare = url.pathname === "/" && !url.search && !url.hash && !url.username && !url.password;
    return bare && /^https?:$/.test(url.protocol) && entry.replace(/\/$/, "") === url.origin ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

export function judgeOrigin(origins: Origins, origin: string | null | undefined): OriginVerdict {
  if (origin === undefined || origin === null) return "none";
  if (origins.own.has(origin)) return "own";
  return origins.allowed.has(origin) ? "allowed" : "refused";
}

export const originRefused = (origin: string) =>
  new BerthError(
    "origin_not_allowed",
    `Requests from the web origin ${JSON.stringify(origin).slice(0, 200)} are not allowed; an operator can add it to BERTH_ALLOWED_ORIGINS.`,
  );

/** What a browser client may send: auth, JSON, and MCP's session, version and resume headers. */
const REQUEST_HEADERS =
  "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, Berth-Account, Idempotency-Key";
/** What it may read: the session to send back, and when to retry or how to authenticate. */
const EXPOSED_HEADERS = "Mcp-Session-Id, MCP-Protocol-Version, Retry-After, WWW-Authenticate, Allow";

/** On every answer to an allowed origin. No credentials: cookies stay same-origin (the dashboard). */
export function corsHeaders(origin: string): Record<string, string> {
  return { "access-control-allow-origin": origin, "access-control-expose-headers": EXPOSED_HEADERS, vary: "Origin" };
}

/** The answer to a preflight `OPTIONS` (no auth: browsers send none with it). */
export function preflightHeaders(origin: string | undefined, methods: string): Record<string, string> {
  if (!origin) return { allow: methods };
  return {
    ...corsHeaders(origin),
    allow: methods,
    "access-control-allow-methods": methods,
    "access-control-allow-headers": REQUEST_HEADERS,
    "access-control-max-age": "600",
  };
}
