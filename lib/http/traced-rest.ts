import type http from "node:http";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { inSpan } from "@/lib/core/tracing";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Wraps the REST handler in a server span per request (only when tracing is on), named by method
 * and path with ids as `:id`, so an install's span is the parent of its deploy. The query string
 * is left out: it may name an account.
 */
export function tracedRest(serve: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0] as string;
    const route = path
      .split("/")
      .map((s) => (UUID.test(s) ? ":id" : s))
      .join("/");
    const method = req.method ?? "GET";
    const attributes = { "http.request.method": method, "http.route": route };
    return inSpan(
      `${method} ${route}`,
      attributes,
      async (span) => {
        await serve(req, res);
        span.setAttribute("http.response.status_code", res.statusCode);
        if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      },
      SpanKind.SERVER,
    );
  };
}
