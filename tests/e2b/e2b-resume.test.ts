import http from "node:http";
import type net from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { type ConnectionOpts, Sandbox } from "e2b";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FakeE2B } from "../fakes/e2b-server";
import { api, type BerthServer, startBerth } from "../support/berth-server";
import { expectUniformTimeline } from "../support/timeline";
import { until } from "../support/until";

/**
 * A keep-alive E2B connection whose sandbox dies under it (killed through the E2B API, as its
 * owner, E2B's dashboard or an outage would) is brought back by the next MCP request (CONTRACT.md:
 * "a keep_alive connection which expired or crashed is brought back by the request"), and Berth
 * notices the death by itself too. Real Berth, the real `e2b` SDK and a current-SDK MCP client,
 * against the fake E2B seen through `E2BEdge` below.
 *
 * Two orders of events, both real: the fake cuts every connection to a killed sandbox at once,
 * so Berth's watch on the bridge command usually learns of the death before the next request;
 * real E2B refuses new traffic at once but leaves the connections already open (Berth's envd
 * stream, its SSE streams to the bridge) open and silent until the sandbox's cleanup is over, or
 * for good when the node is lost — then the next request is the first to meet the dead sandbox.
 */

const support = FakeE2B.supported();
if (!support.ok) console.log(`[e2b resume] skipped: ${support.reason}`);

type Account = { account_id: string; api_key: string };
type Conn = { id: string; status: string; sandbox_id: string | null; mcp_url: string; last_error: string | null };
type Event = { type: string; created_at: string; data: Record<string, unknown> };

/** Every wait on Berth or on the MCP client is bounded by one of these. */
const CALL_TIMEOUT_MS = 40_000;
const RECOVERY_MS = 45_000;
/** How soon a call in flight when its sandbox dies must be answered (Berth may poll the sandbox). */
const IN_FLIGHT_ANSWER_MS = 20_000;

/**
 * E2B's edge in front of the fake, for Berth and for the test's SDK calls: requests and answers
 * pass through unchanged. With `hold`, it does what real E2B does and the fake does not: when a
 * sandbox is killed (`DELETE /sandboxes/:id`), new requests to it are refused at once (the fake's
 * 502 "The sandbox was not found", as E2B's proxy answers), but the connections already open to
 * it stay open and silent instead of being cut. In real E2B the orchestrator's Delete marks the
 * sandbox stopping (no more routing) and returns; its cleanup (Stop → Close → RemoveFromPool,
 * which closes the proxy's connections) runs later, and envd, gone with the VM, sends no end
 * event. Held connections are closed when the edge closes.
 */
class E2BEdge {
  url = "";
  /** What went through, for the failure messages. */
  readonly log: string[] = [];
  private server!: http.Server;
  private readonly killed = new Set<string>();

  private constructor(
    private readonly target: string,
    private readonly hold: boolean,
  ) {}

  static async start(target: string, hold: boolean) {
    const edge = new E2BEdge(target, hold);
    edge.server = http.createServer((req, res) => edge.handle(req, res));
    await new Promise<void>((resolve) => edge.server.listen(0, "127.0.0.1", resolve));
    edge.url = `http://127.0.0.1:${(edge.server.address() as net.AddressInfo).port}`;
    return edge;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? "/", "http://edge");
    const id =
      (req.headers["e2b-sandbox-id"] as string | undefined) ??
      /^\/(?:ports|sandboxes|v2\/sandboxes)\/([^/]+)/.exec(url.pathname)?.[1];
    if (req.method === "DELETE" && id && /^\/sandboxes\/[^/]+$/.test(url.pathname)) this.killed.add(id);
    const what = `${req.method} ${url.pathname}${id && req.headers["e2b-sandbox-id"] ? ` [${id}]` : ""}`;
    const heldNow = () => this.hold && id !== undefined && this.killed.has(id);
    const cut = (response?: http.IncomingMessage) => {
      if (heldNow()) {
        response?.unpipe(res); // open and silent, like a connection to a VM that is gone
        this.log.push(`${what}: held open`);
        return;
      }
      res.destroy();
    };
    const upstream = http.request(`${this.target}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
      this.log.push(`${what} → ${r.statusCode}`);
      res.writeHead(r.statusCode ?? 502, r.headers);
      res.flushHeaders();
      r.pipe(res);
      r.on("close", () => {
        if (!r.complete) cut(r);
      });
    });
    upstream.on("error", () => {
      if (!res.headersSent && !heldNow()) res.writeHead(502).end();
      else cut();
    });
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  }

  async close() {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const MODES = [
  { name: "E2B cuts the dead sandbox's connections at once (the fake's way)", hold: false },
  { name: "E2B leaves the dead sandbox's open connections hanging (real E2B until its cleanup)", hold: true },
];

describe.skipIf(!support.ok).each(MODES)(
  "a keep-alive E2B connection whose sandbox is killed through the E2B API: $name",
  ({ hold }) => {
    let fake: FakeE2B;
    let edge: E2BEdge;
    let berth: BerthServer;
    let account: Account;
    let call: ReturnType<typeof api>;
    const clients: Client[] = [];
    /** Connections a test installed, deleted after it whatever its outcome (no leftovers restarting meanwhile). */
    const installed: string[] = [];

    beforeAll(async () => {
      fake = await FakeE2B.start();
      edge = await E2BEdge.start(fake.url, hold);
      berth = await startBerth({
        SANDBOX_PROVIDER: "e2b",
        E2B_API_KEY: fake.apiKey,
        E2B_API_URL: edge.url,
        E2B_SANDBOX_URL: edge.url,
        E2B_PORT_URL_TEMPLATE: `${edge.url}/ports/{sandboxId}/{port}`,
      });
      account = (await berth.cli(["accounts", "create", "--name", "E2B resume"])) as Account;
      call = api(berth.url, account.api_key);
    });

    afterEach(async (ctx) => {
      await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
      if (ctx.task.result?.state === "fail") {
        console.log(`[e2b resume] E2B traffic of "${ctx.task.name}":\n  ${edge.log.join("\n  ")}`);
        console.log(`[e2b resume] Berth's output so far:\n${berth.output().trim()}`);
      }
      for (const id of installed.splice(0)) await call("DELETE", `/api/mcp-connections/${id}`).catch(() => {});
      edge.log.length = 0;
    });

    afterAll(async () => {
      await berth?.stop();
      await edge?.close();
      await fake?.close();
    });

    /** Kills a sandbox the way anyone holding the API key can: the real SDK, E2B's REST API. */
    const killThroughE2B = (sandboxId: string) => {
      // The SDK reads apiUrl and sandboxUrl (E2B_API_URL, E2B_SANDBOX_URL) though kill's type omits them.
      const e2b: ConnectionOpts = {
        apiKey: fake.apiKey,
        apiUrl: edge.url,
        sandboxUrl: edge.url,
        requestTimeoutMs: 10_000,
      };
      return Sandbox.kill(sandboxId, e2b);
    };

    const install = async (serverId: string) => {
      const res = await call("POST", "/api/mcp-connections/install", {
        account_id: account.account_id,
        server_id: serverId,
        keep_alive: true,
        timeout: 600,
      });
      expect(res.status).toBe(201);
      expect(res.body.data).toMatchObject({ status: "running", keep_alive: true });
      installed.push(res.body.data.id);
      expect(fake.sandboxIds()).toContain(res.body.data.sandbox_id);
      return res.body.data as Conn & { sandbox_id: string };
    };
    const get = async (id: string) => (await call("GET", `/api/mcp-connections/${id}`)).body.data as Conn;
    /** Newest first. */
    const events = async (id: string) => {
      const list = (await call("GET", `/api/mcp-connections/${id}/events`)).body.data as Event[];
      expectUniformTimeline(list);
      return list;
    };

    const connectClient = async (conn: Conn) => {
      const client = new Client({ name: "e2b-resume", version: "1" });
      clients.push(client);
      await client.connect(
        new StreamableHTTPClientTransport(new URL(conn.mcp_url), {
          requestInit: { headers: { authorization: `Bearer ${account.api_key}` } },
          // A client that lost its stream tries again a few times, quickly: no wait here goes unbounded.
          reconnectionOptions: {
            initialReconnectionDelay: 200,
            maxReconnectionDelay: 1000,
            reconnectionDelayGrowFactor: 1.5,
            maxRetries: 2,
          },
        }),
        { timeout: CALL_TIMEOUT_MS },
      );
      return client;
    };

    /** A tools/call answered within CALL_TIMEOUT_MS, or what it failed with. */
    const tryCall = async (client: Client, name: string, args: Record<string, unknown>) => {
      const started = Date.now();
      try {
        const result = await client.callTool({ name, arguments: args }, undefined, { timeout: CALL_TIMEOUT_MS });
        return { result, error: undefined, ms: Date.now() - started };
      } catch (error) {
        return { result: undefined, error: error as Error, ms: Date.now() - started };
      }
    };

    /** The call was answered with a result (not a JSON-RPC error, not a tool error); says why not. */
    const expectAnswered = (outcome: Awaited<ReturnType<typeof tryCall>>, what: string) => {
      const why = outcome.error
        ? `${outcome.error.name}: ${outcome.error.message} (after ${outcome.ms} ms)`
        : JSON.stringify(outcome.result);
      expect(outcome.error, `${what}: ${why}`).toBeUndefined();
      expect(outcome.result?.isError, `${what}: ${why}`).toBeFalsy();
    };

    /** The connection runs on another sandbox after a crash of `dead`, with the crash and the restart recorded. */
    const expectRedeployed = async (conn: Conn, dead: string) => {
      const back = await until(
        "the connection to run on a new sandbox",
        async () => {
          const c = await get(conn.id);
          return c.status === "running" && c.sandbox_id && c.sandbox_id !== dead ? c : undefined;
        },
        RECOVERY_MS,
      ).catch(async (err: Error) => {
        throw new Error(`${err.message}; it is ${JSON.stringify(await get(conn.id))}`);
      });
      expect(back.mcp_url).toBe(conn.mcp_url);
      expect(fake.sandboxIds()).toContain(back.sandbox_id);
      expect(fake.sandboxIds()).not.toContain(dead);
      const oldestFirst = [...(await events(conn.id))].reverse();
      const crashed = oldestFirst.findIndex((e) => e.type === "crashed" && e.data.sandbox_id === dead);
      const all = JSON.stringify(oldestFirst.map((e) => [e.type, e.data]));
      expect(crashed, `a "crashed" event for ${dead} in ${all}`).toBeGreaterThanOrEqual(0);
      const after = oldestFirst.slice(crashed + 1);
      // The restart (by the maintenance loop or by the request), then the new sandbox running.
      expect(
        after.some((e) => e.type === "restarted" || e.type === "deploying"),
        `a restart after the crash in ${all}`,
      ).toBe(true);
      expect(
        after.some((e) => e.type === "running" && e.data.sandbox_id === back.sandbox_id),
        `"running" on ${back.sandbox_id} after the crash in ${all}`,
      ).toBe(true);
      return back;
    };

    it("answers the same MCP session's next calls from a new sandbox", async () => {
      const conn = await install("memory");
      const client = await connectClient(conn);
      expectAnswered(
        await tryCall(client, "create_entities", {
          entities: [{ name: "Berth", entityType: "project", observations: ["before the kill"] }],
        }),
        "the call before the kill",
      );

      expect(await killThroughE2B(conn.sandbox_id)).toBe(true);
      expect(fake.sandboxIds()).not.toContain(conn.sandbox_id);

      // E2B refuses the request before it reaches the sandbox: it never reached the server, so
      // Berth redeploys and sends it to the new one.
      const first = await tryCall(client, "read_graph", {});
      expectAnswered(first, "the same session's first call after the kill");
      // A new sandbox starts with an empty /home/user: a fresh graph.
      expect(JSON.stringify(first.result)).not.toContain("before the kill");
      expectAnswered(await tryCall(client, "read_graph", {}), "the same session's second call after the kill");

      await expectRedeployed(conn, conn.sandbox_id);
    }, 150_000);

    it("answers a new MCP session's first call from a new sandbox", async () => {
      const conn = await install("memory");
      const before = await connectClient(conn);
      expectAnswered(await tryCall(before, "read_graph", {}), "the call before the kill");

      expect(await killThroughE2B(conn.sandbox_id)).toBe(true);

      const fresh = await connectClient(conn);
      expectAnswered(await tryCall(fresh, "read_graph", {}), "a new session's first call after the kill");
      expectAnswered(await tryCall(before, "read_graph", {}), "the older session's call after that");

      await expectRedeployed(conn, conn.sandbox_id);
    }, 150_000);

    it("brings the connection back by itself when the sandbox dies while nobody calls", async () => {
      const conn = await install("memory");
      const client = await connectClient(conn);
      expectAnswered(await tryCall(client, "read_graph", {}), "the call before the kill");

      expect(await killThroughE2B(conn.sandbox_id)).toBe(true);
      // Nobody calls: Berth follows its sandboxes, sees this one gone, and redeploys the keep-alive connection.
      await expectRedeployed(conn, conn.sandbox_id);

      expectAnswered(await tryCall(client, "read_graph", {}), "the same session's call after the redeploy");
      const fresh = await connectClient(conn);
      expectAnswered(await tryCall(fresh, "read_graph", {}), "a new session's call after the redeploy");
    }, 150_000);

    it("answers a call in flight when the sandbox dies with a JSON-RPC error at once, and the next call from a new sandbox", async () => {
      const conn = await install("everything");
      const client = await connectClient(conn);
      expectAnswered(await tryCall(client, "echo", { message: "before" }), "the call before the kill");

      // 30 s of work with progress every second: once progress arrives, the call is in the server.
      let progressed!: () => void;
      const inServer = new Promise<void>((r) => {
        progressed = r;
      });
      const started = Date.now();
      const inFlight = client
        .callTool({ name: "trigger-long-running-operation", arguments: { duration: 30, steps: 30 } }, undefined, {
          timeout: CALL_TIMEOUT_MS,
          onprogress: () => progressed(),
        })
        .then(
          (result) => ({ result, error: undefined, ms: Date.now() - started }),
          (error: Error) => ({ result: undefined, error, ms: Date.now() - started }),
        );
      let noProgress: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        inServer,
        new Promise((_, reject) => {
          noProgress = setTimeout(() => reject(new Error("no progress from the long call within 15 s")), 15_000);
        }),
      ]).finally(() => clearTimeout(noProgress));

      expect(await killThroughE2B(conn.sandbox_id)).toBe(true);
      const killedAt = Date.now();
      const outcome = await inFlight;
      const answeredAfter = Date.now() - killedAt;
      // It reached the server, which died with it: not retried, answered with an error, not left to time out.
      expect(outcome.result, `the call in flight got a result: ${JSON.stringify(outcome.result)}`).toBeUndefined();
      expect(outcome.error).toBeInstanceOf(McpError);
      const error = outcome.error as McpError;
      expect(error.code, `${error.message} (after ${answeredAfter} ms)`).not.toBe(ErrorCode.RequestTimeout);
      expect(error.message, "Berth's answer, not the client's own transport closing").not.toMatch(/Connection closed/i);
      expect(answeredAfter, `answered at once, not after a wait: ${error.message}`).toBeLessThan(IN_FLIGHT_ANSWER_MS);

      const next = await tryCall(client, "echo", { message: "after" });
      expectAnswered(next, "the same session's next call");
      expect(JSON.stringify(next.result)).toContain("after");
      const fresh = await connectClient(conn);
      expectAnswered(await tryCall(fresh, "echo", { message: "fresh" }), "a new session's call");

      await expectRedeployed(conn, conn.sandbox_id);
    }, 150_000);
  },
);
