import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeE2B } from "../fakes/e2b-server";
import { api, type BerthServer, startBerth } from "../support/berth-server";
import { createPostgresDatabase } from "../support/databases";
import { expectUniformTimeline } from "../support/timeline";
import { until } from "../support/until";

/**
 * Several Berth instances on one PostgreSQL, sandboxes on E2B (the real SDK against the fake):
 * any instance answers for any connection. Installed on one, called through another, extended on
 * a third, put to sleep by the one hosting it and woken by a request to yet another; an instance
 * killed mid-run loses nothing: its connections are taken over by the next request elsewhere.
 */

const support = FakeE2B.supported();
if (!support.ok) console.log(`[instances] skipped: ${support.reason}`);

type Account = { account_id: string; api_key: string };
type Conn = { id: string; status: string; sandbox_id: string | null; mcp_url: string; expires_at: string };
type Event = { type: string; data: Record<string, unknown> };

const KEYS = `k1:${Buffer.alloc(32, 9).toString("base64")}`;
const IDLE_SECONDS = 3;

type Entity = { name: string; entityType: string; observations: string[] };
const entity = (name: string): Entity => ({ name, entityType: "test", observations: [] });

describe.runIf(support.ok)("three Berth instances on one PostgreSQL, E2B sandboxes", () => {
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let fake: FakeE2B;
  let instances: BerthServer[] = [];
  let account: Account;
  let sql: pg.Client;

  beforeAll(async () => {
    db = await createPostgresDatabase();
    fake = await FakeE2B.start();
    const env = {
      ...fake.berthEnv(),
      DATABASE_URL: db.url,
      BERTH_ENCRYPTION_KEYS: KEYS,
      BERTH_MAINTENANCE_INTERVAL_MS: "200",
      BERTH_IDLE_SLEEP_SECONDS: String(IDLE_SECONDS),
    };
    instances = await Promise.all([startBerth(env), startBerth(env), startBerth(env)]);
    account = (await at(0).cli(["accounts", "create", "--name", "Shared"])) as Account;
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
  }, 180_000);
  afterAll(async () => {
    await sql?.end();
    await Promise.all(instances.map((b) => b.stop()));
    await fake?.close();
    await db?.drop();
  });

  const at = (i: number) => instances[i] as BerthServer;
  const on = (i: number) => api(at(i).url, account.api_key);
  /** An MCP client of a connection through instance `i` (its own URL, the connection's path). */
  async function clientOn(i: number, conn: Conn) {
    const c = new Client({ name: `instance-${i}`, version: "1" });
    const url = new URL(new URL(conn.mcp_url).pathname, at(i).url);
    await c.connect(
      new StreamableHTTPClientTransport(url, {
        requestInit: { headers: { authorization: `Bearer ${account.api_key}` } },
      }),
    );
    return c;
  }
  async function names(c: Client) {
    const res = (await c.callTool({ name: "read_graph", arguments: {} })) as { content: { text: string }[] };
    return (JSON.parse(res.content[0]?.text ?? "") as { entities: Entity[] }).entities.map((e) => e.name);
  }
  const get = async (i: number, id: string) => (await on(i)("GET", `/api/mcp-connections/${id}`)).body.data as Conn;
  const hostOf = async (id: string) =>
    (await sql.query("select host from mcp_connections where id = $1", [id])).rows[0]?.host as string;

  it("installs on one, calls through another, extends on a third, sleeps and wakes through any", async () => {
    const res = await on(0)("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: "memory",
    });
    expect(res.body.data?.status, res.text).toBe("running");
    const conn = res.body.data as Conn;
    const installedBy = await hostOf(conn.id);

    const viaB = await clientOn(1, conn);
    await viaB.callTool({ name: "create_entities", arguments: { entities: [entity("written-via-b")] } });
    expect(await hostOf(conn.id), "the instance that serves it hosts it").not.toBe(installedBy);
    expect((await get(1, conn.id)).sandbox_id, "the same sandbox, taken over").toBe(conn.sandbox_id);

    const extended = await on(2)("POST", `/api/mcp-connections/${conn.id}/extend`, { seconds: 3000 });
    expect(extended.status, extended.text).toBe(200);
    const endAt = fake.sandbox(conn.sandbox_id as string)?.endAt.getTime() ?? 0;
    expect(endAt, "E2B's timeout moved with the extension").toBeGreaterThan(Date.now() + 2900_000);

    // Idle: the instance hosting it puts it to sleep, and a request to the first instance wakes it.
    await until("asleep, its sandbox paused", async () => {
      const now = await get(2, conn.id);
      return now.status === "sleeping" && now.sandbox_id === conn.sandbox_id ? true : undefined;
    });
    expect(fake.pausedSandboxIds()).toContain(conn.sandbox_id);
    const viaA = await clientOn(0, conn);
    expect(await names(viaA)).toEqual(["written-via-b"]);
    expect(await names(viaB), "the other instance's client session goes on too").toEqual(["written-via-b"]);
    const woken = await get(1, conn.id);
    expect(woken.status).toBe("running");
    expect(woken.sandbox_id, "resumed, not replaced").toBe(conn.sandbox_id);

    const events = (await on(2)("GET", `/api/mcp-connections/${conn.id}/events`)).body.data as Event[];
    expectUniformTimeline(events);
    const types = events.map((e) => e.type);
    for (const t of ["slept", "woke"])
      expect(
        types.filter((x) => x === t),
        JSON.stringify(types),
      ).toHaveLength(1);
    await viaA.close();
    await viaB.close();
  }, 120_000);

  it("loses nothing when an instance is killed mid-run", async () => {
    const installs = await Promise.all(
      [0, 1, 2].map((i) =>
        on(i)("POST", "/api/mcp-connections/install", { account_id: account.account_id, server_id: "memory" }),
      ),
    );
    const conns = installs.map((r) => {
      expect(r.body.data?.status, r.text).toBe("running");
      return r.body.data as Conn;
    });
    // Every connection gets a write through instance 1, which then dies with calls in flight.
    const viaDoomed = await Promise.all(conns.map((c) => clientOn(1, c)));
    await Promise.all(
      viaDoomed.map((c, i) => c.callTool({ name: "create_entities", arguments: { entities: [entity(`kept-${i}`)] } })),
    );
    const inFlight = viaDoomed.map((c) => c.callTool({ name: "read_graph", arguments: {} }).catch((e) => e));
    await at(1).stop("SIGKILL");
    await Promise.all(inFlight);

    // The survivors answer for all three, with what each server stored.
    for (const [i, conn] of conns.entries()) {
      const c = await clientOn(i % 2 === 0 ? 0 : 2, conn);
      expect(await names(c)).toEqual([`kept-${i}`]);
      await c.close();
    }
    // Running, or asleep again already (idle for three seconds): either way with its sandbox, and
    // no sandbox is left that no connection names, once a sleep under way has paused its own.
    for (const conn of conns) expect(["running", "sleeping"]).toContain((await get(0, conn.id)).status);
    await until("every sandbox named by its connection", async () => {
      const rows = await sql.query(
        "select status, sandbox_id from mcp_connections where status in ('running', 'sleeping') and sandbox_id is not null",
      );
      const named = rows.rows.map((r) => `${r.status === "running" ? "running" : "paused"} ${r.sandbox_id}`).sort();
      const there = [
        ...fake.sandboxIds().map((id) => `running ${id}`),
        ...fake.pausedSandboxIds().map((id) => `paused ${id}`),
      ].sort();
      return JSON.stringify(named) === JSON.stringify(there) ? true : undefined;
    });
    for (const c of viaDoomed) await c.close().catch(() => {});
  }, 120_000);
});
