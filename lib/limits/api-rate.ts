import type { IncomingMessage, ServerResponse } from "node:http";
import { readCookie, SESSION_COOKIE } from "@/lib/auth/session";
import { errorBody } from "@/lib/core/errors";
import { TokenBuckets } from "./token-buckets";

/**
 * Requests per second each caller may make to the REST API (`BERTH_API_REQUESTS_PER_SECOND`,
 * twice that at once), answered before Next.js sees the request: one tenant's flood of requests
 * would otherwise take the one event loop every tenant's requests go through. A caller is its
 * credential (API key or session cookie), else its address. The MCP endpoint has its own limits.
 */
export function apiRateLimit(perSecond: number) {
  const buckets = new TokenBuckets(perSecond, perSecond * 2);
  /** Whether the request was refused (and answered 429). */
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.url === "/api/health") return false; // probes and load balancers
    const caller = tokenOf(req) ?? sessionOf(req) ?? `address ${req.socket.remoteAddress ?? ""}`;
    const wait = buckets.take(caller);
    if (!wait) return false;
    const body = errorBody(
      "too_many_requests",
      "Too many requests from this caller; retry after the Retry-After seconds.",
    );
    res.writeHead(429, { "content-type": "application/json", "retry-after": String(wait) }).end(JSON.stringify(body));
    return true;
  };
}

/**
 * The bearer token as authentication reads it (any case of "Bearer", any spaces), so spelling the
 * header another way is not another caller. A header that is no bearer token at all counts as its
 * address: it authenticates nobody, and varying it must not buy fresh buckets.
 */
function tokenOf(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
  return token ? `token ${token}` : `address ${req.socket.remoteAddress ?? ""}`;
}

function sessionOf(req: IncomingMessage): string | undefined {
  try {
    return readCookie(req.headers.cookie, SESSION_COOKIE);
  } catch {
    return req.headers.cookie; // malformed: the header as it is
  }
}
