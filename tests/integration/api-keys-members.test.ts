import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SESSION_COOKIE, sealSession } from "@/lib/auth/session";
import { api, type BerthServer, mcpInitialize, startBerth } from "../support/berth-server";
import { createPostgresDatabase } from "../support/databases";
import { until } from "../support/until";

type Account = { account_id: string; api_key: string };

/**
 * API keys, members and settings through a real Berth: REST, the CLI (over the embedded
 * server's socket) and the MCP endpoint, whose key cache must forget a revoked key at once.
 */

/** A running Berth with an account (owner with a password, its first API key) and one connection. */
async function startCrew(env: Record<string, string> = {}) {
  const berth = await startBerth(env);
  const owner = (await berth.cli([
    "accounts",
    "create",
    "--name",
    "Crew",
    "--owner-email",
    "owner@example.com",
    "--owner-password",
    "owner-password",
  ])) as Account;
  const res = await api(berth.url, owner.api_key)("POST", "/api/mcp-connections/install", {
    account_id: owner.account_id,
    server_id: "memory",
  });
  expect(res.status, res.text).toBe(201);
  return { berth, owner, connId: res.body.data.id as string };
}

describe("API keys and account settings", () => {
  let berth: BerthServer;
  let owner: Account;
  let connId: string;

  beforeAll(async () => {
    ({ berth, owner, connId } = await startCrew());
  });
  afterAll(async () => {
    await berth?.stop();
  });

  it("creates, lists and revokes keys over REST; a revoked key is refused at once by REST and MCP", async () => {
    const call = api(berth.url, owner.api_key);
    const created = await call("POST", "/api/api-keys", { name: "agent" });
    expect(created.status, created.text).toBe(201);
    const { id, key } = created.body.data;
    expect(key).toMatch(/^berth_/);
    const list = await call("GET", "/api/api-keys");
    expect(list.status).toBe(200);
    expect(list.body.data.map((k: { name: string }) => k.name)).toEqual(["agent", "default"]);
    expect(list.text).not.toContain(key);

    // The new key works, and the MCP gateway now has it cached.
    const agent = api(berth.url, key);
    expect((await agent("GET", `/api/mcp-connections/${connId}`)).status).toBe(200);
    expect((await mcpInitialize(agent, connId)).status).toBe(200);

    const revoked = await call("DELETE", `/api/api-keys/${id}`);
    expect(revoked.status, revoked.text).toBe(200);
    expect(revoked.body.data).toMatchObject({ id, revoked_at: expect.any(String) });
    // At once: no waiting out the cache's 10 s.
    expect((await agent("GET", `/api/mcp-connections/${connId}`)).status).toBe(401);
    expect((await mcpInitialize(agent, connId)).status).toBe(401);
    expect((await call("DELETE", `/api/api-keys/${id}`)).body.data.revoked_at).toBe(revoked.body.data.revoked_at);
    for (const bad of [crypto.randomUUID(), "not-a-uuid"]) {
      const res = await call("DELETE", `/api/api-keys/${bad}`);
      expect([res.status, res.body.error.message]).toEqual([404, "No such API key."]);
    }
    const invalid = await call("POST", "/api/api-keys", { name: "" });
    expect([invalid.status, invalid.body.error.details[0].path]).toEqual([400, "name"]);
  });

  it("creates, lists and revokes keys with the CLI; the running Berth refuses the revoked key at once", async () => {
    const created = (await berth.cli(["api-keys", "create", "--account", owner.account_id, "--name", "cli"])) as {
      api_key: string;
      id: string;
    };
    expect(created.api_key).toMatch(/^berth_/);
    const agent = api(berth.url, created.api_key);
    expect((await mcpInitialize(agent, connId)).status).toBe(200);
    const listed = (await berth.cli(["api-keys", "list", "--account", owner.account_id])) as { id: string }[];
    expect(listed.map((k) => k.id)).toContain(created.id);
    expect(JSON.stringify(listed)).not.toContain(created.api_key);
    const revoked = (await berth.cli(["api-keys", "revoke", "--id", created.id])) as { revoked_at: string };
    expect(revoked.revoked_at).toEqual(expect.any(String));
    expect((await mcpInitialize(agent, connId)).status).toBe(401);
    expect((await agent("GET", "/api/mcp-connections")).status).toBe(401);
  });
  it("applies the account's default timeout to installs that name none", async () => {
    const call = api(berth.url, owner.api_key);
    const set = await call("PATCH", "/api/account", { default_timeout: 600 });
    expect(set.body.data).toEqual({ id: owner.account_id, name: "Crew", default_timeout: 600 });
    const installed = await call("POST", "/api/mcp-connections/install", {
      account_id: owner.account_id,
      server_id: "memory",
    });
    expect(installed.status, installed.text).toBe(201);
    const left = (Date.parse(installed.body.data.expires_at) - Date.now()) / 1000;
    expect(left).toBeGreaterThan(500);
    expect(left).toBeLessThanOrEqual(600); // the memory server's own default is 3600
    const explicit = await call("POST", "/api/mcp-connections/install", {
      account_id: owner.account_id,
      server_id: "memory",
      timeout: 7200,
    });
    expect(Date.parse(explicit.body.data.expires_at) - Date.now()).toBeGreaterThan(7000 * 1000);
    for (const id of [installed.body.data.id, explicit.body.data.id])
      expect((await call("DELETE", `/api/mcp-connections/${id}`)).status).toBe(200);
    expect((await call("PATCH", "/api/account", { default_timeout: 30 })).status).toBe(400);
    expect((await call("PATCH", "/api/account", { default_timeout: null })).body.data.default_timeout).toBeNull();
  });
});

// On PostgreSQL, so the test can open a member's browser session as sign-in does (a row, and the
// sealed cookie naming it): the embedded database is the running Berth's alone.
describe("members, through their browser sessions", () => {
  let berth: BerthServer;
  let owner: Account;
  let connId: string;
  let pgDb: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let sql: pg.Client;

  beforeAll(async () => {
    pgDb = await createPostgresDatabase();
    ({ berth, owner, connId } = await startCrew({
      DATABASE_URL: pgDb.url,
      BERTH_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 9).toString("base64")}`,
    }));
    sql = new pg.Client({ connectionString: pgDb.url });
    await sql.connect();
  });
  afterAll(async () => {
    await berth?.stop();
    await sql?.end();
    await pgDb?.drop();
  });

  it("refuses a signed-in member with 403, and lets them look", async () => {
    const call = api(berth.url, owner.api_key);
    const invited = await call("POST", "/api/members", { email: "Member@Example.com" });
    expect(invited.status, invited.text).toBe(201);
    expect(invited.body.data.member).toMatchObject({ email: "member@example.com", role: "member", pending: true });
    expect(invited.body.data.invite_url).toMatch(/\/invite\/[\w-]+$/);
    const userId = invited.body.data.member.user_id;

    // The member's browser session (the cookie Berth's sign-in would set).
    const secret = fs.readFileSync(path.join(berth.dataDir, "session-secret"), "utf8").trim();
    const session = async (user: string) => {
      const [row] = (
        await sql.query(
          "insert into user_sessions (user_id, expires_at) values ($1, now() + interval '1 hour') returning id",
          [user],
        )
      ).rows;
      const sealed = await sealSession({ sessionId: row.id, userId: user, accountId: owner.account_id }, secret);
      const cookie = `${SESSION_COOKIE}=${encodeURIComponent(sealed)}`;
      return (method: string, p: string, body?: unknown) =>
        api(berth.url)(method, p, body, { cookie, "content-type": "application/json" });
    };
    // They accept the invitation (what its link does): until then the membership grants nothing.
    const pendingSession = await session(userId);
    expect((await pendingSession("GET", "/api/members")).status).toBe(401);
    await sql.query("update member_invites set accepted_at = now() where user_id = $1", [userId]);
    const as = await session(userId);
    expect((await as("GET", "/api/members")).status).toBe(200);
    expect((await as("GET", "/api/api-keys")).status).toBe(200);
    expect((await as("GET", "/api/account")).status).toBe(200);
    const refused: [string, string, unknown?][] = [
      ["POST", "/api/mcp-connections/install", { account_id: owner.account_id, server_id: "memory" }],
      ["POST", "/api/mcp-connections/install", { account_id: owner.account_id, server_id: "memory", dry_run: true }],
      ["DELETE", `/api/mcp-connections/${connId}`],
      ["POST", "/api/api-keys", { name: "mine" }],
      ["POST", "/api/members", { email: "friend@example.com" }],
      ["PATCH", `/api/members/${userId}`, { role: "owner" }],
      ["PATCH", "/api/account", { default_timeout: 600 }],
    ];
    for (const [method, p, body] of refused) {
      const res = await as(method, p, body);
      expect([method, p, res.status, res.body?.error?.code]).toEqual([method, p, 403, "forbidden"]);
    }
    expect((await call("GET", `/api/mcp-connections/${connId}`)).body.data.status).toBe("running");

    // The owner manages them; the last owner stays. An API key (an admin's rights) cannot touch an owner.
    const members = (await call("GET", "/api/members")).body.data;
    const ownerRow = members.find((m: { email: string }) => m.email === "owner@example.com");
    const byKey = await call("PATCH", `/api/members/${ownerRow.user_id}`, { role: "admin" });
    expect([byKey.status, byKey.body.error.code]).toEqual([403, "forbidden"]);
    const asOwner = await session(ownerRow.user_id);
    for (const [method, body] of [
      ["PATCH", { role: "admin" }],
      ["DELETE", undefined],
    ] as const) {
      const res = await asOwner(method, `/api/members/${ownerRow.user_id}`, body);
      expect([method, res.status, res.body.error.code]).toEqual([method, 409, "conflict"]);
    }
    expect((await call("PATCH", `/api/members/${userId}`, { role: "admin" })).body.data.role).toBe("admin");
    expect((await call("DELETE", `/api/members/${userId}`)).status).toBe(200);
    expect((await as("GET", "/api/members")).status).toBe(401); // no longer a member

    // A signed-out session (its row revoked, as sign-out does) no longer counts, seal or not.
    expect((await asOwner("GET", "/api/members")).status).toBe(200);
    await sql.query("update user_sessions set revoked_at = now() where user_id = $1", [ownerRow.user_id]);
    expect((await asOwner("GET", "/api/members")).status).toBe(401);
  });
});

// Two Berths on one PostgreSQL, as a deployment with several instances runs: a key revoked through
// one instance, or by the CLI (its own process), stops working on the other as soon as the
// database's notification reaches it, although the other had it cached; also when the other had lost its connection for revocation news.
describe("API key revocation across instances on PostgreSQL", () => {
  const NEWS_MS = 2_000;
  let a: BerthServer;
  let b: BerthServer;
  let owner: Account;
  let connId: string;
  let pgDb: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let sql: pg.Client;

  beforeAll(async () => {
    pgDb = await createPostgresDatabase();
    const env = { DATABASE_URL: pgDb.url, BERTH_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString("base64")}` };
    ({ berth: a, owner, connId } = await startCrew(env));
    b = await startBerth(env);
    sql = new pg.Client({ connectionString: pgDb.url });
    await sql.connect();
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await sql?.end();
    await pgDb?.drop();
  });

  /** A new key, used once on B over MCP and REST, so that B's key cache holds it. */
  async function keyCachedOnB(name: string) {
    const created = await api(a.url, owner.api_key)("POST", "/api/api-keys", { name });
    expect(created.status, created.text).toBe(201);
    const onB = api(b.url, created.body.data.key);
    expect((await mcpInitialize(onB, connId)).status).toBe(200);
    expect((await onB("GET", "/api/mcp-connections")).status).toBe(200);
    return { id: created.body.data.id as string, onB };
  }
  const listenerPids = async () =>
    (
      await sql.query<{ pid: number }>(
        "select pid from pg_stat_activity where datname = current_database() and query ilike 'listen %'",
      )
    ).rows.map((r) => r.pid);

  /**
   * Other instances hear of a revocation when PostgreSQL delivers its notification, milliseconds
   * after the revoke is answered; the bound is far below the cache's 10 s, so only the news can pass it.
   */
  async function refusedWithinNews(what: string, call: () => Promise<{ status: number }>) {
    const started = Date.now();
    await until(what, async () => ((await call()).status === 401 ? true : undefined), NEWS_MS);
    console.log(`${what}: refused after ${Date.now() - started} ms`);
  }

  it("a key revoked through instance A is refused by instance B as soon as B hears of it", async () => {
    await until("both instances to listen for revocations", async () =>
      (await listenerPids()).length >= 2 ? true : undefined,
    );
    const { id, onB } = await keyCachedOnB("via-a");
    expect((await api(a.url, owner.api_key)("DELETE", `/api/api-keys/${id}`)).status).toBe(200);
    await refusedWithinNews("B refusing the key revoked through A", () => mcpInitialize(onB, connId));
    expect((await onB("GET", "/api/mcp-connections")).status).toBe(401);
  });

  it("a key revoked by the CLI (its own process on the database) is refused by both as soon as they hear", async () => {
    const { id, onB } = await keyCachedOnB("via-cli");
    const key = (await api(a.url, owner.api_key)("POST", "/api/api-keys", { name: "cached-on-a" })).body.data;
    const onA = api(a.url, key.key);
    expect((await mcpInitialize(onA, connId)).status).toBe(200);
    await a.cli(["api-keys", "revoke", "--id", id]);
    await a.cli(["api-keys", "revoke", "--id", key.id]);
    await refusedWithinNews("B refusing the key the CLI revoked", () => mcpInitialize(onB, connId));
    await refusedWithinNews("A refusing the key the CLI revoked", () => mcpInitialize(onA, connId));
  });

  it("an instance that lost its revocation news checks keys in the database until it hears again", async () => {
    const { id, onB } = await keyCachedOnB("while-deaf");
    // Cut every listener's connection; revoke before they are back.
    for (const pid of await listenerPids()) await sql.query("select pg_terminate_backend($1)", [pid]);
    await new Promise((r) => setTimeout(r, 100));
    await sql.query("update api_keys set revoked_at = now() where id = $1", [id]); // no notification at all
    expect((await mcpInitialize(onB, connId)).status).toBe(401);
    // It listens again, and caches again.
    await until("the listeners to be back", async () => ((await listenerPids()).length >= 2 ? true : undefined));
    const again = await keyCachedOnB("after");
    expect((await mcpInitialize(again.onB, connId)).status).toBe(200);
  });
});
