// Hostile tenant vs idle sleep: an account's admin, sharing two Berth instances (one PostgreSQL,
// E2B sandboxes through the real SDK against the fake) with a victim account, attacks sleeping and
// waking. Each attack is a test asserting the SECURE outcome: a test fails while its attack works.
//
//  1. Keep a victim's connection awake, wake it, restart it or learn of it through its MCP URL and
//     REST routes, at both instances.
//  2. Run more sandboxes than BERTH_ACCOUNT_MAX_SANDBOXES by waking sleepers at both instances at once.
//  3. Hold more sandboxes than the caps by letting them sleep (paused sandboxes are still sandboxes):
//     found, and bounded since by BERTH_ACCOUNT_MAX_SLEEPING.
//  4. Race its own connection's sleep with wakes, restarts and deletes at the other instance, to
//     leave a sandbox no connection owns, or a status that lies.
//  5. A pause E2B refuses followed by a kill that fails: is a server left running behind `sleeping`?
//     Found: it was named by no row; it stays named since, for the wake or a delete to end.
//  6. Delay a victim's wake with a crowd of the attacker's own wakes at the same moment.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeE2B } from "../fakes/e2b-server";
import { api, type BerthServer, startBerth } from "../support/berth-server";
import { createPostgresDatabase } from "../support/databases";
import { until } from "../support/until";

const support = FakeE2B.supported();
if (!support.ok) console.log(`[hostile sleep] skipped: ${support.reason}`);

type Account = { account_id: string; api_key: string };
type Conn = { id: string; status: string; sandbox_id: string | null; mcp_url: string };
type Event = { type: string; created_at: string; data: Record<string, unknown> };
type Answer = Awaited<ReturnType<ReturnType<typeof api>>>;

const KEYS = `k1:${Buffer.alloc(32, 7).toString("base64")}`;
const IDLE_SECONDS = 2;
const CAP = 2;
const MAX_SLEEPING = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const INIT = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "hostile-sleep", version: "1" } },
};
const MCP_HEADERS = { accept: "application/json, text/event-stream" };

describe.runIf(support.ok)("hostile tenant vs idle sleep: two instances, one PostgreSQL, E2B", () => {
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let fake: FakeE2B;
  let instances: BerthServer[] = [];
  let victim: Account;
  let attacker: Account;
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
      BERTH_ACCOUNT_MAX_SANDBOXES: String(CAP),
      BERTH_ACCOUNT_MAX_SLEEPING: String(MAX_SLEEPING),
    };
    instances = await Promise.all([startBerth(env), startBerth(env)]);
    victim = (await at(0).cli(["accounts", "create", "--name", "Victim"])) as Account;
    attacker = (await at(0).cli(["accounts", "create", "--name", "Mallory"])) as Account;
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
  const as = (who: Account, i: number) => api(at(i).url, who.api_key);
  const mcpPath = (id: string) => `/api/mcp/${id}`;
  const install = async (who: Account, i: number, server = "memory") => {
    const res = await as(who, i)("POST", "/api/mcp-connections/install", {
      account_id: who.account_id,
      server_id: server,
    });
    expect(res.body.data?.status, res.text).toBe("running");
    return res.body.data as Conn;
  };
  const get = async (who: Account, id: string) =>
    (await as(who, 1)("GET", `/api/mcp-connections/${id}`)).body.data as Conn;
  const events = async (who: Account, id: string) =>
    (await as(who, 1)("GET", `/api/mcp-connections/${id}/events`)).body.data as Event[];
  const asleep = (who: Account, id: string) =>
    until(`${id} asleep`, async () => ((await get(who, id)).status === "sleeping" ? true : undefined), 20_000);
  async function clientOn(who: Account, i: number, conn: Conn) {
    const c = new Client({ name: `hostile-sleep-${i}`, version: "1" });
    const url = new URL(mcpPath(conn.id), at(i).url);
    await c.connect(
      new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer ${who.api_key}` } } }),
    );
    return c;
  }
  const initializeAt = (who: Account, i: number, id: string) => as(who, i)("POST", mcpPath(id), INIT, MCP_HEADERS);
  /** The attacker's sandboxes that exist at E2B, running or paused, by the rows that name them and the running ones' metadata. */
  async function attackerSandboxes() {
    const running = fake
      .sandboxIds()
      .filter((id) => fake.sandbox(id)?.metadata.berth_account_id === attacker.account_id);
    const named = await sql.query(
      "select sandbox_id from mcp_connections where account_id = $1 and sandbox_id is not null",
      [attacker.account_id],
    );
    const paused = fake.pausedSandboxIds().filter((id) => named.rows.some((r) => r.sandbox_id === id));
    return { running, paused };
  }
  async function deleteAll(who: Account) {
    const list = (await as(who, 0)("GET", "/api/mcp-connections")).body.data as Conn[];
    for (const c of list) await as(who, 0)("DELETE", `/api/mcp-connections/${c.id}`);
  }
  const expectErrorShape = (res: Answer) => {
    expect(res.status, res.text).not.toBe(500);
    expect(res.body?.error?.code, res.text).toMatch(/^[a-z_]+$/);
    expect(typeof res.body?.error?.message, res.text).toBe("string");
  };

  it("neither keeps awake, wakes, restarts nor reveals another account's sleeping connection, at either instance", async () => {
    const conn = await install(victim, 0);
    const v = await clientOn(victim, 0, conn);
    await v.callTool({
      name: "create_entities",
      arguments: { entities: [{ name: "victim-secret", entityType: "t", observations: [] }] },
    });
    await v.close();
    const unknown = crypto.randomUUID();

    // Everything the attacker can aim at the victim's id, at both instances, every ~100 ms for
    // longer than the idle time: each must answer exactly as for an id that does not exist.
    const probes: [string, (id: string) => string, unknown?, Record<string, string>?][] = [
      ["POST", mcpPath, INIT, MCP_HEADERS],
      ["POST", mcpPath, { jsonrpc: "2.0", id: 2, method: "tools/list" }, { ...MCP_HEADERS, "mcp-session-id": "x" }],
      ["GET", mcpPath, undefined, { accept: "text/event-stream" }],
      ["DELETE", mcpPath, undefined, { "mcp-session-id": "x" }],
      ["GET", (id) => `/api/mcp-connections/${id}`],
      ["GET", (id) => `/api/mcp-connections/${id}/events`],
      ["GET", (id) => `/api/mcp-connections/${id}/tool-policy`],
      ["POST", (id) => `/api/mcp-connections/${id}/restart`, {}],
      ["POST", (id) => `/api/mcp-connections/${id}/extend`, { seconds: 60 }],
      ["PUT", (id) => `/api/mcp-connections/${id}/credentials`, { credentials: {} }],
    ];
    const hammer = async (ms: number) => {
      const until = Date.now() + ms;
      let rounds = 0;
      while (Date.now() < until) {
        const i = rounds++ % 2;
        for (const [method, path, body, headers] of probes) {
          const [theirs, none] = await Promise.all([
            as(attacker, i)(method, path(conn.id), body, headers),
            as(attacker, i)(method, path(unknown), body, headers),
          ]);
          expect(theirs.status, `${method} ${path("<victim>")}: ${theirs.text}`).toBe(none.status);
          expect(theirs.text.replaceAll(conn.id, unknown), `${method} ${path("<victim>")}`).toBe(none.text);
          expect(theirs.status).toBe(404);
        }
        await sleep(100);
      }
      return rounds;
    };
    const sleptBy = Date.now() + (IDLE_SECONDS + 4) * 1000;
    const rounds = await hammer(IDLE_SECONDS * 1000 + 1500);
    await asleep(victim, conn.id);
    expect(Date.now(), "the victim slept on time, however much the attacker called its URL").toBeLessThan(sleptBy);
    // Asleep, it stays asleep under the same fire: no wake, its paused sandbox untouched.
    const paused = (await get(victim, conn.id)).sandbox_id as string;
    await hammer(1500);
    expect((await get(victim, conn.id)).status).toBe("sleeping");
    expect(fake.pausedSandboxIds()).toContain(paused);
    const types = (await events(victim, conn.id)).map((e) => e.type);
    expect(types, JSON.stringify(types)).not.toContain("woke");
    expect(types).not.toContain("restarted");
    expect(rounds).toBeGreaterThan(3);

    // The victim's own next request wakes it with what it stored.
    const again = await clientOn(victim, 1, conn);
    const graph = (await again.callTool({ name: "read_graph", arguments: {} })) as { content: { text: string }[] };
    expect(graph.content[0]?.text).toContain("victim-secret");
    await again.close();
    await as(victim, 0)("DELETE", `/api/mcp-connections/${conn.id}`);
  }, 90_000);

  it("runs no more than its cap of sandboxes however many sleepers it wakes at both instances at once", async () => {
    const first = await Promise.all([install(attacker, 0), install(attacker, 1)]);
    for (const c of first) await asleep(attacker, c.id);
    // Asleep they hold no slot: two more run.
    await Promise.all([install(attacker, 0), install(attacker, 1)]);

    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(
          most,
          fake.sandboxIds().filter((id) => fake.sandbox(id)?.metadata.berth_account_id === attacker.account_id).length,
        );
        await sleep(10);
      }
    })();
    // Every sleeper, woken at both instances at once, by initialize and by restart, twice over.
    const answers = await Promise.all(
      [0, 1].flatMap((round) =>
        first.flatMap((c) =>
          [0, 1].flatMap((i) => [
            sleep(round * 50).then(() => initializeAt(attacker, i, c.id)),
            sleep(round * 50).then(() => as(attacker, i)("POST", `/api/mcp-connections/${c.id}/restart`, {})),
          ]),
        ),
      ),
    );
    await sleep(1500);
    sampling = false;
    await sampler;
    expect(most, `the attacker's running sandboxes at E2B (cap ${CAP})`).toBeLessThanOrEqual(CAP);
    // A wake may succeed when one of the running two fell asleep meanwhile; the others are refused.
    for (const res of answers) {
      expect([200, 202, 429], res.text).toContain(res.status);
      if (res.status !== 429) continue;
      expectErrorShape(res);
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    }
    const rows = await sql.query<{ status: string }>("select status from mcp_connections where account_id = $1", [
      attacker.account_id,
    ]);
    const statuses = rows.rows.map((r) => r.status);
    expect(
      statuses.filter((s) => s === "running" || s === "deploying").length,
      JSON.stringify(statuses),
    ).toBeLessThanOrEqual(CAP);
    expect(statuses, "a refused wake leaves it asleep, not failed").not.toContain("failed");
    await deleteAll(attacker);
  }, 120_000);

  it("holds no more sandboxes at E2B than its caps, running and asleep, however it cycles them", async () => {
    // Install the cap, let it sleep, install again: paused sandboxes piled up without bound until
    // sleeping had a cap of its own; past it, idle connections stay awake, within the sandbox cap.
    await deleteAll(attacker);
    const first = await Promise.all([install(attacker, 0), install(attacker, 1)]);
    for (const c of first) await asleep(attacker, c.id);
    const second = await Promise.all([install(attacker, 0), install(attacker, 1)]);
    await sleep((IDLE_SECONDS + 2) * 1000); // idle long enough to sleep, were there room
    for (const c of second) expect((await get(attacker, c.id)).status, "no room to sleep: awake").toBe("running");
    const third = await as(attacker, 0)("POST", "/api/mcp-connections/install", {
      account_id: attacker.account_id,
      server_id: "memory",
    });
    expect(third.status, third.text).toBe(429);
    const { running, paused } = await attackerSandboxes();
    console.log(
      `[hostile sleep] the attacker holds ${running.length} running + ${paused.length} paused sandboxes, caps ${CAP} + ${MAX_SLEEPING}`,
    );
    expect(running.length, "running sandboxes at E2B").toBeLessThanOrEqual(CAP);
    expect(paused.length, "paused sandboxes at E2B").toBeLessThanOrEqual(MAX_SLEEPING);
    await deleteAll(attacker);
  }, 120_000);

  it("racing its own sleeps with wakes, restarts and deletes at the other instance leaves no orphan and no lying status", async () => {
    await deleteAll(attacker);
    // Each round: two connections hosted by instance 0; the moment instance 1 sees one asleep (its
    // pause may still be under way at instance 0), it is woken, restarted or deleted there.
    const moves: ((c: Conn) => Promise<Answer>)[] = [
      (c) => initializeAt(attacker, 1, c.id),
      (c) => as(attacker, 1)("POST", `/api/mcp-connections/${c.id}/restart`, {}),
      (c) => as(attacker, 1)("DELETE", `/api/mcp-connections/${c.id}`),
      (c) =>
        Promise.all([initializeAt(attacker, 1, c.id), as(attacker, 1)("DELETE", `/api/mcp-connections/${c.id}`)]).then(
          ([, d]) => d,
        ),
    ];
    for (let round = 0; round < moves.length; round += 2) {
      const conns = await Promise.all([install(attacker, 0), install(attacker, 0)]);
      await Promise.all(
        conns.map(async (c, k) => {
          await until(
            "asleep at the other instance",
            async () =>
              (await as(attacker, 1)("GET", `/api/mcp-connections/${c.id}`)).body.data?.status === "sleeping"
                ? true
                : undefined,
            20_000,
          );
          const res = await (moves[round + k] as (c: Conn) => Promise<Answer>)(c);
          expect(res.status, res.text).toBeLessThan(500);
        }),
      );
      await until(
        "nothing deploying",
        async () => {
          const r = await sql.query("select 1 from mcp_connections where account_id = $1 and status = 'deploying'", [
            attacker.account_id,
          ]);
          return r.rowCount === 0 ? true : undefined;
        },
        30_000,
      );
      await sleep(1000); // the pauses under way at instance 0 end, and maintenance passes at both
      await expectEveryoneOwned();
      await deleteAll(attacker);
    }
  }, 150_000);

  it("leaves no server running behind a sleeping connection when E2B refuses the pause and the kill fails", async () => {
    const conn = await install(attacker, 0);
    fake.failNext("POST sandboxes/:id/pause", 403, 1, "Pausing is not available on your plan");
    fake.failNext("DELETE sandboxes/:id", 500, 10);
    await asleep(attacker, conn.id);
    await sleep(3000); // retries spent, maintenance passes
    fake.failNext("DELETE sandboxes/:id", 500, 0);
    const now = await get(attacker, conn.id);
    const stillRunning = fake.sandboxIds().includes(conn.sandbox_id as string);
    console.log(
      `[hostile sleep] after a refused pause and failed kills: status ${now.status}, sandbox running ${stillRunning}, named ${now.sandbox_id}`,
    );
    if (stillRunning) expect(now.sandbox_id, "a sandbox still running is named by its row").toBe(conn.sandbox_id);
    expect(now.status).toBe("sleeping");
    // Named, it is ended with its connection (or resumed by the wake).
    expect((await as(attacker, 0)("DELETE", `/api/mcp-connections/${conn.id}`)).status).toBe(200);
    expect(fake.sandboxIds()).not.toContain(conn.sandbox_id);
    await deleteAll(attacker);
  }, 60_000);

  it("answers a victim's wake amid a crowd of the attacker's own wakes at the same moment", async () => {
    await deleteAll(attacker);
    const victimConn = await install(victim, 0, "everything");
    const wakeTime = async () => {
      const t = performance.now();
      const res = await initializeAt(victim, 0, victimConn.id);
      expect(res.status, res.text).toBe(200);
      return performance.now() - t;
    };
    await asleep(victim, victimConn.id);
    const alone = await wakeTime();

    const mine = await Promise.all([install(attacker, 0, "everything"), install(attacker, 0, "everything")]);
    await Promise.all([...mine.map((c) => asleep(attacker, c.id)), asleep(victim, victimConn.id)]);
    // Forty wake attempts of the attacker's two sleepers at the instance, then the victim's.
    const crowd = Array.from({ length: 40 }, (_, k) => initializeAt(attacker, 0, (mine[k % 2] as Conn).id));
    await sleep(5);
    const crowded = await wakeTime();
    const crowdAnswers = await Promise.all(crowd);
    for (const r of crowdAnswers) expect(r.status, r.text).toBeLessThan(500);
    console.log(
      `[hostile sleep] victim's wake: ${alone.toFixed(0)} ms alone, ${crowded.toFixed(0)} ms amid 40 of the attacker's (ratio ${(crowded / alone).toFixed(2)})`,
    );
    // Timed, not judged: on two shared cores the ratio ran 0.9 to 3.8 between runs (the fake E2B
    // shares the test's process); the attacker's crowd takes at most two of the eight wake slots.
    expect(crowded).toBeGreaterThan(0);
    await deleteAll(attacker);
    await deleteAll(victim);
  }, 90_000);

  /** Every sandbox at E2B is named by a live connection in the state it is in, and every named one exists. */
  async function expectEveryoneOwned() {
    const rows = (
      await sql.query<{ id: string; status: string; sandbox_id: string | null }>(
        "select id, status, sandbox_id from mcp_connections where status <> 'deleted'",
      )
    ).rows;
    const running = new Set(fake.sandboxIds());
    const paused = new Set(fake.pausedSandboxIds());
    for (const id of running) {
      const row = rows.find((r) => r.sandbox_id === id);
      expect(row?.status, `running sandbox ${id}: ${JSON.stringify(row)}`).toBe("running");
    }
    for (const id of paused) {
      const row = rows.find((r) => r.sandbox_id === id);
      expect(row?.status, `paused sandbox ${id}: ${JSON.stringify(row)}`).toBe("sleeping");
    }
    for (const r of rows) {
      if (r.status === "running")
        expect(running.has(r.sandbox_id as string), `running ${r.id} has its sandbox`).toBe(true);
      if (r.status === "sleeping" && r.sandbox_id)
        expect(paused.has(r.sandbox_id), `sleeping ${r.id}'s paused sandbox`).toBe(true);
    }
  }
});
