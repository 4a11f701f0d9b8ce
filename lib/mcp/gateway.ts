import type { IncomingMessage, ServerResponse } from "node:http";
import type { JSONRPCMessage, JSONRPCRequest } from "@modelcontextprotocol/sdk/types.js";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { AppDeps } from "@/lib/app-deps";
import { authenticateHeaders, keyPrincipal } from "@/lib/auth/authenticate";
import { hashToken } from "@/lib/auth/oauth/provider";
import { resourceMetadataUrl } from "@/lib/auth/oauth/router";
import type { Ctx } from "@/lib/core/context";
import { ERROR_STATUS, type ErrorCode, errorBody, isBerthError } from "@/lib/core/errors";
import { corsHeaders, judgeOrigin, type Origins, originRefused, preflightHeaders } from "@/lib/core/http/origins";
import type { Principal } from "@/lib/core/http/route";
import { MAX_JSON_DEPTH, nestsDeeper } from "@/lib/core/json-depth";
import { bearerKey } from "@/lib/core/services/accounts/authenticate";
import { resumeConnection } from "@/lib/core/services/connections/resume";
import { tracer } from "@/lib/core/tracing";
import { isUuid } from "@/lib/db/ids";
import type { Role } from "@/lib/db/queries/accounts";
import { getConnection } from "@/lib/db/queries/connections";
import { findAccessToken } from "@/lib/db/queries/oauth";
import { TokenBuckets } from "@/lib/limits/token-buckets";
import type { NodeSandboxRuntime } from "@/lib/sandbox/runtime";
import { ClientSession } from "./client-session";
import { type Peer, type UpstreamSession, versionHeaderProblem } from "./upstream-session";

const MAX_MCP_BODY_BYTES = 4 * 1024 * 1024;
/**
 * Request bodies one account may have in Berth's memory at once, across its connections: a body
 * is read whole before it is forwarded, so 64 requests of 4 MiB on each of many connections would
 * otherwise be gigabytes of Berth's own memory, outside any sandbox's limits.
 */
const MAX_ACCOUNT_BODY_BYTES = 32 * 1024 * 1024;
/** Deeper JSON than this is refused: the message is serialized again for the server, recursively. */
/** A client's session; `actor`: who opened it, named in what its requests set off (a wake, say). */
type Live = { session: ClientSession; peer: Peer; upstream: UpstreamSession | undefined; actor: Principal["actor"] };

export type GatewayOptions = {
  /** POSTs in flight per connection before the gateway answers 429. */
  maxConcurrentPerConnection: number;
  /**
   * A session the client has left (no request in flight, no GET stream open) is ended after this
   * long without a word from it: agents seldom send DELETE, and each session keeps events for replay.
   */
  sessionIdleMs: number;
  /**
   * Sessions one connection, and one account in all, may have. Each holds memory in Berth
   * (its replay events, its streams), and a client can open them without end: past a cap a new
   * session ends the least recently used idle one, or is refused with 429 if none is idle.
   */
  maxSessionsPerConnection: number;
  maxSessionsPerAccount: number;
  /**
   * Request body bytes one account may send a second (twice that at once): every body is parsed
   * on the event loop all tenants share, so large ones are paced per account.
   */
  bodyBytesPerSecond: number;
  /** Web origins whose browsers may call (origins.ts); others get 403 before anything else. */
  origins: Origins;
  /** Each request gets a span (OpenTelemetry's SDK is on): checked once per request, else no cost. */
  traced?: boolean;
};

const METHODS = "GET, POST, DELETE";

/**
 * `/api/mcp/:id`: Streamable HTTP for agents, served straight by node:http (not Next). Each
 * client gets its own MCP session here; all of a connection's sessions share the one
 * upstream session with its server (see UpstreamSession). The first request to a keep-alive
 * connection whose server expired, crashed or went to sleep brings it back.
 */
export class McpGateway {
  private readonly sessions = new Map<string, Live>();
  /** Each account's sessions, for its caps (at most maxSessionsPerAccount each, so cheap to scan). */
  private readonly byAccount = new Map<string, Set<ClientSession>>();
  private readonly inFlight = new Map<string, number>();
  /** Bytes of request bodies each account has in memory now (MAX_ACCOUNT_BODY_BYTES). */
  private readonly bodyBytes = new Map<string, number>();
  private readonly resuming = new Map<string, Promise<unknown>>();
  private readonly bodyRate: TokenBuckets;
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(
    private readonly deps: AppDeps,
    private readonly runtime: NodeSandboxRuntime,
    private readonly options: GatewayOptions,
  ) {
    this.bodyRate = new TokenBuckets(options.bodyBytesPerSecond, options.bodyBytesPerSecond * 2);
    this.sweeper = setInterval(() => this.endIdleSessions(), Math.min(60_000, options.sessionIdleMs));
    this.sweeper.unref();
  }

  static matches(url: string | undefined) {
    return url?.startsWith("/api/mcp/") ?? false;
  }

  handle(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    if (!this.options.traced) return this.serve(req, res);
    // The span lasts until the answer is out (a POST's stream ends after its last response), and
    // is the parent of what the request sets off: a wake's deploy, say.
    const span = tracer.startSpan(`${req.method} /api/mcp/:id`, {
      kind: SpanKind.SERVER,
      attributes: { "http.request.method": req.method ?? "", "http.route": "/api/mcp/:id" },
    });
    res.once("close", () => {
      span.setAttribute("http.response.status_code", res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    return context.with(trace.setSpan(context.active(), span), () => this.serve(req, res));
  }

  private async serve(req: IncomingMessage, res: ServerResponse) {
    const id = req.url?.split("?")[0]?.split("/")[3] ?? "";
    let counted = false;
    let held = 0; // body bytes counted against the account
    let holder = "";
    try {
      const { origin } = req.headers;
      const verdict = judgeOrigin(this.options.origins, origin);
      if (verdict === "refused") {
        const refused = originRefused(origin as string);
        return fail(res, refused.code, refused.message);
      }
      if (verdict === "own" || verdict === "allowed")
        for (const [k, v] of Object.entries(corsHeaders(origin as string))) res.setHeader(k, v);
      if (req.method === "OPTIONS") return res.writeHead(204, preflightHeaders(origin, METHODS)).end();
      const found = this.principalOf(req, id, verdict !== "allowed");
      const principal = found instanceof Promise ? await found : found; // no await on the hot path
      if (!principal) {
        // Where an OAuth client learns how to get a token for this endpoint (RFC 9728, MCP authorization).
        const metadata = isUuid(id) ? `, resource_metadata="${resourceMetadataUrl(this.deps.publicUrl, id)}"` : "";
        res.setHeader("www-authenticate", `Bearer realm="berth"${metadata}`);
        return fail(
          res,
          "unauthorized",
          "Send an API key or an OAuth access token as `Authorization: Bearer <token>`.",
        );
      }
      if (!isUuid(id)) return fail(res, "not_found", "No such connection.");

      const sessionId = req.headers["mcp-session-id"];
      const live = typeof sessionId === "string" ? this.sessions.get(sessionId) : undefined;
      const session = live?.session;
      // A known session of this account and connection skips the database: the hot path.
      if (!session || session.accountId !== principal.accountId || session.connectionId !== id) {
        const conn = await getConnection(this.deps.db, { accountId: principal.accountId, id });
        if (!conn) return fail(res, "not_found", "No such connection.");
        if (typeof sessionId === "string") return fail(res, "not_found", "No such MCP session; initialize a new one.");
      }
      if (session) session.lastSeen = performance.now();
      const version = req.headers["mcp-protocol-version"];
      const problem = versionHeaderProblem(version, live?.peer.protocolVersion);
      if (problem) return fail(res, "bad_request", problem);
      if (req.method === "GET") {
        if (!live) return fail(res, "bad_request", "Send the Mcp-Session-Id of an initialized session.");
        if (!req.headers.accept?.includes("text/event-stream"))
          return fail(res, "not_acceptable", "Accept text/event-stream.");
        const last = Number(req.headers["last-event-id"]);
        return live.session.openStandalone(res, Number.isInteger(last) ? last : undefined);
      }
      if (req.method === "DELETE") {
        if (!live) return fail(res, "bad_request", "Send the Mcp-Session-Id of the session to end.");
        live.session.close();
        return res.writeHead(200).end();
      }
      if (req.method !== "POST") {
        res.setHeader("allow", METHODS);
        return fail(res, "method_not_allowed", "Use POST, GET or DELETE.");
      }

      const load = this.inFlight.get(id) ?? 0;
      if (load >= this.options.maxConcurrentPerConnection) {
        res.setHeader("retry-after", "1");
        return fail(res, "too_many_requests", "Too many requests in flight on this connection; retry shortly.");
      }
      this.inFlight.set(id, load + 1);
      counted = true;
      this.runtime.touch(id); // not idle: no sleep for it now

      const accept = req.headers.accept ?? "";
      if (!accept.includes("application/json") || !accept.includes("text/event-stream")) {
        return fail(res, "not_acceptable", "Accept both application/json and text/event-stream.");
      }
      if (!req.headers["content-type"]?.startsWith("application/json")) {
        return fail(res, "unsupported_media_type", "Send Content-Type: application/json.");
      }
      holder = principal.accountId;
      const body = await readBody(req, (n) => {
        const now = this.bodyBytes.get(holder) ?? 0;
        if (now + n > MAX_ACCOUNT_BODY_BYTES || this.bodyRate.take(holder, n)) return false;
        this.bodyBytes.set(holder, now + n);
        held += n;
        return true;
      });
      if (body instanceof TooLarge) return fail(res, "payload_too_large", "The body is larger than 4 MiB.");
      if (body instanceof OverBudget) {
        // Reading the rest only to throw it away would cost the shared event loop as much as taking
        // it: the connection is closed once the answer is out (a client still sending sees a reset).
        res.setHeader("retry-after", "1").setHeader("connection", "close");
        res.once("finish", () => req.destroy());
        return fail(
          res,
          "too_many_requests",
          "This account sends more request bytes than Berth takes at once; retry shortly.",
        );
      }
      if (body instanceof TooDeep)
        return fail(res, "bad_request", `The JSON nests deeper than ${MAX_JSON_DEPTH} levels.`);
      const messages = parseMessages(body);
      if (!messages) return fail(res, "bad_request", "The body is not a JSON-RPC message or a batch of them.");
      if (this.options.traced) this.describeSpan(id, messages);

      let target = live;
      if (!target) {
        const init = messages.length === 1 && isRequest(messages[0]) && messages[0].method === "initialize";
        if (!init) return fail(res, "bad_request", "Start with an initialize request, or send your Mcp-Session-Id.");
        await this.ensureRunning(principal, id);
        // Checked after the await, right before the session is made: nothing can slip in between.
        const full = this.makeRoom(principal.accountId, id);
        if (full) {
          res.setHeader("retry-after", "1");
          const message = `This ${full} has as many MCP sessions as it may, all in use; end one (DELETE) or retry shortly.`;
          return fail(res, "too_many_requests", message);
        }
        target = this.openSession(principal, id);
      }
      const requestIds = messages.filter(isRequest).map((m) => m.id);
      if (requestIds.length) target.session.openPost(res, requestIds, Array.isArray(body));
      else res.writeHead(202).end();
      for (const message of messages) this.forward(target, message);
    } catch (err) {
      if (isBerthError(err)) {
        if (err.retryAfterSeconds) res.setHeader("retry-after", String(err.retryAfterSeconds));
        return fail(res, err.code, err.message);
      }
      this.deps.log.error({ err }, "MCP gateway request failed");
      if (!res.headersSent) fail(res, "internal_error", "Something went wrong on our side.");
      else res.end();
    } finally {
      if (held) {
        const left = (this.bodyBytes.get(holder) ?? held) - held;
        if (left > 0) this.bodyBytes.set(holder, left);
        else this.bodyBytes.delete(holder);
      }
      if (counted) {
        const release = () => {
          this.inFlight.set(id, (this.inFlight.get(id) ?? 1) - 1);
          this.runtime.touch(id); // idle counts from a request's end: a long call is not idleness
        };
        if (res.writableFinished || res.destroyed) release();
        else res.once("close", release);
      }
    }
  }

  /**
   * Who is calling. A cached API key is answered on the spot: that is every call of an agent but
   * its first. The dashboard's cookie counts only from Berth's own pages (or without an Origin).
   */
  private principalOf(
    req: IncomingMessage,
    connectionId: string,
    cookies: boolean,
  ): Principal | Promise<Principal | undefined> {
    const key = bearerKey(req.headers.authorization);
    const holder = key && this.deps.apiKeyCache.get(key);
    if (holder) return keyPrincipal(holder);
    const { authorization } = req.headers;
    const token = authorization?.match(/^Bearer\s+(berth_at_\S+)\s*$/i)?.[1];
    if (token) return this.oauthPrincipal(token, connectionId);
    const cookie = cookies ? req.headers.cookie : undefined;
    const account = req.headers["berth-account"];
    return authenticateHeaders(
      this.deps.db,
      { ...this.deps.auth, keyCache: this.deps.apiKeyCache },
      { authorization, cookie, account: typeof account === "string" ? account : undefined },
    );
  }

  /**
   * An OAuth access token's principal: the user who consented, with their role in the account now,
   * for the one connection the token was issued for (its audience); any other endpoint refuses it.
   */
  private async oauthPrincipal(token: string, connectionId: string): Promise<Principal | undefined> {
    const grant = await findAccessToken(this.deps.db, hashToken(token));
    if (!grant || grant.connection_id !== connectionId) return undefined;
    return { accountId: grant.account_id, role: grant.role as Role, actor: { kind: "user", userId: grant.user_id } };
  }

  /**
   * Names the request's span after what it asks (OpenTelemetry's MCP conventions: `tools/call
   * get_weather`): the method, the tool, the connection and its server; never arguments.
   */
  private describeSpan(connectionId: string, messages: JSONRPCMessage[]) {
    const span = trace.getActiveSpan();
    if (!span) return;
    const first = messages[0] as { method?: unknown; params?: { name?: unknown } };
    const method = messages.length === 1 && typeof first.method === "string" ? first.method : undefined;
    const tool = method === "tools/call" && typeof first.params?.name === "string" ? first.params.name : undefined;
    span.updateName(method ? (tool ? `${method} ${tool}` : method) : "batch");
    span.setAttributes({
      "berth.connection.id": connectionId,
      "berth.server.slug": this.runtime.serverSlugOf(connectionId) ?? "",
      "mcp.method.name": method ?? "",
      "berth.mcp.messages": messages.length,
      ...(tool ? { "gen_ai.tool.name": tool } : {}),
    });
  }

  /** Resumes a connection at most once at a time, however many clients ask. */
  private ensureRunning(principal: Principal, id: string) {
    if (this.runtime.isLive(id)) return Promise.resolve();
    let pending = this.resuming.get(id);
    if (!pending) {
      const ctx: Ctx = { ...this.deps, ...principal };
      pending = resumeConnection(ctx, id).finally(() => this.resuming.delete(id));
      this.resuming.set(id, pending);
    }
    return pending;
  }

  private openSession({ accountId, actor }: Principal, connectionId: string): Live {
    const session = new ClientSession(accountId, connectionId);
    const retried = new WeakSet<JSONRPCRequest>();
    const live: Live = {
      session,
      actor,
      upstream: undefined,
      peer: {
        deliver: (m, related) => session.deliver(m, related),
        // A request whose sandbox was gone before it arrived goes to the next server, once.
        retry: (message) => {
          if (retried.has(message)) {
            const error = { code: -32000, message: "The MCP server's sandbox is gone; try again shortly." };
            return session.deliver({ jsonrpc: "2.0", id: message.id, error }, message.id);
          }
          retried.add(message);
          this.forward(live, message);
        },
      },
    };
    this.sessions.set(session.id, live);
    const mine = this.byAccount.get(accountId) ?? new Set();
    mine.add(session);
    this.byAccount.set(accountId, mine);
    session.onclose = () => {
      this.sessions.delete(session.id);
      mine.delete(session);
      if (!mine.size && this.byAccount.get(accountId) === mine) this.byAccount.delete(accountId);
      live.upstream?.detach(live.peer);
    };
    return live;
  }

  /**
   * Makes room for one more session of this account on this connection: under a full cap, ends
   * the least recently used session nobody is attached to. Returns the cap that is full of busy
   * sessions, if one is; nothing is ended then.
   */
  private makeRoom(accountId: string, connectionId: string): "connection" | "account" | undefined {
    const mine = [...(this.byAccount.get(accountId) ?? [])];
    const ofConnection = mine.filter((s) => s.connectionId === connectionId);
    if (ofConnection.length >= this.options.maxSessionsPerConnection) {
      const idle = leastRecentIdle(ofConnection);
      if (!idle) return "connection";
      idle.close(); // also one fewer for the account
      mine.splice(mine.indexOf(idle), 1);
    }
    if (mine.length >= this.options.maxSessionsPerAccount) {
      const idle = leastRecentIdle(mine);
      if (!idle) return "account";
      idle.close();
    }
    return undefined;
  }

  /** Sends a client's message to the connection's current server, following restarts. */
  private forward(live: Live, message: JSONRPCMessage) {
    const { session } = live;
    const upstream = this.runtime.session(session.connectionId);
    if (upstream !== live.upstream) {
      live.upstream?.detach(live.peer);
      upstream?.attach(live.peer);
      live.upstream = upstream;
    }
    if (upstream) return upstream.fromPeer(live.peer, message);
    // The server is gone (crashed or expired): bring it back if the connection allows, else say so at once.
    const principal: Principal = { accountId: session.accountId, role: "admin", actor: live.actor };
    this.ensureRunning(principal, session.connectionId).then(
      () => this.forward(live, message),
      (err) => {
        if (isBerthError(err) && err.code === "not_found") return session.close(); // deleted meanwhile
        if (!isRequest(message)) return;
        const reason = isBerthError(err) ? err.message : "The connection's MCP server is not running.";
        session.deliver({ jsonrpc: "2.0", id: message.id, error: { code: -32000, message: reason } });
      },
    );
  }

  /** Ends every client session of a connection that is gone for good (deleted): their ids answer 404 from now on. */
  endSessionsOf(connectionId: string) {
    for (const { session } of [...this.sessions.values()]) if (session.connectionId === connectionId) session.close();
  }

  private endIdleSessions() {
    const before = performance.now() - this.options.sessionIdleMs;
    for (const { session } of [...this.sessions.values()]) {
      if (!session.attached && session.lastSeen < before) session.close();
    }
  }

  async close() {
    clearInterval(this.sweeper);
    for (const live of [...this.sessions.values()]) live.session.close();
  }
}

function leastRecentIdle(sessions: ClientSession[]): ClientSession | undefined {
  let found: ClientSession | undefined;
  for (const s of sessions) if (!s.attached && (!found || s.lastSeen < found.lastSeen)) found = s;
  return found;
}

function fail(res: ServerResponse, code: ErrorCode, message: string) {
  const status = ERROR_STATUS[code];
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (status === 401 && !res.hasHeader("www-authenticate")) headers["www-authenticate"] = 'Bearer realm="berth"';
  // Refused before its body was read: the rest of it is still on the connection, which therefore
  // cannot carry another request.
  if (!res.req.complete) headers.connection = "close";
  res.writeHead(status, headers).end(JSON.stringify(errorBody(code, message)));
}

/** Reads and parses a JSON body; `take(n)` counts each chunk against the account's budget first. */
function readBody(req: IncomingMessage, take: (bytes: number) => boolean): Promise<unknown | Error> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const refuse = (why: Error) => {
      req.removeAllListeners("data");
      req.resume(); // the rest is read and dropped, or the connection closed (OverBudget)
      resolve(why);
    };
    req.on("data", (c: Buffer) => {
      size += c.length;
      // Over 4 MiB: the rest is read without keeping it, since closing now would reset the
      // connection before the client reads the 413 (Node's request timeout bounds one that never stops).
      if (size > MAX_MCP_BODY_BYTES) refuse(new TooLarge());
      else if (!take(c.length)) refuse(new OverBudget());
      else chunks.push(c);
    });
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      if (nestsDeeper(text, MAX_JSON_DEPTH)) return resolve(new TooDeep());
      try {
        resolve(JSON.parse(text));
      } catch {
        resolve(new Error("bad json"));
      }
    });
    req.on("error", (err) => resolve(err));
  });
}

class TooLarge extends Error {}
class OverBudget extends Error {}
class TooDeep extends Error {}

const MAX_BATCH = 100;

const isRequest = (m: JSONRPCMessage | undefined): m is JSONRPCRequest =>
  m !== undefined && "method" in m && "id" in m && m.id !== null;

/** A JSON-RPC message or batch, checked only as far as routing needs; the server validates the rest. */
function parseMessages(body: unknown): JSONRPCMessage[] | undefined {
  const list = Array.isArray(body) ? body : [body];
  if (!list.length || list.length > MAX_BATCH) return undefined;
  const ok = list.every(
    (m) => typeof m === "object" && m !== null && m.jsonrpc === "2.0" && ("method" in m || "id" in m),
  );
  return ok ? (list as JSONRPCMessage[]) : undefined;
}
