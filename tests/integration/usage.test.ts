import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BerthServer, newAccount, startBerth } from "../support/berth-server";
import { until } from "../support/until";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("GET /api/usage", () => {
  let berth: BerthServer;
  let account: Awaited<ReturnType<typeof newAccount>>;
  let other: Awaited<ReturnType<typeof newAccount>>;
  let periodStart: string;

  const usage = async (query = "") => {
    const res = await account.call("GET", `/api/usage?from=${periodStart}${query}`);
    expect(res.status).toBe(200);
    return res.body.data;
  };
  const status = async (id: string) => (await account.call("GET", `/api/mcp-connections/${id}`)).body.data.status;
  const install = async () => {
    const res = await account.call("POST", "/api/mcp-connections/install", {
      account_id: account.accountId,
      server_id: "memory",
    });
    expect(res.body.data.status).toBe("running");
    return res.body.data.id as string;
  };
  const callTools = async (id: string, n: number) => {
    const client = new Client({ name: "usage-test", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${berth.url}/api/mcp/${id}`), {
        requestInit: { headers: { authorization: `Bearer ${account.key}` } },
      }),
    );
    for (let i = 0; i < n; i++) await client.callTool({ name: "read_graph", arguments: {} });
    await client.close();
  };

  beforeAll(async () => {
    berth = await startBerth({ BERTH_MAINTENANCE_INTERVAL_MS: "200", BERTH_IDLE_SLEEP_SECONDS: "3" });
    account = await newAccount(berth, "Billed");
    other = await newAccount(berth, "Other");
    periodStart = new Date(Date.now() - 1000).toISOString();
  });
  afterAll(async () => {
    await berth?.stop();
  });

  it("counts a running connection's sandbox-seconds up to now and its tool calls, per connection", async () => {
    const t0 = Date.now();
    const id = await install();
    await callTools(id, 5);
    // Tool calls are recorded in batches, about once a second.
    const data = await until("the tool calls to be recorded", async () => {
      const u = await usage();
      return u.tool_calls === 5 ? u : undefined;
    });
    const elapsed = (Date.now() - t0) / 1000;
    expect(data.account_id).toBe(account.accountId);
    expect(data.connections).toEqual([
      expect.objectContaining({ connection_id: id, server_slug: "memory", tool_calls: 5, tool_errors: 0 }),
    ]);
    expect(data.sandbox_seconds).toBeGreaterThan(0);
    expect(data.sandbox_seconds).toBeLessThanOrEqual(elapsed + 1);
    await sleep(1000);
    expect((await usage()).sandbox_seconds).toBeGreaterThan(data.sandbox_seconds + 0.5); // still running: it grows

    // A period that ended before the install counts nothing.
    const earlier = await account.call("GET", `/api/usage?from=${periodStart}&to=${new Date(t0 - 10).toISOString()}`);
    expect(earlier.body.data).toMatchObject({ sandbox_seconds: 0, tool_calls: 0, connections: [] });
  });

  it("stops counting while a connection sleeps, and after it is deleted (which it still lists)", async () => {
    const [conn] = (await usage()).connections;
    await until("the connection to sleep", async () =>
      (await status(conn.connection_id)) === "sleeping" ? true : undefined,
    );
    const asleep = await usage();
    await sleep(1500);
    expect((await usage()).sandbox_seconds).toBe(asleep.sandbox_seconds);

    await callTools(conn.connection_id, 1); // wakes it: it counts again
    await sleep(1000);
    const awake = await usage();
    expect(awake.sandbox_seconds).toBeGreaterThan(asleep.sandbox_seconds + 0.5);

    expect((await account.call("DELETE", `/api/mcp-connections/${conn.connection_id}`)).status).toBe(200);
    const deleted = await usage();
    await sleep(1000);
    const later = await usage();
    expect(later.sandbox_seconds).toBe(deleted.sandbox_seconds);
    expect(later.connections.map((c: { connection_id: string }) => c.connection_id)).toContain(conn.connection_id);
    expect(later.tool_calls).toBe(6);
  });

  it("meters one-off sandbox-runs by their duration", async () => {
    const before = await usage();
    const run = await account.call("POST", "/api/sandbox-runs", {
      account_id: account.accountId,
      command: ["node", "-e", "setTimeout(() => {}, 500)"],
    });
    expect(run.status).toBe(200);
    const after = await usage();
    const added = after.one_off.sandbox_seconds - before.one_off.sandbox_seconds;
    expect(added).toBeCloseTo(run.body.data.duration_ms / 1000, 2);
    expect(after.sandbox_seconds - before.sandbox_seconds).toBeCloseTo(added, 2);
  });

  it("is the account's own: another account's id is 404, its usage its own; bad periods are 400", async () => {
    const theirs = await other.call("GET", "/api/usage");
    expect(theirs.status).toBe(200);
    expect(theirs.body.data).toMatchObject({ account_id: other.accountId, sandbox_seconds: 0, tool_calls: 0 });
    const mixed = await account.call("GET", `/api/usage?account_id=${other.accountId}`);
    expect(mixed.status).toBe(404);
    expect(mixed.body.error.code).toBe("not_found");
    expect((await account.call("GET", `/api/usage?account_id=${account.accountId}`)).status).toBe(200);

    for (const [query, path] of [
      ["from=yesterday", "from"],
      ["from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", "to"],
      ["from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"],
      ["from=2999-01-01T00:00:00Z", "from"],
      ["nonsense=1", "nonsense"],
    ]) {
      const res = await account.call("GET", `/api/usage?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe("bad_request");
      expect(res.body.error.details[0].path).toBe(path);
    }
    expect((await fetch(`${berth.url}/api/usage`)).status).toBe(401);
  });
});
