import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LATEST_PROTOCOL_VERSION,
  ListRootsRequestSchema,
  ResourceUpdatedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROVIDERS } from "../lifecycle/providers";
import { api, type BerthServer, mcpInitialize, startBerth } from "../support/berth-server";
import { until } from "../support/until";

type Account = { account_id: string; api_key: string };
const run = promisify(execFile);
const INSPECTOR = path.resolve("node_modules/@modelcontextprotocol/inspector-cli/build/index.js");

/** The MCP endpoint: sessions, server→client traffic, limits, audit, resume, inspector. */
describe.each(PROVIDERS)("MCP gateway on $name", (provider) => {
  let berth: BerthServer;
  let account: Account;
  let call: ReturnType<typeof api>;
  const clients: Client[] = [];

  const install = async (server: string, extra: object = {}) => {
    const res = await call("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: server,
      ...extra,
    });
    expect(res.body.data.status).toBe("running");
    return res.body.data as { id: string; mcp_url: string; sandbox_id: string };
  };
  const connect = async (url: string, capabilities = {}) => {
    const client = new Client({ name: "gateway-test", version: "1" }, { capabilities });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: `Bearer ${account.api_key}` } },
      }),
    );
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    await provider.setup();
    berth = await startBerth({ ...provider.env(), BERTH_MCP_MAX_CONCURRENCY: "3", BERTH_RESTART_BACKOFF_MS: "600000" });
    account = (await berth.cli(["accounts", "create", "--name", "Gateway"])) as Account;
    call = api(berth.url, account.api_key);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await berth?.stop();
    await provider.teardown();
  });

  it("gives several clients their own sessions on one shared server", async () => {
    const conn = await install("memory");
    const [a, b] = await Promise.all([connect(conn.mcp_url), connect(conn.mcp_url)]);
    await a.callTool({
      name: "create_entities",
      arguments: { entities: [{ name: "shared", entityType: "t", observations: ["from a"] }] },
    });
    // One server per connection: b sees what a wrote, through its own session.
    const seen = await Promise.all(Array.from({ length: 3 }, () => b.callTool({ name: "read_graph", arguments: {} })));
    for (const r of seen) expect(JSON.stringify(r.content)).toContain("from a");
    // npx's own node process aside, exactly one memory server runs for the connection.
    const argvs = provider.commandLines(berth, conn.sandbox_id);
    const servers = argvs.filter(
      (argv) => argv[0]?.endsWith("node") && /mcp-server-memory|server-memory\/dist\/index\.js/.test(argv[1] ?? ""),
    );
    expect(servers.length, JSON.stringify(argvs)).toBe(1);
  });

  it("passes progress, sampling, elicitation and roots through, each to the client that asked", async () => {
    const conn = await install("everything");
    const client = await connect(conn.mcp_url, { sampling: {}, elicitation: {}, roots: { listChanged: true } });
    const bystander = await connect(conn.mcp_url, { sampling: {} });
    bystander.setRequestHandler(CreateMessageRequestSchema, async () => {
      throw new Error("the bystander must not be asked");
    });
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
      model: "test-model",
      role: "assistant",
      content: { type: "text", text: `sampled: ${JSON.stringify(req.params.messages[0]?.content).length}` },
    }));
    client.setRequestHandler(ElicitRequestSchema, async () => ({
      action: "accept",
      content: { name: "Ada Lovelace" },
    }));
    client.setRequestHandler(ListRootsRequestSchema, async () => ({
      roots: [{ uri: "file:///srv/agent-workspace", name: "workspace" }],
    }));

    const progress: number[] = [];
    const long = await client.callTool(
      { name: "trigger-long-running-operation", arguments: { duration: 0.6, steps: 3 } },
      undefined,
      { onprogress: (p) => progress.push(p.progress) },
    );
    expect(JSON.stringify(long.content)).toContain("completed");
    expect(progress).toEqual([1, 2, 3]);

    await bystander.callTool({ name: "echo", arguments: { message: "hi" } }); // the bystander spoke last
    const sampled = await client.callTool({
      name: "trigger-sampling-request",
      arguments: { prompt: "hello", maxTokens: 5 },
    });
    expect(JSON.stringify(sampled.content)).toContain("sampled:");
    const elicited = await client.callTool({ name: "trigger-elicitation-request", arguments: {} });
    expect(JSON.stringify(elicited.content)).toContain("Ada Lovelace");
    const roots = await client.callTool({ name: "get-roots-list", arguments: {} });
    expect(JSON.stringify(roots.content)).toContain("file:///srv/agent-workspace");
  });

  it("keeps resource subscriptions apart: each client hears only about what it subscribed to", async () => {
    const conn = await install("everything");
    const [a, b] = await Promise.all([connect(conn.mcp_url), connect(conn.mcp_url)]);
    const [x, y] = (await a.listResources()).resources.map((r) => r.uri) as [string, string];
    const heard = { a: [] as string[], b: [] as string[] };
    a.setNotificationHandler(ResourceUpdatedNotificationSchema, async (n) => void heard.a.push(n.params.uri));
    b.setNotificationHandler(ResourceUpdatedNotificationSchema, async (n) => void heard.b.push(n.params.uri));
    await a.subscribeResource({ uri: x });
    await b.subscribeResource({ uri: y });
    await b.subscribeResource({ uri: x });
    // The server sends one update per subscribed URI at once when the updates are switched on.
    await a.callTool({ name: "toggle-subscriber-updates", arguments: {} });
    await until("both clients' updates", async () => (heard.a.length && heard.b.length >= 2 ? true : undefined));
    expect(heard.a).toEqual([x]);
    expect(heard.b.sort()).toEqual([x, y].sort());

    // a leaves x; b still holds it, so the server keeps sending it, to b only.
    await a.unsubscribeResource({ uri: x });
    heard.a.length = 0;
    heard.b.length = 0;
    await a.callTool({ name: "toggle-subscriber-updates", arguments: {} }); // off
    await a.callTool({ name: "toggle-subscriber-updates", arguments: {} }); // on again: sends at once
    await until("b's updates", async () => (heard.b.length >= 2 ? true : undefined));
    expect(heard.b.sort()).toEqual([x, y].sort());
    expect(heard.a).toEqual([]);
  });

  it("lets a client that lost a stream resume it with Last-Event-ID, missing nothing", async () => {
    const conn = await install("everything");
    const client = await connect(conn.mcp_url);
    const sid = (client.transport as StreamableHTTPClientTransport).sessionId as string;
    const headers = {
      authorization: `Bearer ${account.api_key}`,
      "mcp-session-id": sid,
      "mcp-protocol-version": LATEST_PROTOCOL_VERSION,
    };
    const aborted = new AbortController();
    const post = await fetch(conn.mcp_url, {
      method: "POST",
      signal: aborted.signal,
      headers: { ...headers, "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: "long-1",
        method: "tools/call",
        params: {
          name: "trigger-long-running-operation",
          arguments: { duration: 1.2, steps: 4 },
          _meta: { progressToken: "resume-me" },
        },
      }),
    });
    expect(post.headers.get("content-type")).toContain("text/event-stream");
    const first = (await readSse(post, () => true))[0];
    expect(first?.data.params.progress).toBe(1);
    aborted.abort(); // the connection drops after the first progress event

    const resumed = await fetch(conn.mcp_url, {
      headers: { ...headers, accept: "text/event-stream", "last-event-id": String(first?.id) },
    });
    expect(resumed.status).toBe(200);
    const rest = await readSse(resumed, (e) => e.data.id === "long-1");
    expect(rest.slice(0, -1).map((e) => e.data.params.progress)).toEqual([2, 3, 4]);
    expect(JSON.stringify(rest.at(-1)?.data.result)).toContain("Long running operation completed");
    expect(rest.map((e) => e.id)).toEqual([...rest.map((e) => e.id)].sort((a, b) => a - b));
  });

  it("negotiates the protocol version per client and holds each session to its own", async () => {
    const conn = await install("memory");
    const initialize = (version: string) =>
      call(
        "POST",
        `/api/mcp/${conn.id}`,
        {
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: { protocolVersion: version, capabilities: {}, clientInfo: { name: "old", version: "1" } },
        },
        { accept: "application/json, text/event-stream" },
      );
    const body = (res: { text: string; body: unknown }) =>
      (res.body ??
        JSON.parse(
          res.text
            .split("\n")
            .find((l) => l.startsWith("data: "))
            ?.slice(6) ?? "{}",
        )) as {
        result?: { protocolVersion: string; serverInfo: { name: string } };
      };
    const old = await initialize("2025-03-26");
    expect(body(old).result?.protocolVersion).toBe("2025-03-26");
    expect(body(old).result?.serverInfo.name).toBe("memory-server");
    const unknown = await initialize("1999-01-01");
    expect(body(unknown).result?.protocolVersion).toBe(LATEST_PROTOCOL_VERSION);

    const session = old.headers.get("mcp-session-id") as string;
    const ask = (version?: string) =>
      call(
        "POST",
        `/api/mcp/${conn.id}`,
        { jsonrpc: "2.0", id: 2, method: "tools/list" },
        {
          accept: "application/json, text/event-stream",
          "mcp-session-id": session,
          ...(version ? { "mcp-protocol-version": version } : {}),
        },
      );
    expect((await ask("2025-03-26")).status).toBe(200);
    expect((await ask()).status).toBe(200);
    const other = await ask(LATEST_PROTOCOL_VERSION);
    expect(other.status).toBe(400);
    expect(other.body.error.message).toMatch(/negotiated MCP 2025-03-26/);
    const unsupported = await ask("1999-01-01");
    expect(unsupported.status).toBe(400);
    expect(unsupported.body.error.message).toMatch(/Unsupported MCP-Protocol-Version 1999-01-01/);
    // A session on the latest version takes an older one the spec knows (as the conformance
    // suite's raw requests send), and checks GET streams the same way.
    const latest = (await initialize(LATEST_PROTOCOL_VERSION)).headers.get("mcp-session-id") as string;
    const asLatest = (method: "POST" | "GET", version: string) =>
      fetch(`${berth.url}/api/mcp/${conn.id}`, {
        method,
        headers: {
          authorization: `Bearer ${account.api_key}`,
          accept: method === "GET" ? "text/event-stream" : "application/json, text/event-stream",
          "content-type": "application/json",
          "mcp-session-id": latest,
          "mcp-protocol-version": version,
        },
        body: method === "POST" ? JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/list" }) : undefined,
        signal: AbortSignal.timeout(10_000),
      });
    const older = await asLatest("POST", "2025-03-26");
    expect(older.status).toBe(200);
    await older.body?.cancel();
    const badGet = await asLatest("GET", "1999-01-01");
    expect(badGet.status).toBe(400);
    await badGet.body?.cancel();
    // A current client through the SDK gets the latest.
    const client = await connect(conn.mcp_url);
    expect(client.getServerVersion()?.name).toBe("memory-server");
  });

  it("ends a session on DELETE; the session id is then unknown", async () => {
    const conn = await install("memory");
    const transport = new StreamableHTTPClientTransport(new URL(conn.mcp_url), {
      requestInit: { headers: { authorization: `Bearer ${account.api_key}` } },
    });
    const client = new Client({ name: "t", version: "1" });
    await client.connect(transport);
    const sid = transport.sessionId as string;
    await transport.terminateSession();
    const res = await call(
      "POST",
      `/api/mcp/${conn.id}`,
      { jsonrpc: "2.0", id: 2, method: "tools/list" },
      {
        "mcp-session-id": sid,
        accept: "application/json, text/event-stream",
      },
    );
    expect(res.status).toBe(404);
    await client.close();
  });

  it("answers 429 with Retry-After past the per-connection concurrency limit", async () => {
    const conn = await install("everything");
    const client = await connect(conn.mcp_url);
    const sid = (client.transport as StreamableHTTPClientTransport).sessionId as string;
    const slow = (i: number) =>
      call(
        "POST",
        `/api/mcp/${conn.id}`,
        {
          jsonrpc: "2.0",
          id: 100 + i,
          method: "tools/call",
          params: { name: "trigger-long-running-operation", arguments: { duration: 1, steps: 1 } },
        },
        {
          "mcp-session-id": sid,
          "mcp-protocol-version": LATEST_PROTOCOL_VERSION,
          accept: "application/json, text/event-stream",
        },
      );
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => slow(i)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200).length).toBe(3);
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBe(3);
    expect(limited[0]?.headers.get("retry-after")).toBe("1");
    expect(limited[0]?.body.error.code).toBe("too_many_requests");
  });

  it("audits each tool call as an event without its arguments, with counts and p50 on the connection", async () => {
    const conn = await install("everything");
    const client = await connect(conn.mcp_url);
    const secret = "do-not-store-this-argument-value";
    for (let i = 0; i < 3; i++) await client.callTool({ name: "echo", arguments: { message: secret } });
    await client.callTool({ name: "no-such-tool", arguments: { x: secret } }).catch(() => {});
    const events = await until("the audit events", async () => {
      const list = (await call("GET", `/api/mcp-connections/${conn.id}/events`)).body.data;
      return list.filter((e: { type: string }) => e.type === "tool_call").length >= 4 ? list : undefined;
    });
    const calls = events.filter((e: { type: string }) => e.type === "tool_call");
    expect(JSON.stringify(events)).not.toContain(secret);
    expect(calls.filter((e: { data: { tool: string } }) => e.data.tool === "echo").length).toBe(3);
    const echo = calls.find((e: { data: { tool: string } }) => e.data.tool === "echo");
    expect(echo.data).toMatchObject({ outcome: "ok", duration_ms: expect.any(Number) });
    expect(echo.data.request_bytes).toBeGreaterThan(secret.length);
    expect(echo.data.response_bytes).toBeGreaterThan(secret.length);
    expect(calls.find((e: { data: { tool: string } }) => e.data.tool === "no-such-tool").data.outcome).not.toBe("ok");
    const stats = (await call("GET", `/api/mcp-connections/${conn.id}`)).body.data.tool_calls;
    expect(stats.count).toBe(4);
    expect(stats.errors).toBe(1);
    expect(stats.p50_ms).toBeGreaterThan(0);
  });

  it("answers a client whose server vanished at once, and a keep-alive connection comes back on the next request", async () => {
    const conn = await install("everything", { keep_alive: true });
    const client = await connect(conn.mcp_url);
    const pending = client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 30, steps: 1 } });
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    for (const pid of provider.processes(berth, conn.sandbox_id)) process.kill(pid, "SIGKILL");
    await expect(pending).rejects.toThrow(/exited|stopped|not running/);
    expect(Date.now() - started).toBeLessThan(3000);
    // Crash restarts back off for 10 minutes here, so only the request itself can bring it back.
    const echoed = await client.callTool({ name: "echo", arguments: { message: "back" } });
    expect(JSON.stringify(echoed.content)).toContain("back");
    const now = (await call("GET", `/api/mcp-connections/${conn.id}`)).body.data;
    expect(now.status).toBe("running");
    expect(now.sandbox_id).not.toBe(conn.sandbox_id);
    const events = (await call("GET", `/api/mcp-connections/${conn.id}/events`)).body.data;
    expect(events).toContainEqual(
      expect.objectContaining({ type: "restarted", data: expect.objectContaining({ reason: "resumed_by_request" }) }),
    );
  });

  it("keeps a connection without keep_alive down: 409 connection_not_running", async () => {
    const conn = await install("memory", { keep_alive: false });
    for (const pid of provider.processes(berth, conn.sandbox_id)) process.kill(pid, "SIGKILL");
    await until("the crash to be recorded", async () =>
      (await call("GET", `/api/mcp-connections/${conn.id}`)).body.data.status === "failed" ? true : undefined,
    );
    const res = await mcpInitialize(call, conn.id);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("connection_not_running");
  });

  it("serves the inspector API and client configs", async () => {
    const conn = await install("everything");
    const tools = (await call("GET", `/api/mcp-connections/${conn.id}/tools`)).body.data;
    expect(tools.map((t: { name: string }) => t.name)).toContain("echo");
    expect(tools.find((t: { name: string }) => t.name === "echo").inputSchema).toBeDefined();
    expect((await call("GET", `/api/mcp-connections/${conn.id}/resources`)).body.data.length).toBeGreaterThan(0);
    expect((await call("GET", `/api/mcp-connections/${conn.id}/prompts`)).body.data.length).toBeGreaterThan(0);
    const echoed = await call("POST", `/api/mcp-connections/${conn.id}/tools/call`, {
      name: "echo",
      arguments: { message: "inspect" },
    });
    expect(echoed.status).toBe(200);
    expect(JSON.stringify(echoed.body.data.content)).toContain("inspect");
    const memory = await install("memory");
    expect((await call("GET", `/api/mcp-connections/${memory.id}/prompts`)).body.data).toEqual([]);
    const config = (await call("GET", `/api/mcp-connections/${conn.id}/client-config`)).body.data;
    expect(config.url).toBe(conn.mcp_url);
    expect(config.mcpServers.everything).toMatchObject({ type: "http", url: conn.mcp_url });
    expect(config.headers.Authorization).toMatch(/^Bearer </);
    expect((await call("POST", `/api/mcp-connections/${conn.id}/tools/call`, { arguments: {} })).status).toBe(400);
  });

  it("works with the MCP Inspector's CLI", async () => {
    const conn = await install("everything");
    const inspector = (args: string[]) =>
      run(
        process.execPath,
        [
          INSPECTOR,
          conn.mcp_url,
          "--transport",
          "http",
          "--header",
          `Authorization: Bearer ${account.api_key}`,
          ...args,
        ],
        // inspector-cli 1.0.3 finds its own package.json relative to the working directory.
        { timeout: 60_000, cwd: path.dirname(INSPECTOR) },
      );
    const listed = JSON.parse((await inspector(["--method", "tools/list"])).stdout);
    expect(listed.tools.map((t: { name: string }) => t.name)).toContain("echo");
    const echoed = JSON.parse(
      (await inspector(["--method", "tools/call", "--tool-name", "echo", "--tool-arg", "message=from-inspector"]))
        .stdout,
    );
    expect(JSON.stringify(echoed.content)).toContain("from-inspector");

    // Progress goes to the CLI's own POST, which turns into an SSE stream that ends with the answer.
    const long = JSON.parse(
      (
        await inspector([
          "--method",
          "tools/call",
          "--tool-name",
          "trigger-long-running-operation",
          "--tool-arg",
          "duration=0.6",
          "steps=3",
          "--tool-metadata",
          "progressToken=cli-progress",
        ])
      ).stdout,
    );
    expect(JSON.stringify(long.content)).toContain("Long running operation completed");
    // The CLI declares neither sampling nor elicitation: Berth does not ask it, and the tool says why.
    for (const tool of ["trigger-sampling-request", "trigger-elicitation-request"]) {
      const args = tool === "trigger-sampling-request" ? ["--tool-arg", "prompt=hi"] : [];
      const answer = JSON.parse((await inspector(["--method", "tools/call", "--tool-name", tool, ...args])).stdout);
      expect(answer.isError, tool).toBe(true);
      expect(JSON.stringify(answer.content)).toMatch(/does not support (sampling|elicitation)/);
    }
    // Tool calls are audited once a second, so wait for the last one.
    const audited = await until("the CLI's calls in the audit log", async () => {
      const events = (await call("GET", `/api/mcp-connections/${conn.id}/events`)).body.data;
      const tools = events
        .filter((e: { type: string }) => e.type === "tool_call")
        .map((e: { data: { tool: string } }) => e.data.tool);
      return tools.includes("trigger-elicitation-request") ? tools : undefined;
    });
    expect(audited).toEqual(expect.arrayContaining(["echo", "trigger-long-running-operation"]));
  });

  it("answers 404 to other accounts on the MCP endpoint, even with a live session id, and limits body size", async () => {
    const conn = await install("memory");
    const client = await connect(conn.mcp_url);
    const sid = (client.transport as StreamableHTTPClientTransport).sessionId as string;
    const stranger = (await berth.cli(["accounts", "create", "--name", "Stranger"])) as Account;
    const theirs = api(berth.url, stranger.api_key);
    const headers = { accept: "application/json, text/event-stream", "mcp-protocol-version": LATEST_PROTOCOL_VERSION };
    const list = { jsonrpc: "2.0", id: 9, method: "tools/list" };
    const answers = [
      await mcpInitialize(theirs, conn.id),
      await theirs("POST", `/api/mcp/${conn.id}`, list, { ...headers, "mcp-session-id": sid }),
      await theirs("GET", `/api/mcp/${conn.id}`, undefined, { accept: "text/event-stream", "mcp-session-id": sid }),
      await theirs("DELETE", `/api/mcp/${conn.id}`, undefined, { "mcp-session-id": sid }),
    ];
    for (const res of answers) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("not_found");
    }
    // The owner's session is untouched by all that.
    expect((await client.listTools()).tools.map((t) => t.name)).toContain("read_graph");
    // A session id is only good on the connection it was opened on, even within the account.
    const other = await install("memory");
    const crossed = await call("POST", `/api/mcp/${other.id}`, list, { ...headers, "mcp-session-id": sid });
    expect(crossed.status).toBe(404);

    const tooBig = { ...list, params: { padding: "x".repeat(4 * 1024 * 1024) } };
    const big = await call("POST", `/api/mcp/${conn.id}`, tooBig, { ...headers, "mcp-session-id": sid });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe("payload_too_large");
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  });
});

type SseEvent = { id: number; data: any };

/** Reads SSE events from a response until `last` matches one (then stops reading). */
async function readSse(res: Response, last: (e: SseEvent) => boolean): Promise<SseEvent[]> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return events;
    buffer += decoder.decode(value, { stream: true });
    for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
      const lines = buffer.slice(0, end).split("\n");
      buffer = buffer.slice(end + 2);
      const field = (name: string) => lines.find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
      const event = { id: Number(field("id")), data: JSON.parse(field("data") ?? "null") };
      events.push(event);
      if (last(event)) {
        await reader.cancel();
        return events;
      }
    }
  }
}
