import { execFile } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROVIDERS } from "../lifecycle/providers";
import { api, type BerthServer, freePort, startBerth } from "../support/berth-server";
import { tempDir } from "../support/temp-dirs";
import { until } from "../support/until";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");

/**
 * Servers that speak Streamable HTTP themselves (`"transport": "streamable-http"`): Berth starts
 * them in the sandbox and gateways to their port. Locally the port lives in the sandbox's own
 * network namespace, behind a bridge on the sandbox's stdio; on E2B it is the sandbox's port URL.
 */
describe.each(PROVIDERS)("servers that serve Streamable HTTP, on $name", (provider) => {
  let berth: BerthServer;
  let call: ReturnType<typeof api>;
  let accountId: string;
  let key: string;
  let port: number;

  /** Adds a definition with the CLI (a file, as an operator would). */
  async function addServer(definition: object) {
    const file = path.join(tempDir("berth-def-"), "server.json");
    fs.writeFileSync(file, JSON.stringify(definition));
    return berth.cli(["servers", "add", "--file", file]);
  }
  const install = (server: string) =>
    call("POST", "/api/mcp-connections/install", { account_id: accountId, server_id: server });

  beforeAll(async () => {
    await provider.setup();
    berth = await startBerth(provider.env());
    const account = (await berth.cli(["accounts", "create", "--name", "Http"])) as {
      account_id: string;
      api_key: string;
    };
    accountId = account.account_id;
    key = account.api_key;
    call = api(berth.url, key);
    // A port the host has free: the test checks the server's port is not reachable from here.
    port = await freePort();
    await addServer({
      slug: "everything-on-a-port",
      title: "Everything on a port",
      start_command: "npx -y @modelcontextprotocol/server-everything@2026.8.31 streamableHttp",
      transport: "streamable-http",
      port,
    });
  }, 120_000);
  afterAll(async () => {
    await berth?.stop();
    await provider.teardown();
  });

  it("two connections of one server on one port each run, each reached only through Berth", async () => {
    const [a, b] = await Promise.all([install("everything-on-a-port"), install("everything-on-a-port")]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect([a.body.data.status, b.body.data.status]).toEqual(["running", "running"]);
    for (const conn of [a, b]) {
      const client = new Client({ name: "http-test", version: "1" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(conn.body.data.mcp_url), {
          requestInit: { headers: { authorization: `Bearer ${key}` } },
        }),
      );
      const echoed = (await client.callTool({ name: "echo", arguments: { message: conn.body.data.id } })) as {
        content: { text: string }[];
      };
      expect(echoed.content[0]?.text).toContain(conn.body.data.id);
      await client.close();
      // Audited like any server's calls.
      await until("the tool call's event", async () => {
        const events = await call("GET", `/api/mcp-connections/${conn.body.data.id}/events`);
        return events.body.data.some((e: { type: string }) => e.type === "tool_call") || undefined;
      });
    }
    if (provider.name === "local") {
      // The port is the sandbox's own: nothing listens on it on the host.
      const reached = await new Promise<boolean>((resolve) => {
        const socket = net.connect(port, "127.0.0.1");
        socket.once("connect", () => resolve(socket.destroy() !== undefined));
        socket.once("error", () => resolve(false));
      });
      expect(reached).toBe(false);
      const lines = provider.commandLines(berth, a.body.data.sandbox_id).map((argv) => argv.join(" "));
      expect(lines.some((l) => l.includes("http-bridge.mjs") && l.includes(String(port)))).toBe(true);
    }
    for (const conn of [a, b]) await call("DELETE", `/api/mcp-connections/${conn.body.data.id}`);
  });

  it("a dry run lists the tools of an HTTP server", async () => {
    const res = await call("POST", "/api/mcp-connections/install", {
      account_id: accountId,
      server_id: "everything-http",
      dry_run: true,
    });
    expect(res.status).toBe(200);
    expect(res.body.data.tools.map((t: { name: string }) => t.name)).toContain("echo");
  });

  it("an HTTP server that exits before it listens fails the install with its stderr", async () => {
    await addServer({
      slug: "http-crashes",
      title: "HTTP server that crashes",
      start_command: "node -e \"console.error('cannot bind: no config'); process.exit(3)\"",
      transport: "streamable-http",
      port: 8123,
    });
    const res = await install("http-crashes");
    const conn = res.body.data ?? (await call("GET", "/api/mcp-connections")).body.data[0];
    const final = (await call("GET", `/api/mcp-connections/${conn.id}`)).body.data;
    expect(final.status).toBe("failed");
    expect(final.last_error).toMatch(/exited|code 3/);
    const events = (await call("GET", `/api/mcp-connections/${conn.id}/events`)).body.data;
    expect(JSON.stringify(events)).toContain("cannot bind: no config");
  });
});

describe("server definitions: transport", () => {
  it.each([
    [{ transport: "streamable-http" }, "port", "needs the port"],
    [{ port: 3000 }, "port", "Only for a streamable-http server"],
    [{ transport: "streamable-http", port: 3000, path: "mcp" }, "path", "starting with /"],
    [{ transport: "streamable-http", port: 70000 }, "port", ""],
    [{ transport: "sse", port: 3000 }, "transport", ""],
  ])("%j is refused, naming the field", async (extra, field, message) => {
    const dir = tempDir("berth-def-");
    const file = path.join(dir, "server.json");
    fs.writeFileSync(file, JSON.stringify({ slug: "bad", title: "Bad", start_command: "node x.js", ...extra }));
    const failed = await run(
      process.execPath,
      [path.join(ROOT, "bin/berth.mjs"), "servers", "add", "--file", file, "--json"],
      {
        cwd: ROOT,
        env: { ...process.env, BERTH_DATA_DIR: dir },
      },
    ).then(
      () => undefined,
      (err: { stdout: string; stderr: string }) => `${err.stdout}${err.stderr}`,
    );
    expect(failed).toContain(field);
    expect(failed).toContain(message);
  });
});
