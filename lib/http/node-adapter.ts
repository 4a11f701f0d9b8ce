import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";

/**
 * node:http ⇄ fetch's Request/Response, for the REST router (lib/core/http), which is written
 * against the web types so that the Edge Function (Deno) serves it unchanged.
 */
export function toWebRequest(req: IncomingMessage, origin: string): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const body = req.method === "GET" || req.method === "HEAD" ? undefined : (Readable.toWeb(req) as ReadableStream);
  return new Request(new URL(req.url ?? "/", origin), {
    method: req.method,
    headers,
    body,
    duplex: "half",
  } as RequestInit);
}

/** Writes a Response (REST answers are small and whole: no streaming needed). */
export async function sendWebResponse(res: ServerResponse, response: Response, head = false) {
  const headers: Record<string, string | string[]> = Object.fromEntries(response.headers);
  const cookies = response.headers.getSetCookie();
  if (cookies.length) headers["set-cookie"] = cookies;
  const body = head ? undefined : Buffer.from(await response.arrayBuffer());
  if (body) headers["content-length"] = String(body.length);
  res.writeHead(response.status, headers).end(body);
}
