import fs from "node:fs";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type BerthServer, processesIn, startBerth } from "../support/berth-server";

/** The Foundation's thin path through every layer: REST install → MCP calls → delete, on a real server. */
describe("install memory, call it through /api/mcp/:id, delete it", () => {
  let berth: BerthServer;
  let account: { account_id: string; api_key: string };

  beforeAll(async () => {
    berth = await startBerth();
    // The CLI runs while the server runs (embedded PGlite): it goes through the server's socket.
    account = (await berth.cli(["accounts", "create", "--name", "Skeleton"])) as typeof account;
  });
  afterAll(async () => {
    await berth?.stop();
  });

  it("works end to end", async () => {
    const call = api(berth.url, account.api_key);
    const installed = await call("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: "memory",
      name: "Team memory",
    });
    expect(installed.status).toBe(201);
    const conn = installed.body.data;
    expect(conn).toMatchObject({
      status: "running",
      server_slug: "memory",
      name: "Team memory",
      provider: "local",
      isolated: true,
    });
    expect(conn.mcp_url).toMatch(new RegExp(`/api/mcp/${conn.id}$`));
    expect(JSON.stringify(installed.body)).not.toMatch(/credentials/);

    const sandboxHome = path.join(berth.dataDir, "sandboxes", conn.sandbox_id);
    expect(processesIn(sandboxHome).length).toBeGreaterThan(0);

    const client = new Client({ name: "skeleton-test", version: "1.0.0" });
    const transport = new StreamableHTTPClientTransport(new URL(`${berth.url}/api/mcp/${conn.id}`), {
      requestInit: { headers: { authorization: `Bearer ${account.api_key}` } },
    });
    await client.connect(transport);
    expect(client.getServerVersion()?.name).toBe("memory-server");
    const created = await client.callTool({
      name: "create_entities",
      arguments: { entities: [{ name: "Berth", entityType: "project", observations: ["runs MCP servers"] }] },
    });
    expect(created.isError).toBeFalsy();
    const graph = await client.callTool({ name: "read_graph", arguments: {} });
    expect(JSON.stringify(graph.content)).toContain("runs MCP servers");
    await transport.terminateSession();
    await client.close();

    const listed = await call("GET", `/api/mcp-connections?account_id=${account.account_id}`);
    expect(listed.body.data.map((c: { id: string }) => c.id)).toEqual([conn.id]);

    const deleted = await call("DELETE", `/api/mcp-connections/${conn.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body.data.status).toBe("deleted");
    expect(processesIn(sandboxHome)).toEqual([]);
    expect((await call("GET", `/api/mcp-connections/${conn.id}`)).status).toBe(404);
    expect((await call("GET", `/api/mcp-connections/${conn.id}/events`)).status).toBe(404);
    expect((await call("GET", "/api/mcp-connections")).body.data).toEqual([]);
  });

  it("keeps each connection's memory apart", async () => {
    const call = api(berth.url, account.api_key);
    const install = () =>
      call("POST", "/api/mcp-connections/install", { account_id: account.account_id, server_id: "memory" });
    const [a, b] = [(await install()).body.data, (await install()).body.data];
    const clientFor = async (id: string) => {
      const client = new Client({ name: "t", version: "1" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${berth.url}/api/mcp/${id}`), {
          requestInit: { headers: { authorization: `Bearer ${account.api_key}` } },
        }),
      );
      return client;
    };
    const ca = await clientFor(a.id);
    const cb = await clientFor(b.id);
    await ca.callTool({
      name: "create_entities",
      arguments: { entities: [{ name: "only-in-a", entityType: "x", observations: [] }] },
    });
    expect(JSON.stringify((await cb.callTool({ name: "read_graph", arguments: {} })).content)).not.toContain(
      "only-in-a",
    );
    expect(JSON.stringify((await ca.callTool({ name: "read_graph", arguments: {} })).content)).toContain("only-in-a");
    await Promise.all([ca.close(), cb.close()]);
    await call("DELETE", `/api/mcp-connections/${a.id}`);
    await call("DELETE", `/api/mcp-connections/${b.id}`);
  });

  it("records a server that fails to start as failed, with its stderr", async () => {
    const call = api(berth.url, account.api_key);
    const file = path.join(berth.dataDir, "broken.json");
    const start_command = `node -e "console.error('boom: no config'); process.exit(3)"`;
    fs.writeFileSync(file, JSON.stringify({ slug: "broken", title: "Broken", start_command }));
    const added = (await berth.cli(["servers", "add", "--file", file])) as { id: string; slug: string };
    expect(added.slug).toBe("broken");
    const res = await call("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: "broken",
    });
    expect(res.status).toBe(201);
    expect(res.body.data.status).toBe("failed");
    expect(res.body.data.last_error).toContain("boom: no config");
    const events = (await call("GET", `/api/mcp-connections/${res.body.data.id}/events`)).body.data;
    expect(events.map((e: { type: string }) => e.type)).toEqual(["failed", "deploying", "installed"]);
  });

  it("dry-runs a server without storing anything, and reports a failing one with its stderr", async () => {
    const call = api(berth.url, account.api_key);
    const before = (await call("GET", "/api/mcp-connections")).body.data.length;
    const ok = await call("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: "memory",
      dry_run: true,
    });
    expect(ok.status).toBe(200);
    expect(ok.body.data.ok).toBe(true);
    expect(ok.body.data.tools).toContainEqual({ name: "read_graph", description: expect.any(String) });
    const secret = "brave-secret-value-42";
    const bad = await call("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: "broken",
      dry_run: true,
      credentials: {},
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe("dry_run_failed");
    expect(bad.body.error.details.stderr).toContain("boom: no config");
    const brave = await call("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: "brave-search",
      dry_run: true,
      credentials: { BRAVE_API_KEY: secret },
    });
    // Its credential check searches the web: here, offline, with a made-up key, it fails, and says
    // so without the key.
    expect(brave.status).toBe(422);
    expect(brave.body.error.code).toBe("dry_run_failed");
    expect(brave.body.error.details.check).toMatchObject({ tool: "brave_web_search", ok: false });
    expect(brave.text).not.toContain(secret);
    expect((await call("GET", "/api/mcp-connections")).body.data.length).toBe(before);
  });

  it("starts the credentialed servers with their credentials, and never returns them", async () => {
    const call = api(berth.url, account.api_key);
    const secret = "xoxb-super-secret-value-123";
    const res = await call("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: "slack",
      credentials: { SLACK_BOT_TOKEN: secret, SLACK_TEAM_ID: "T0001" },
    });
    expect(res.status).toBe(201);
    expect(res.body.data.status).toBe("running");
    const everything = [
      res.text,
      (await call("GET", `/api/mcp-connections/${res.body.data.id}`)).text,
      (await call("GET", `/api/mcp-connections/${res.body.data.id}/events`)).text,
      (await call("GET", "/api/mcp-connections")).text,
      berth.output(),
    ].join("\n");
    expect(everything).not.toContain(secret);
    for (const slug of ["github", "brave-search"]) {
      const credentials =
        slug === "github" ? { GITHUB_PERSONAL_ACCESS_TOKEN: "ghp_test" } : { BRAVE_API_KEY: "test-key" };
      const r = await call("POST", "/api/mcp-connections/install", {
        account_id: account.account_id,
        server_id: slug,
        credentials,
      });
      expect([slug, r.body.data.status]).toEqual([slug, "running"]);
    }
  });
});
