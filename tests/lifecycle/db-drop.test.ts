import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { slowServer } from "../fixtures/servers";
import { api, type BerthServer, mcpInitialize, newAccount, startBerth } from "../support/berth-server";
import { createPostgresDatabase, POSTGRES_ADMIN_URL } from "../support/databases";
import { expectUniformTimeline } from "../support/timeline";
import { until } from "../support/until";
import { localBubblewrap } from "./providers";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Answer = { status: number; body: any; text: string; headers: Headers };

/**
 * The database dropping mid-request: every connection Berth holds to PostgreSQL is cut, again and
 * again, while an account installs, reads, extends and deletes. Each answer is what it would have
 * been, or 503 `unavailable` with `Retry-After` (never a 500); once the database stays up, every
 * connection is running or failed with its reason, each runs on exactly one sandbox, no sandbox
 * is left that no connection holds, and no event is written twice.
 */
describe("the database dropping mid-request (PostgreSQL, local sandboxes)", () => {
  let berth: BerthServer;
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let call: ReturnType<typeof api>;
  let accountId: string;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    berth = await startBerth({
      DATABASE_URL: database.url,
      BERTH_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString("base64")}`,
      SANDBOX_PROVIDER: "local",
    });
    ({ accountId, call } = await newAccount(berth, "db drops"));
  });
  afterAll(async () => {
    await berth?.stop();
    await database?.drop();
  });

  /** Cuts every session of Berth's database every `everyMs` until stopped; counts the sessions cut. */
  function cutConnections(everyMs: number) {
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    const name = new URL(database.url).pathname.slice(1);
    let cutting = true;
    let cut = 0;
    const loop = (async () => {
      await admin.connect();
      while (cutting) {
        const r = await admin.query(
          "select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
          [name],
        );
        cut += r.rows.filter((row) => row.ok).length;
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
      await admin.end();
    })();
    return async () => {
      cutting = false;
      await loop;
      return cut;
    };
  }

  const expectTruthful = (what: string, res: Answer, ok: number[]) => {
    const seen = `${what}: ${res.status} ${res.text.slice(0, 300)}`;
    expect([...ok, 503], seen).toContain(res.status);
    expect(res.text, seen).not.toMatch(/\bat .*\.(ts|js):\d+/);
    if (res.status === 503) {
      expect(res.body?.error?.code, seen).toBe("unavailable");
      expect(Number(res.headers.get("retry-after")), seen).toBeGreaterThan(0);
    }
  };

  it("installs, reads, extends and deletes through the drops: 503 or the real answer; truthful statuses, no orphan, no event twice", async () => {
    const stopCutting = cutConnections(100);
    // A client honouring 503's Retry-After tries again (here at once, a few times), with the same
    // Idempotency-Key: an install whose answer the cut lost is not made twice.
    const install = async () => {
      const key = crypto.randomUUID();
      const answers: Answer[] = [];
      for (let i = 0; i < 8; i++) {
        const res = await call(
          "POST",
          "/api/mcp-connections/install",
          { account_id: accountId, server_id: "memory", keep_alive: false },
          { "idempotency-key": key },
        );
        answers.push(res);
        if (res.status !== 503) break;
      }
      return answers;
    };
    const tries = (await Promise.all(Array.from({ length: 8 }, install))).flat();
    for (const res of tries) expectTruthful("install", res, [201]);
    const installed = tries.filter((r) => r.status === 201).map((r) => r.body.data.id as string);
    expect(installed.length, "installs that landed").toBeGreaterThan(0);
    const reads: Answer[] = [];
    for (let i = 0; i < 20; i++) {
      reads.push(await call("GET", `/api/mcp-connections?account_id=${accountId}`));
      for (const id of installed.slice(0, 2)) {
        reads.push(await call("POST", `/api/mcp-connections/${id}/extend`, { seconds: 600 }));
      }
    }
    for (const res of reads) expectTruthful("read or extend", res, [200, 409]);
    const deleting = installed.slice(-2);
    const deletes: Answer[] = await Promise.all(deleting.map((id) => call("DELETE", `/api/mcp-connections/${id}`)));
    for (const res of deletes) expectTruthful("delete", res, [200]);
    const deleted = deleting.filter((_, i) => deletes[i]?.status === 200);
    const cut = await stopCutting();
    expect(cut, "sessions cut").toBeGreaterThan(10);
    const answered = [...tries, ...reads, ...deletes];
    const unavailable = answered.filter((r) => r.status === 503).length;
    console.log(`db drops: ${cut} sessions cut; ${answered.length} answers, ${unavailable} of them 503`);

    // The database stays up now: let what was under way settle.
    const connections = await until("no connection deploying", async () => {
      const list = await call("GET", `/api/mcp-connections?account_id=${accountId}`);
      const data = list.body?.data as { id: string; status: string; sandbox_id: string | null; last_error: string }[];
      return data && !data.some((c) => c.status === "deploying") ? data : undefined;
    });
    console.log(`db drops: ${installed.length} installs landed; now ${connections.map((c) => c.status).join(", ")}`);
    // Exactly the installs that were answered, less those deleted: none made twice, none lost.
    expect(connections.map((c) => c.id).sort()).toEqual(installed.filter((id) => !deleted.includes(id)).sort());
    for (const c of connections) {
      expect(["running", "failed"], JSON.stringify(c)).toContain(c.status);
      if (c.status === "failed") expect(c.last_error, JSON.stringify(c)).toBeTruthy();
    }
    for (const id of installed) {
      const events = (await call("GET", `/api/mcp-connections/${id}/events`)).body?.data as
        | { id: string; type: string; data: Record<string, unknown> }[]
        | undefined;
      if (!events) continue; // deleted
      expectUniformTimeline(events);
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
      expect(events.filter((e) => e.type === "running").length, JSON.stringify(events)).toBeLessThanOrEqual(1);
    }
    const running = connections.filter((c) => c.status === "running").map((c) => c.sandbox_id);
    // Berth stops a sandbox whose connection moved on at its next maintenance pass.
    let sandboxes: string[] = [];
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(200)) {
      sandboxes = localBubblewrap.sandboxIds(berth);
      if (sandboxes.length === running.length) break;
    }
    expect(sandboxes.sort(), `running connections: ${running.join(", ")}`).toEqual(running.sort());
    // A session cut while a transaction held it was once an error nobody listened for.
    expect(berth.output()).not.toMatch(/uncaughtException|unhandledRejection/);

    for (const c of connections) await call("DELETE", `/api/mcp-connections/${c.id}`);
  }, 180_000);

  it("answers 503 while the database takes no new sessions (closed, full), and the retried install is made once", async () => {
    const { call: asOwner, key } = await newAccount(berth, "db closed");
    const account = (await asOwner("GET", "/api/account")).body.data.id as string;
    const conn = await asOwner("POST", "/api/mcp-connections/install", { account_id: account, server_id: "memory" });
    expect(conn.status, conn.text).toBe(201);
    const name = new URL(database.url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    const idempotencyKey = crypto.randomUUID();
    const install = () =>
      asOwner(
        "POST",
        "/api/mcp-connections/install",
        { account_id: account, server_id: "memory" },
        { "idempotency-key": idempotencyKey },
      );
    try {
      // PostgreSQL refuses every new session with 55000 "not currently accepting connections".
      await admin.query(`alter database "${name}" allow_connections false`);
      await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1", [name]);
      const answers = [
        ["list", await asOwner("GET", `/api/mcp-connections?account_id=${account}`)],
        ["install", await install()],
        ["extend", await asOwner("POST", `/api/mcp-connections/${conn.body.data.id}/extend`, { seconds: 600 })],
        ["MCP initialize with a key not cached", await mcpInitialize(api(berth.url, key), conn.body.data.id)],
      ] as const;
      for (const [what, res] of answers) expectTruthful(what, res, []);
    } finally {
      await admin.query(`alter database "${name}" allow_connections true`);
      await admin.end();
    }
    const again = await until("the database to take sessions again", async () => {
      const res = await install();
      return res.status === 503 ? undefined : res;
    });
    expect(again.status, again.text).toBe(201);
    const list = (await asOwner("GET", `/api/mcp-connections?account_id=${account}`)).body.data as { id: string }[];
    expect(list.map((c) => c.id).sort()).toEqual([conn.body.data.id, again.body.data.id].sort());
    for (const c of list) await asOwner("DELETE", `/api/mcp-connections/${c.id}`);
  }, 120_000);

  it("a deploy whose outcome meets the database closed records it once the database is back, not 120 s later", async () => {
    const file = path.join(berth.dataDir, "slow.json");
    fs.writeFileSync(file, JSON.stringify(slowServer(2000)));
    await berth.cli(["servers", "add", "--file", file]);
    const { call: asOwner } = await newAccount(berth, "db closed mid-deploy");
    const account = (await asOwner("GET", "/api/account")).body.data.id as string;
    const name = new URL(database.url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    try {
      const pending = asOwner("POST", "/api/mcp-connections/install", {
        account_id: account,
        server_id: "slow",
        keep_alive: false,
      });
      const db = new pg.Client({ connectionString: database.url });
      await db.connect();
      await until(
        "the install to be stored",
        async () =>
          (await db.query("select 1 from mcp_connections where account_id = $1", [account])).rowCount || undefined,
        10_000,
      );
      await db.end();
      // The server answers initialize 2 s after it starts: Berth records `running` while the
      // database is closed, and keeps trying until it opens again (`persistently`).
      await admin.query(`alter database "${name}" allow_connections false`);
      await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1", [name]);
      await sleep(4000);
      await admin.query(`alter database "${name}" allow_connections true`);
      expectTruthful("install", await pending, [201]);
    } finally {
      await admin.query(`alter database "${name}" allow_connections true`);
      await admin.end();
    }
    const conn = await until(
      "the deploy's outcome",
      async () => {
        const list = (await asOwner("GET", `/api/mcp-connections?account_id=${account}`)).body?.data;
        return list?.[0]?.status === "deploying" ? undefined : list?.[0];
      },
      10_000,
    );
    expect(conn.status, JSON.stringify(conn)).toBe("running");
    await asOwner("DELETE", `/api/mcp-connections/${conn.id}`);
  }, 60_000);
});
