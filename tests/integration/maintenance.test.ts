import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crashingServer, slowServer } from "../fixtures/servers";
import { api, type BerthServer, processesIn, startBerth } from "../support/berth-server";
import { createPostgresDatabase } from "../support/databases";
import { until } from "../support/until";

type Account = { account_id: string; api_key: string };
type Event = { type: string; data: Record<string, unknown> };

const KEYS = `k1:${Buffer.alloc(32, 7).toString("base64")}`;

async function addServer(berth: BerthServer, def: object) {
  const file = path.join(berth.dataDir, `def-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(file, JSON.stringify(def));
  await berth.cli(["servers", "add", "--file", file]);
}

describe("crash restarts and crash loops", () => {
  let berth: BerthServer;
  let account: Account;

  beforeAll(async () => {
    berth = await startBerth({
      BERTH_MAINTENANCE_INTERVAL_MS: "100",
      BERTH_RESTART_LIMIT: "3",
      BERTH_RESTART_BACKOFF_MS: "100",
    });
    account = (await berth.cli(["accounts", "create", "--name", "Crashes"])) as Account;
    await addServer(berth, crashingServer(400));
  });
  afterAll(async () => {
    await berth?.stop();
  });

  it("restarts a crashing server with growing backoff, then gives up with the reason recorded", async () => {
    const call = api(berth.url, account.api_key);
    const res = await call("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: "crashes",
    });
    expect(res.body.data.status).toBe("running");
    const id = res.body.data.id;
    const events = await until("the crash loop to be given up", async () => {
      const list = (await call("GET", `/api/mcp-connections/${id}/events`)).body.data as Event[];
      return list.some((e) => e.type === "failed" && e.data.reason === "crash_loop") ? list : undefined;
    });
    const oldestFirst = [...events].reverse();
    const crashes = oldestFirst.filter((e) => e.type === "crashed");
    expect(crashes.map((e) => e.data.attempt)).toEqual([1, 2, 3, 4]);
    expect(oldestFirst.filter((e) => e.type === "running").length).toBe(4); // install + 3 restarts
    expect(oldestFirst.filter((e) => e.type === "deploying" && e.data.reason === "crash_restart").length).toBe(3);
    const conn = (await call("GET", `/api/mcp-connections/${id}`)).body.data;
    expect(conn.status).toBe("failed");
    expect(conn.last_error).toMatch(/Crash loop: the server crashed 3 times in a row/);
    // Given up means given up: nothing restarts it any more.
    await new Promise((r) => setTimeout(r, 800));
    const after = (await call("GET", `/api/mcp-connections/${id}/events`)).body.data as Event[];
    expect(after.length).toBe(events.length);
    // A manual restart starts a new series.
    const restarted = await call("POST", `/api/mcp-connections/${id}/restart`);
    expect(restarted.body.data.status).toBe("running");
  });
});

describe("a Berth killed between sandbox creation and the database update", () => {
  it("leaves no orphan sandbox and a truthful status after it starts again", async () => {
    let berth = await startBerth();
    const account = (await berth.cli(["accounts", "create", "--name", "Fault"])) as Account;
    await addServer(berth, slowServer(4000));
    const sandboxes = path.join(berth.dataDir, "sandboxes");
    const install = api(berth.url, account.api_key)("POST", "/api/mcp-connections/install", {
      account_id: account.account_id,
      server_id: "slow",
    });
    install.catch(() => {}); // the server dies under it
    const orphan = await until("the sandbox to be created", async () =>
      fs.readdirSync(sandboxes).find((d) => d.startsWith("lcl-") && processesIn(path.join(sandboxes, d)).length),
    );
    berth.proc.kill("SIGKILL");
    await berth.stop();

    berth = await startBerth({ BERTH_DATA_DIR: berth.dataDir });
    try {
      expect(processesIn(path.join(sandboxes, orphan))).toEqual([]);
      expect(fs.existsSync(path.join(sandboxes, orphan))).toBe(false);
      const call = api(berth.url, account.api_key);
      const [conn] = (await call("GET", "/api/mcp-connections")).body.data;
      expect(["deploying", "running"]).toContain(conn.status);
      const running = await until("the redeploy", async () => {
        const c = (await call("GET", `/api/mcp-connections/${conn.id}`)).body.data;
        return c.status === "running" ? c : undefined;
      });
      expect(running.sandbox_id).not.toBe(orphan);
      expect(fs.readdirSync(sandboxes).filter((d) => d.startsWith("lcl-"))).toEqual([running.sandbox_id]);
    } finally {
      await berth.stop();
    }
  });
});

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
