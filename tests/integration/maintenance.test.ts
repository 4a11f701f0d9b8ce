import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type BerthServer, processesIn, startBerth } from "../support/berth-server";
import { createPostgresDatabase } from "../support/databases";
import { until } from "../support/until";

type Account = { account_id: string; api_key: string };

const KEYS = `k1:${Buffer.alloc(32, 7).toString("base64")}`;

describe("two Berth instances on one PostgreSQL", () => {
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let a: BerthServer;
  let b: BerthServer;
  let account: Account;

  beforeAll(async () => {
    db = await createPostgresDatabase();
    const env = { DATABASE_URL: db.url, BERTH_ENCRYPTION_KEYS: KEYS, BERTH_MAINTENANCE_INTERVAL_MS: "50" };
    a = await startBerth(env);
    b = await startBerth(env);
    account = (await a.cli(["accounts", "create", "--name", "Shared"])) as Account;
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await db?.drop();
  });

  it("handles every due connection exactly once", async () => {
    const call = api(a.url, account.api_key);
    const install = async (body: object) => {
      const res = await call("POST", "/api/mcp-connections/install", {
        account_id: account.account_id,
        server_id: "memory",
        ...body,
      });
      expect(res.body.data.status).toBe("running");
      return res.body.data as { id: string; sandbox_id: string };
    };
    const expiring = await Promise.all(Array.from({ length: 5 }, () => install({ keep_alive: false, timeout: 2 })));
    const kept = await Promise.all(Array.from({ length: 5 }, () => install({ keep_alive: true, timeout: 600 })));
    const pg = (await import("pg")).default;
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    // Make the keep-alive ones due now: both instances see them on their next pass.
    await client.query(
      "update mcp_connections set expires_at = now() + interval '5 seconds' where id = any($1::uuid[])",
      [kept.map((c) => c.id)],
    );
    await until("the expiries", async () => {
      const r = await client.query("select count(*)::int as n from mcp_connections where status = 'expired'");
      return r.rows[0].n === expiring.length ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 1000)); // many more passes of both instances
    const counts = await client.query(
      "select connection_id, type, count(*)::int as n from connection_events where type in ('expired','extended') group by 1, 2",
    );
    await client.end();
    const n = (id: string, type: string) =>
      counts.rows.find((r: { connection_id: string; type: string }) => r.connection_id === id && r.type === type)?.n ??
      0;
    for (const c of expiring) expect([c.id, n(c.id, "expired"), n(c.id, "extended")]).toEqual([c.id, 1, 0]);
    for (const c of kept) expect([c.id, n(c.id, "extended"), n(c.id, "expired")]).toEqual([c.id, 1, 0]);
    // The instance hosting the expired sandboxes stopped them, whichever instance expired them.
    await until("the expired servers to stop", async () =>
      expiring.every((c) => processesIn(path.join(a.dataDir, "sandboxes", c.sandbox_id)).length === 0)
        ? true
        : undefined,
    );
    for (const c of kept)
      expect(processesIn(path.join(a.dataDir, "sandboxes", c.sandbox_id)).length).toBeGreaterThan(0);
  });
});
