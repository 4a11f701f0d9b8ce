import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type BerthServer, startBerth } from "../support/berth-server";
import { createPostgresDatabase } from "../support/databases";
import { until } from "../support/until";

type Account = { account_id: string; api_key: string };

const KEYS = `k1:${Buffer.alloc(32, 9).toString("base64")}`;

/**
 * Pages over REST, as clients see them, on one Berth on PostgreSQL: the answers' shape, bad
 * `limit` and `cursor` as 400s in the contract's error shape, OpenAPI; and the maintenance loop
 * pruning old tool calls by BERTH_EVENT_RETENTION_DAYS.
 */
describe("pages and event retention over REST", () => {
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let berth: BerthServer;
  let account: Account;
  let other: Account;
  let client: pg.Client;
  let call: ReturnType<typeof api>;

  beforeAll(async () => {
    db = await createPostgresDatabase();
    berth = await startBerth({
      DATABASE_URL: db.url,
      BERTH_ENCRYPTION_KEYS: KEYS,
      BERTH_MAINTENANCE_INTERVAL_MS: "200",
      BERTH_EVENT_RETENTION_DAYS: "7",
      BERTH_API_REQUESTS_PER_SECOND: "1000",
    });
    account = (await berth.cli(["accounts", "create", "--name", "Pages"])) as Account;
    other = (await berth.cli(["accounts", "create", "--name", "Other"])) as Account;
    call = api(berth.url, account.api_key);
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    // Connections that run nowhere (expired: the loop leaves them be), 30 here and 5 in the other account.
    await client.query(
      `insert into mcp_connections (account_id, server_id, name, status, provider, credentials_ciphertext,
         credentials_key_id, keep_alive, timeout_seconds, expires_at, created_at)
       select case when g <= 30 then $1::uuid else $2::uuid end, (select id from mcp_servers where slug = 'memory'),
         'c' || g, 'expired', 'local', 'x', 'k1', false, 60, now(), now() - g * interval '1 second'
       from generate_series(1, 35) g`,
      [account.account_id, other.account_id],
    );
  });
  afterAll(async () => {
    await client?.end();
    await berth?.stop();
    await db?.drop();
  });

  it("answers pages with next_cursor, and the whole list as v1 did without limit", async () => {
    const path = `/api/mcp-connections?account_id=${account.account_id}`;
    const whole = await call("GET", path);
    expect(whole.status).toBe(200);
    expect(Object.keys(whole.body)).toEqual(["data"]);
    expect(whole.body.data).toHaveLength(30);
    const seen: string[] = [];
    let cursor = "";
    for (;;) {
      const page = await call("GET", `${path}&limit=7${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(7);
      seen.push(...page.body.data.map((c: { id: string }) => c.id));
      if (page.body.next_cursor === null) break;
      cursor = page.body.next_cursor;
    }
    expect(seen).toEqual(whole.body.data.map((c: { id: string }) => c.id));
    // The other account's key pages its own five, whatever cursor it is given.
    const theirs = await api(berth.url, other.api_key)("GET", `/api/mcp-connections?limit=200&cursor=${cursor}`);
    expect(theirs.status).toBe(200);
    for (const c of theirs.body.data) expect(c.account_id).toBe(other.account_id);
  });

  it.each([
    ["/api/mcp-connections?limit=0", "limit"],
    ["/api/mcp-connections?limit=201", "limit"],
    ["/api/mcp-connections?limit=ten", "limit"],
    ["/api/mcp-connections?limit=2.5", "limit"],
    ["/api/mcp-connections?limit=5&cursor=not*a*cursor", "cursor"],
    ["/api/mcp-connections?limit=5&cursor=WyJldmVudHMiLCIxIl0", "cursor"], // an events cursor
    ["/api/api-keys?cursor=eyJ9", "cursor"],
    ["/api/members?limit=-1", "limit"],
    ["/api/mcp-server-definitions?cursor=AAAA", "cursor"],
    ["/api/tool-approvals?limit=500", "limit"],
  ])("answers 400 in the contract's shape to GET %s", async (path, field) => {
    const res = await call("GET", path);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: {
        code: "bad_request",
        message: expect.any(String),
        details: [{ path: field, message: expect.any(String) }],
      },
    });
  });

  it("pages every list route: catalogue, keys, members, approvals, a connection's events and grants", async () => {
    const [conn] = (await call("GET", `/api/mcp-connections?limit=1`)).body.data;
    for (const path of [
      "/api/mcp-server-definitions",
      "/api/api-keys",
      "/api/members",
      "/api/tool-approvals",
      `/api/mcp-connections/${conn.id}/events`,
      `/api/mcp-connections/${conn.id}/oauth-grants`,
    ]) {
      const whole = await call("GET", path);
      expect(whole.status, path).toBe(200);
      expect(whole.body.next_cursor, path).toBeUndefined();
      const page = await call("GET", `${path}?limit=1`);
      expect(page.status, path).toBe(200);
      expect(page.body.data.length, path).toBeLessThanOrEqual(1);
      expect(page.body.next_cursor === null || typeof page.body.next_cursor === "string", path).toBe(true);
      expect(page.body.next_cursor === null, path).toBe(whole.body.data.length <= 1);
    }
  });

  it("documents limit, cursor and next_cursor in OpenAPI", async () => {
    const doc = (await call("GET", "/api/openapi.json")).body;
    for (const [path, op] of [
      ["/api/mcp-connections", "get"],
      ["/api/mcp-connections/{id}/events", "get"],
      ["/api/api-keys", "get"],
      ["/api/members", "get"],
    ] as const) {
      const operation = doc.paths[path][op];
      expect(operation.parameters.map((p: { name: string }) => p.name)).toEqual(
        expect.arrayContaining(["limit", "cursor"]),
      );
      const schema = operation.responses["200"].content["application/json"].schema;
      expect(Object.keys(schema.properties)).toEqual(["data", "next_cursor"]);
    }
  });

  it("prunes tool calls past the retention, counted per day first; lifecycle events and recent calls stay", async () => {
    const [conn] = (await call("GET", `/api/mcp-connections?limit=1`)).body.data;
    await client.query(
      `insert into connection_events (account_id, connection_id, type, data, created_at)
       select $1::uuid, $2::uuid, 'tool_call', jsonb_build_object('tool', 't', 'duration_ms', 4, 'outcome', 'ok'),
         timestamptz '2026-01-05 10:00Z' + g * interval '1 second'
       from generate_series(1, 2500) g
       union all select $1::uuid, $2::uuid, 'installed', '{}', timestamptz '2026-01-01 10:00Z'
       union all select $1::uuid, $2::uuid, 'tool_call', '{"tool":"t","duration_ms":1,"outcome":"error"}', now()`,
      [account.account_id, conn.id],
    );
    await until("the old tool calls are pruned", async () => {
      const r = await client.query(
        "select count(*)::int as n from connection_events where connection_id = $1 and type = 'tool_call'",
        [conn.id],
      );
      return r.rows[0].n === 1 ? true : undefined;
    });
    const events = (await call("GET", `/api/mcp-connections/${conn.id}/events?limit=200`)).body.data;
    expect(events.map((e: { type: string }) => e.type)).toEqual(["tool_call", "installed"]);
    const days = await client.query(
      "select to_char(day, 'YYYY-MM-DD') as day, calls::int, errors::int, duration_ms from tool_call_days where connection_id = $1",
      [conn.id],
    );
    expect(days.rows).toEqual([{ day: "2026-01-05", calls: 2500, errors: 0, duration_ms: 10_000 }]);
  });
});
