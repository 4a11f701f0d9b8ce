import type { z } from "zod";
import type { Actor, Ctx, Deps } from "@/lib/core/context";
import { BerthError, errorBody, toErrorResponse } from "@/lib/core/errors";
import type { Listed } from "@/lib/core/pagination";
import { isUuid } from "@/lib/db/ids";
import type { Role } from "@/lib/db/queries/accounts";
import { parseInput, readJson } from "./input";
import { corsHeaders, judgeOrigin, type Origins, originRefused, preflightHeaders } from "./origins";

/**
 * What a REST route is: its documentation (OpenAPI is generated from it), its input and answer
 * schemas, the errors it may answer, and how it is served. routes.ts declares every route once
 * with the constructors below; the Next.js catch-all, the Edge Function, OpenAPI, the tests' route
 * table and the browser client's answer types all come from that one table.
 */

/** Who calls, in which account, with which rights (an API key has an admin's). */
export type Principal = { accountId: string; role: Role; actor: Actor };

export type HttpDeps = Deps & {
  /** Who is calling: an API key's account, a signed-in user's current account, or nobody. */
  authenticate(req: Request): Promise<Principal | undefined>;
  health(): Promise<Record<string, unknown>>;
  /** One maintenance sweep, for `POST /maintenance` (service callers only). */
  maintain(): Promise<Record<string, unknown>>;
  /** Whether the request carries the service key (Supabase's service role). */
  isService(req: Request): boolean;
  /**
   * The operator's Prometheus metrics and whether a request carries the metrics token
   * (BERTH_METRICS_TOKEN); absent where metrics are off (unset, or the Edge Function).
   */
  operator?: {
    isOperator(req: Request): boolean;
    metrics(): Promise<{ contentType: string; body: string }>;
  };
};

export type Params = Record<string, string>;
/** A route as the dispatcher runs it: never throws, answers the contract's error shape. */
export type Serve = (req: Request, params: Params, deps: HttpDeps) => Promise<Response>;

export type ErrorStatus = 400 | 401 | 403 | 404 | 406 | 409 | 413 | 415 | 422 | 429 | 502 | 503;
export type Tag =
  | "Server definitions"
  | "Connections"
  | "Inspector"
  | "Approvals"
  | "Sandbox runs"
  | "API keys"
  | "Members"
  | "Account"
  | "MCP"
  | "Meta";

/**
 * One success answer: JSON `{"data": schema}` unless `content` says otherwise; a list that
 * pages (`paged`) answers `next_cursor` beside `data` when asked for a page.
 */
export type Answer = {
  description: string;
  schema?: z.ZodType;
  content?: Record<string, { schema?: unknown }>;
  paged?: true;
};

export type RouteDoc = {
  operationId: string;
  tags: [Tag];
  summary: string;
  description?: string;
  /** Path parameters, documented (`:id` is a connection id unless said otherwise). */
  params?: z.ZodObject;
  /** What a malformed `:id` answers (404); default "No such connection.". */
  notFound?: string;
  /** Request headers worth documenting. */
  headers?: z.ZodObject;
  answers: Partial<Record<200 | 201 | 202 | 204, Answer>>;
  errors: ErrorStatus[];
  /** Owners and admins only (and API keys): a `member` gets 403. */
  admin?: true;
  /**
   * Talks to the connection's running server, through the MCP session the Berth app holds with it
   * (the inspector): served by the app only, like the MCP endpoint. Elsewhere (the Edge Function)
   * it would start a server of its own, replacing the app's, and its tool calls would go unaudited.
   */
  live?: true;
};

type Input = {
  body?: z.ZodType;
  bodyOptional?: boolean;
  /** A body the route accepts (documentation, and the tests' table). */
  example?: unknown;
  /** A body no schema describes (JSON-RPC on the MCP endpoint). */
  rawBody?: { description: string };
  query?: z.ZodType;
};

/** Who may call a route: an account (API key, session, JWT), anyone, the service key, or the operator's metrics token. */
export type Access = "account" | "public" | "service" | "operator" | "gateway";

export type Route = RouteDoc & Input & { access: Access; serve?: Serve };

type InputOf<S> = S extends { body: infer B extends z.ZodType }
  ? z.output<B>
  : S extends { query: infer Q extends z.ZodType }
    ? z.output<Q>
    : undefined;

export type AccountArgs<I> = { ctx: Ctx; input: I; params: Params; id: string; req: Request };

/**
 * A route of an account: authenticates, caps and parses the input (JSON body or query string)
 * with its schema, resolves `:id` (a malformed id is simply not found, saying `notFound`), maps any throw to the
 * contract's error shape. Nothing else: the logic lives in services.
 */
export function account<const S extends RouteDoc & Input>(
  spec: S,
  handle: (args: AccountArgs<InputOf<S>>) => Promise<Response>,
): S & { access: "account"; serve: Serve } {
  const serve: Serve = async (req, params, deps) => {
    const principal = await deps.authenticate(req);
    if (!principal)
      throw new BerthError("unauthorized", "Send an API key as `Authorization: Bearer <key>`, or sign in.");
    if (crossSiteCapable(req)) {
      throw new BerthError("unsupported_media_type", "Send Content-Type: application/json with a signed-in session.");
    }
    if (principal.actor.kind === "api_key" && principal.actor.scope === "mcp") {
      throw new BerthError("forbidden", "This API key may only call MCP endpoints (/api/mcp/:id).");
    }
    if (spec.admin && principal.role === "member") {
      throw new BerthError("forbidden", "Members cannot do this; ask an owner or admin of the account.");
    }
    const id = params.id ?? "";
    if ("id" in params && !isUuid(id)) throw new BerthError("not_found", spec.notFound ?? "No such connection.");
    const schema = spec.body ?? spec.query;
    const raw = spec.query ? Object.fromEntries(new URL(req.url).searchParams) : await readJson(req);
    const input = schema ? parseInput(schema, raw) : undefined;
    return handle({ ctx: { ...deps, ...principal }, input: input as InputOf<S>, params, id, req });
  };
  return { ...spec, access: "account", serve };
}

/**
 * A change sent with the session cookie alone, without `Origin` and not as JSON: what an old
 * browser's cross-site form could send (a form cannot set JSON's type without a preflight, and
 * browsers that send `Origin` have had it checked by the router already).
 */
function crossSiteCapable(req: Request) {
  if (req.method === "GET" || req.method === "HEAD" || req.headers.has("authorization")) return false;
  if (req.headers.has("origin")) return false;
  return !/^application\/json\s*(;|$)/i.test(req.headers.get("content-type") ?? "");
}

/**
 * A route anyone may call (health, the documentation), only the service key, or only the
 * operator (metrics: not there at all unless a metrics token is set, so 404 then).
 */
export function open<const S extends RouteDoc>(
  spec: S & { access: "public" | "service" | "operator" },
  handle: (req: Request, deps: HttpDeps) => Promise<Response>,
): S & { access: "public" | "service" | "operator"; serve: Serve } {
  const serve: Serve = async (req, _params, deps) => {
    if (spec.access === "service" && !deps.isService(req)) {
      throw new BerthError("unauthorized", "Only the service key may call this.");
    }
    if (spec.access === "operator") {
      if (!deps.operator) throw new BerthError("not_found", "Metrics are off here: set BERTH_METRICS_TOKEN.");
      if (!deps.operator.isOperator(req))
        throw new BerthError("unauthorized", "Send the metrics token as `Authorization: Bearer <token>`.");
    }
    return handle(req, deps);
  };
  return { ...spec, serve };
}

/** A route the MCP gateway serves (server.ts, on node:http, before Next); documented here. */
export function gateway<const S extends RouteDoc & Input>(spec: S): S & { access: "gateway" } {
  return { ...spec, access: "gateway" };
}

/** `{"data": …}`, the shape of every success. */
export const json = (data: unknown, status = 200) => Response.json({ data }, { status });

/** A list: `{"data": […]}`, and `next_cursor` when a page was asked for. */
export const listed = (list: Listed<unknown>) => Response.json(list);

type Compiled = { key: string; method: string; segments: string[]; statics: number; route: Route };

/**
 * Matches requests to a route table. `toPath` maps a table path (`/api/mcp-connections/:id`) to
 * where this host serves it; `live: false` leaves out the routes only the app can serve (they
 * answer 404 saying so). A path that matches no route answers 404, a known path with another
 * method 405 with `Allow`. Static segments win over parameters (`/install` is not an `:id`).
 * Browsers on an origin outside `origins` get 403; allowed ones get CORS and their preflights 204,
 * and only Berth's own pages sign in with the dashboard's cookie.
 */
export function createRouter(
  routes: Record<string, Route>,
  opts: { origins: Origins; toPath?: (path: string) => string; live?: boolean },
) {
  const { toPath = (p: string) => p, live = true, origins } = opts;
  const table: Compiled[] = Object.entries(routes).map(([key, r]) => {
    const route = r.live && !live ? { ...r, serve: undefined } : r;
    const [method = "", path = ""] = key.split(" ");
    const segments = toPath(path).split("/").filter(Boolean);
    return { key, method, segments, statics: segments.filter((s) => !s.startsWith(":")).length, route };
  });
  table.sort((a, b) => b.statics - a.statics);

  const match = (segments: string[], c: Compiled): Params | undefined => {
    if (segments.length !== c.segments.length) return undefined;
    const params: Params = {};
    for (const [i, want] of c.segments.entries()) {
      const got = segments[i] as string;
      if (want.startsWith(":")) params[want.slice(1)] = got;
      else if (want !== got) return undefined;
    }
    return params;
  };

  const dispatch = async (req: Request, deps: HttpDeps, pathname: string, origin?: string): Promise<Response> => {
    try {
      let segments: string[];
      try {
        segments = pathname.split("/").filter(Boolean).map(decodeURIComponent);
      } catch {
        throw new BerthError("not_found", "No such API route.");
      }
      // No id, slug or route name holds a control character (PostgreSQL refuses NUL outright).
      // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
      if (segments.some((s) => /[\u0000-\u001f\u007f]/.test(s)))
        throw new BerthError("not_found", "No such API route.");
      const preflight = req.method === "OPTIONS";
      const method = req.method === "HEAD" ? "GET" : req.method;
      const allowed = new Set<string>();
      let best: number | undefined; // a path matched with this many static segments: fewer is another path
      for (const c of table) {
        if (best !== undefined && c.statics < best) break;
        const params = match(segments, c);
        if (!params) continue;
        best = c.statics;
        if (c.method !== method || preflight) {
          allowed.add(c.method);
          continue;
        }
        if (!c.route.serve) throw new BerthError("not_found", "This route is served by Berth's app, not here.");
        return await c.route.serve(req, params, deps);
      }
      if (allowed.size) {
        const methods = [...allowed].join(", ");
        if (preflight) return new Response(null, { status: 204, headers: preflightHeaders(origin, methods) });
        return Response.json(errorBody("method_not_allowed", `This route takes ${methods}.`), {
          status: 405,
          headers: { allow: methods },
        });
      }
      throw new BerthError("not_found", "No such API route.");
    } catch (err) {
      return toErrorResponse(err, (cause, requestId) =>
        deps.log.error({ err: cause, requestId, url: req.url }, "request failed"),
      );
    }
  };

  return async (req: Request, deps: HttpDeps, pathname = new URL(req.url).pathname): Promise<Response> => {
    const origin = req.headers.get("origin");
    const verdict = judgeOrigin(origins, origin);
    if (verdict === "refused") return toErrorResponse(originRefused(origin as string), () => {});
    if (verdict === "none") return dispatch(req, deps, pathname);
    const answer = await dispatch(verdict === "own" ? req : withoutCookies(req), deps, pathname, origin as string);
    for (const [name, value] of Object.entries(corsHeaders(origin as string))) answer.headers.set(name, value);
    return answer;
  };
}

/** The request without its cookies: a page of another origin does not act as the dashboard's user. */
function withoutCookies(req: Request): Request {
  if (!req.headers.has("cookie")) return req;
  const headers = new Headers(req.headers);
  headers.delete("cookie");
  return new Request(req, { headers, duplex: "half" } as RequestInit);
}
