import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { JSONRPCMessage, RequestId } from "@modelcontextprotocol/sdk/types.js";
import type { AppDeps } from "@/lib/app-deps";
import { authenticateHeaders } from "@/lib/auth/authenticate";
import { ERROR_STATUS, type ErrorCode, errorBody } from "@/lib/core/errors";
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

/**
 * `/api/mcp/:id`: Streamable HTTP for agents, served straight by node:http (not Next). Each
 * client gets its own MCP session here; all of a connection's sessions share the one
 * upstream session with its server (see UpstreamSession).
 */
export class McpGateway {
  private readonly sessions = new Map<string, ClientSession>();

  constructor(
    private readonly deps: AppDeps,
    private readonly runtime: NodeSandboxRuntime,
  ) {}

  static matches(url: string | undefined) {
    return url?.startsWith("/api/mcp/") ?? false;
  }

  async handle(req: IncomingMessage, res: ServerResponse) {
    try {
      const id = new URL(req.url ?? "/", "http://x").pathname.split("/")[3] ?? "";
      const principal = await authenticateHeaders(this.deps.db, this.deps.sessionPassword, {
        authorization: req.headers.authorization,
        cookie: req.headers.cookie,
      });
      if (!principal) return fail(res, "unauthorized", "Send an API key as `Authorization: Bearer <key>`.");
      const conn = UUID.test(id)
        ? await getConnection(this.deps.db, { accountId: principal.accountId, id })
        : undefined;
      if (!conn) return fail(res, "not_found", "No such connection.");

      const body = req.method === "POST" ? await readBody(req) : undefined;
      if (body instanceof TooLarge) return fail(res, "payload_too_large", "The body is larger than 4 MiB.");
      if (body instanceof Error) return fail(res, "bad_request", "The body is not valid JSON.");

      const sessionId = req.headers["mcp-session-id"];
      if (typeof sessionId === "string") {
        const session = this.sessions.get(sessionId);
        if (!session || session.connectionId !== conn.id || session.accountId !== principal.accountId) {
          return fail(res, "not_found", "No such MCP session; initialize a new one.");
        }
        return await session.transport.handleRequest(req, res, body);
      }
      if (req.method !== "POST") return fail(res, "bad_request", "Start with an initialize request (POST).");
      if (conn.status !== "running" || !this.runtime.session(conn.id)) {
        return fail(res, "connection_not_running", `The connection is ${conn.status}.`);
      }
      const transport = this.openSession(principal.accountId, conn.id);
      await transport.handleRequest(req, res, body);
    } catch (err) {
      this.deps.log.error({ err }, "MCP gateway request failed");
      if (!res.headersSent) fail(res, "internal_error", "Something went wrong on our side.");
      else res.end();
    }
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
    if ("method" in message && "id" in message) {
      session.peer.deliver(
        {
          jsonrpc: "2.0",
          id: message.id,
          error: { code: -32000, message: "The connection's MCP server is not running." },
        },
        message.id,
      );
    }
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
