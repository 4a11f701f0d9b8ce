import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { JSONRPCMessage, RequestId } from "@modelcontextprotocol/sdk/types.js";
import type { AppDeps } from "@/lib/app-deps";
import { ApiKeyCache } from "@/lib/auth/api-key-cache";
import { authenticateHeaders } from "@/lib/auth/authenticate";
import type { Ctx } from "@/lib/core/context";
import { ERROR_STATUS, type ErrorCode, errorBody, isBerthError } from "@/lib/core/errors";
import type { Principal } from "@/lib/core/http/handler";
import { resumeConnection } from "@/lib/core/services/connections/resume";
import { getConnection } from "@/lib/db/queries/connections";
import type { NodeSandboxRuntime } from "@/lib/sandbox/runtime";
import type { Peer, UpstreamSession } from "./upstream-session";

const MAX_MCP_BODY_BYTES = 4 * 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type ClientSession = {
  accountId: string;
  connectionId: string;
  transport: StreamableHTTPServerTransport;
  peer: Peer;
  upstream: UpstreamSession | undefined;
};

export type GatewayOptions = {
  /** POSTs in flight per connection before the gateway answers 429. */
  maxConcurrentPerConnection: number;
};

/**
 * `/api/mcp/:id`: Streamable HTTP for agents, served straight by node:http (not Next). Each
 * client gets its own MCP session here; all of a connection's sessions share the one
 * upstream session with its server (see UpstreamSession). The first request to a keep-alive
 * connection whose server expired or crashed brings it back.
 */
export class McpGateway {
  private readonly sessions = new Map<string, ClientSession>();
  private readonly inFlight = new Map<string, number>();
  private readonly resuming = new Map<string, Promise<unknown>>();
  private readonly keyCache = new ApiKeyCache();

  constructor(
    private readonly deps: AppDeps,
    private readonly runtime: NodeSandboxRuntime,
    private readonly options: GatewayOptions,
  ) {}

  static matches(url: string | undefined) {
    return url?.startsWith("/api/mcp/") ?? false;
  }

  async handle(req: IncomingMessage, res: ServerResponse) {
    const id = new URL(req.url ?? "/", "http://x").pathname.split("/")[3] ?? "";
    let counted = false;
    try {
      const principal = await authenticateHeaders(
        this.deps.db,
        this.deps.sessionPassword,
        { authorization: req.headers.authorization, cookie: req.headers.cookie },
        this.keyCache,
      );
      if (!principal) return fail(res, "unauthorized", "Send an API key as `Authorization: Bearer <key>`.");
      if (!UUID.test(id)) return fail(res, "not_found", "No such connection.");

      const sessionId = req.headers["mcp-session-id"];
      const session = typeof sessionId === "string" ? this.sessions.get(sessionId) : undefined;
      // A known session of this account and connection skips the database: the hot path.
      if (!session || session.accountId !== principal.accountId || session.connectionId !== id) {
        const conn = await getConnection(this.deps.db, { accountId: principal.accountId, id });
        if (!conn) return fail(res, "not_found", "No such connection.");
        if (typeof sessionId === "string") return fail(res, "not_found", "No such MCP session; initialize a new one.");
      }

      if (req.method === "POST") {
        const load = this.inFlight.get(id) ?? 0;
        if (load >= this.options.maxConcurrentPerConnection) {
          res.setHeader("retry-after", "1");
          return fail(res, "too_many_requests", "Too many requests in flight on this connection; retry shortly.");
        }
        this.inFlight.set(id, load + 1);
        counted = true;
      }
      const body = req.method === "POST" ? await readBody(req) : undefined;
      if (body instanceof TooLarge) return fail(res, "payload_too_large", "The body is larger than 4 MiB.");
      if (body instanceof Error) return fail(res, "bad_request", "The body is not valid JSON.");

      if (session) return await session.transport.handleRequest(req, res, body);
      if (req.method !== "POST") return fail(res, "bad_request", "Start with an initialize request (POST).");
      await this.ensureRunning(principal, id);
      await this.openSession(principal.accountId, id).handleRequest(req, res, body);
    } catch (err) {
      if (isBerthError(err)) return fail(res, err.code, err.message);
      this.deps.log.error({ err }, "MCP gateway request failed");
      if (!res.headersSent) fail(res, "internal_error", "Something went wrong on our side.");
      else res.end();
    } finally {
      if (counted) {
        const release = () => this.inFlight.set(id, (this.inFlight.get(id) ?? 1) - 1);
        if (res.writableFinished || res.destroyed) release();
        else res.once("close", release);
      }
    }
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

  private openSession(accountId: string, connectionId: string) {
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (sid) => {
        this.sessions.set(sid, session);
      },
    });
    const session: ClientSession = {
      accountId,
      connectionId,
      transport,
      upstream: undefined,
      peer: {
        deliver: (message: JSONRPCMessage, relatedRequestId?: RequestId) => {
          transport.send(message, { relatedRequestId }).catch(() => {});
        },
      },
    };
    transport.onmessage = (message) => this.forward(session, message);
    transport.onclose = () => {
      if (transport.sessionId) this.sessions.delete(transport.sessionId);
      session.upstream?.detach(session.peer);
    };
    transport.start().catch(() => {});
    return transport;
  }

  /** Sends a client's message to the connection's current server, following restarts. */
  private forward(session: ClientSession, message: JSONRPCMessage) {
    const upstream = this.runtime.session(session.connectionId);
    if (upstream !== session.upstream) {
      session.upstream?.detach(session.peer);
      upstream?.attach(session.peer);
      session.upstream = upstream;
    }
    if (upstream) return upstream.fromPeer(session.peer, message);
    // The server is gone (crashed or expired): bring it back if the connection allows, else say so at once.
    const principal: Principal = { accountId: session.accountId, actor: { kind: "api_key" } };
    this.ensureRunning(principal, session.connectionId).then(
      () => this.forward(session, message),
      (err) => {
        if (!("method" in message && "id" in message)) return;
        const reason = isBerthError(err) ? err.message : "The connection's MCP server is not running.";
        session.peer.deliver({ jsonrpc: "2.0", id: message.id, error: { code: -32000, message: reason } }, message.id);
      },
    );
  }

  async close() {
    await Promise.all([...this.sessions.values()].map((s) => s.transport.close().catch(() => {})));
    this.sessions.clear();
  }
}

function fail(res: ServerResponse, code: ErrorCode, message: string) {
  const status = ERROR_STATUS[code];
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (status === 401) headers["www-authenticate"] = 'Bearer realm="berth"';
  res.writeHead(status, headers).end(JSON.stringify(errorBody(code, message)));
}

function readBody(req: IncomingMessage): Promise<unknown | Error> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_MCP_BODY_BYTES) {
        resolve(new TooLarge());
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        resolve(new Error("bad json"));
      }
    });
    req.on("error", (err) => resolve(err));
  });
}

class TooLarge extends Error {}
