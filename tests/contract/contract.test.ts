import crypto from "node:crypto";
import fs from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import type { Route } from "@/lib/core/http/route";
import { ROUTES, type RouteKey } from "@/lib/core/http/routes";
import { functionPath } from "@/lib/edge/app";
import { FakeE2B } from "../fakes/e2b-server";
import { FakeSupabaseAuth } from "../fakes/supabase-auth";
import { api, type BerthServer, mcpInitialize, startBerth } from "../support/berth-server";
import { createPostgresDatabase } from "../support/databases";
import { type EdgeFunction, startEdgeFunction } from "../support/edge-function";

/**
 * One REST contract, two hosts on one database: the app's routes (Next's process, node:http)
 * and the Edge Function under Deno (`npm run functions:serve`), both from the route table,
 * on this machine's PostgreSQL with E2B sandboxes (the fake E2B, driven by the real SDK).
 * Every success is checked against the answer schema its route declares.
 */

type Account = { account_id: string; api_key: string };
type Target = { name: string; url(): string; path(apiPath: string): string; isApp: boolean };

const support = FakeE2B.supported();
if (!support.ok) console.log(`[contract] skipped: ${support.reason}`);

const SERVICE_KEY = `service-${crypto.randomBytes(24).toString("base64url")}`;
let fake: FakeE2B;
let supabase: FakeSupabaseAuth;
/** Supabase users: an admin of Owner (and a member of Stranger), a member of Owner, and nobody's. */
const users = { admin: "", member: "", outsider: "" };
let dropDb: () => Promise<void>;
let app: BerthServer;
let fn: EdgeFunction;
let owner: Account;
let stranger: Account;
let publicUrl: string;

const TARGETS: Target[] = [
  { name: "the app's routes", url: () => app.url, path: (p) => p, isApp: true },
  {
    name: "the Edge Function",
    url: () => fn.url.replace(/\/functions\/v1\/.*/, ""),
    path: (p) => `/functions/v1${functionPath(p)}`,
    isApp: false,
  },
];

const routes = Object.entries(ROUTES) as [RouteKey, Route][];
const fill = (path: string, values: Record<string, string>) =>
  path.replace(/:(\w+)/g, (_, k: string) => values[k] ?? "");

describe.skipIf(!support.ok)("the REST contract", () => {
  beforeAll(async () => {
    fake = await FakeE2B.start();
    supabase = await FakeSupabaseAuth.start();
    const db = await createPostgresDatabase();
    dropDb = db.drop;
    const env = {
      DATABASE_URL: db.url,
      BERTH_ENCRYPTION_KEYS: `k1:${crypto.randomBytes(32).toString("base64")}`,
      ...fake.berthEnv(),
      SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
      // Sweeps happen when the tests ask for them (POST /maintenance), as on Supabase with pg_cron.
      BERTH_MAINTENANCE_INTERVAL_MS: "3600000",
      // The app reads the project from its NEXT_PUBLIC_ names, the function from SUPABASE_URL.
      NEXT_PUBLIC_SUPABASE_URL: supabase.url,
      NEXT_PUBLIC_SUPABASE_PUBLISHABLE_KEY: "sb_publishable_contract",
      SUPABASE_URL: supabase.url,
    };
    app = await startBerth(env); // migrates the database
    // The app's public URL (its MCP endpoints): what the function's answers name too.
    publicUrl = app.url.replace("127.0.0.1", "localhost");
    fn = await startEdgeFunction({ ...env, BERTH_PUBLIC_URL: publicUrl });
    owner = (await app.cli(["accounts", "create", "--name", "Owner"])) as Account;
    stranger = (await app.cli(["accounts", "create", "--name", "Stranger"])) as Account;
    const file = `${app.dataDir}/fails.json`;
    const start = `node -e "console.error('missing FAILS_TOKEN'); process.exit(3)"`;
    fs.writeFileSync(file, JSON.stringify({ slug: "fails", title: "Fails", start_command: start }));
    await app.cli(["servers", "add", "--file", file]);
    for (const name of Object.keys(users) as (keyof typeof users)[]) {
      users[name] = supabase.createUser({ email: `${name}@example.com`, password: "correct horse battery" });
    }
    const link = (account: Account, user: string, role: string) =>
      app.cli(["members", "add", "--account", account.account_id, "--user-id", user, "--role", role]);
    await link(owner, users.admin, "admin");
    await link(owner, users.member, "member");
    await link(stranger, users.admin, "member");
  }, 180_000);

  afterAll(async () => {
    await fn?.stop();
    await app?.stop();
    await fake?.close();
    await supabase?.close();
    await dropDb?.();
  });

  describe.each(TARGETS)("on $name", (target) => {
    let connId: string;

    /** Calls a route by its key; a success must match the answer schema the route declares. */
    const call = async (
      key: RouteKey,
      opts: {
        params?: Record<string, string>;
        query?: string;
        body?: unknown;
        key?: string | null;
        headers?: Record<string, string>;
      } = {},
    ) => {
      const [method = "", path = ""] = key.split(" ");
      const url =
        target.path(fill(path, { id: connId, idOrSlug: "memory", userId: connId, grantId: connId, ...opts.params })) +
        (opts.query ?? "");
      const res = await api(target.url(), opts.key === null ? undefined : (opts.key ?? owner.api_key))(
        method,
        url,
        opts.body,
        opts.headers,
      );
      const answer = (ROUTES[key] as Route).answers[res.status as 200];
      if (answer?.schema) {
        const parsed = (answer.schema as z.ZodType).safeParse(res.body?.data);
        expect(parsed.error, `${key} answered ${res.status} off its schema`).toBeUndefined();
      }
      return res;
    };

    beforeAll(async () => {
      const res = await call("POST /api/mcp-connections/install", {
        body: { account_id: owner.account_id, server_id: "memory", name: target.name },
      });
      expect(res.status, res.text).toBe(201);
      connId = res.body.data.id;
    }, 120_000);

    // The MCP endpoint and the inspector talk to the server the app holds a session with: app only.
    const served = (r: Route) =>
      (r.access === "account" && (!r.live || target.isApp)) || (r.access === "gateway" && target.isApp);

    it("answers 401 on every route of an account, without a key or with a wrong one", async () => {
      const checked = routes.filter(([, r]) => served(r));
      expect(checked.length).toBeGreaterThan(8);
      for (const key of [null, "berth_not-a-real-key-000000000000000000000000"]) {
        for (const [route, r] of checked) {
          const res = await call(route, { key, body: r.example });
          expect([route, res.status]).toEqual([route, 401]);
          expect(res.body.error.code).toBe("unauthorized");
        }
      }
    });

    it("answers 404 to another account on every route of a connection, and changes nothing", async () => {
      const ofConnection = routes.filter(([key, r]) => served(r) && /:id(\/|$)/.test(key));
      expect(ofConnection.length).toBeGreaterThan(5);
      for (const [route, r] of ofConnection) {
        const res = await call(route, { key: stranger.api_key, body: r.example });
        expect([route, res.status]).toEqual([route, 404]);
        expect(res.body.error.code).toBe("not_found");
      }
      const claims = [
        await call("POST /api/mcp-connections/install", {
          key: stranger.api_key,
          body: { account_id: owner.account_id, server_id: "memory" },
        }),
        await call("GET /api/mcp-connections", { key: stranger.api_key, query: `?account_id=${owner.account_id}` }),
      ];
      for (const res of claims) expect(res.status).toBe(404);
      expect((await call("GET /api/mcp-connections/:id")).body.data.status).toBe("running");
    });

    it("answers 401 on every route of an account to a revoked API key, at once", async () => {
      const created = await call("POST /api/api-keys", { body: { name: `revoked on ${target.name}` } });
      expect(created.status, created.text).toBe(201);
      const revoked = created.body.data.key as string;
      expect((await call("GET /api/mcp-connections/:id", { key: revoked })).status).toBe(200);
      const revoke = await call("DELETE /api/api-keys/:id", { params: { id: created.body.data.id } });
      expect(revoke.status, revoke.text).toBe(200);
      const checked = routes.filter(([, r]) => served(r));
      for (const [route, r] of checked) {
        const res = await call(route, { key: revoked, body: r.example });
        expect([route, res.status]).toEqual([route, 401]);
      }
    });

    it("answers a member 403 on every admin route, and lets them through every other route of the account", async () => {
      const member = await supabase.sign({ sub: users.member });
      const ofAccount = routes.filter(([, r]) => served(r) && r.access === "account");
      const admin = ofAccount.filter(([, r]) => r.admin);
      expect(admin.length).toBeGreaterThan(5);
      for (const [route, r] of admin) {
        const res = await call(route, { key: member, body: r.example, params: { id: crypto.randomUUID() } });
        expect([route, res.status, res.body?.error?.code]).toEqual([route, 403, "forbidden"]);
      }
      // The rest answer as for anyone of the account (a route's own 4xx aside), never 401 or 403.
      for (const [route, r] of ofAccount.filter(([, r]) => !r.admin)) {
        const res = await call(route, { key: member, body: r.example });
        // (A server's own error, 502, is the route's answer: memory has no resource to read.)
        const declared = (r.errors as number[]).includes(res.status);
        const refused = res.status === 401 || res.status === 403 || (res.status >= 500 && !declared);
        expect(refused, `${route} → ${res.status} ${res.text.slice(0, 300)}`).toBe(false);
      }
      expect((await call("GET /api/mcp-connections/:id")).body.data.status).toBe("running");
    }, 60_000);

    it("answers a user of another account, signed in with Supabase, 404 on every route of a connection", async () => {
      // users.admin is Stranger's member too: in Stranger, Owner's connection is not there. Admin
      // routes refuse a member first (403, whatever the id: it tells nothing about the connection).
      const token = await supabase.sign({ sub: users.admin });
      const headers = { "berth-account": stranger.account_id };
      for (const [route, r] of routes.filter(([key, r]) => served(r) && /:id(\/|$)/.test(key))) {
        const res = await call(route, { key: token, headers, body: r.example });
        expect([route, res.status]).toEqual([route, r.admin ? 403 : 404]);
      }
      expect((await call("GET /api/mcp-connections/:id")).body.data.status).toBe("running");
    });

    it("installs on E2B, then lists, gets, extends, inspects and deletes, as the route table says", async () => {
      const list = await call("GET /api/mcp-connections");
      expect(list.body.data.map((c: { id: string }) => c.id)).toContain(connId);
      const got = await call("GET /api/mcp-connections/:id");
      expect(got.body.data).toMatchObject({ id: connId, status: "running", provider: "e2b" });
      expect(got.body.data.mcp_url).toBe(`${publicUrl}/api/mcp/${connId}`);
      expect(JSON.stringify(got.body)).not.toMatch(/credentials/);

      const extended = await call("POST /api/mcp-connections/:id/extend", { body: { seconds: 7200 } });
      expect(extended.status).toBe(200);
      expect(Date.parse(extended.body.data.expires_at)).toBeGreaterThan(Date.now() + 7000 * 1000);
      const tools = await call("GET /api/mcp-connections/:id/tools");
      if (target.isApp) expect(tools.body.data.map((t: { name: string }) => t.name)).toContain("read_graph");
      else
        expect([tools.status, tools.body.error.message]).toEqual([
          404,
          "This route is served by Berth's app, not here.",
        ]);
      const events = await call("GET /api/mcp-connections/:id/events");
      expect(events.body.data.map((e: { type: string }) => e.type)).toEqual(
        expect.arrayContaining(["installed", "running", "extended"]),
      );
      expect((await call("GET /api/mcp-server-definitions")).body.data.length).toBeGreaterThan(3);
      expect((await call("GET /api/mcp-server-definitions/:idOrSlug")).body.data.slug).toBe("memory");

      const sandbox = got.body.data.sandbox_id;
      expect(fake.sandboxIds()).toContain(sandbox);
      const deleted = await call("DELETE /api/mcp-connections/:id");
      expect(deleted.body.data.status).toBe("deleted");
      expect(fake.sandboxIds()).not.toContain(sandbox);
      expect((await call("GET /api/mcp-connections/:id")).status).toBe(404);
    }, 120_000);

    it("answers a failed dry run 422 with the server's stderr, and stores nothing", async () => {
      const before = (await call("GET /api/mcp-connections")).body.data.length;
      const res = await call("POST /api/mcp-connections/install", {
        body: { account_id: owner.account_id, server_id: "fails", dry_run: true },
      });
      expect(res.status, res.text).toBe(422);
      expect(res.body.error.code).toBe("dry_run_failed");
      expect(res.body.error.details.stderr).toContain("missing FAILS_TOKEN");
      expect((await call("GET /api/mcp-connections")).body.data.length).toBe(before);
    }, 120_000);

    it("answers bad input 400 per field, big bodies 413, unknown routes 404 and other methods 405", async () => {
      const bad = await call("POST /api/mcp-connections/install", {
        body: { account_id: owner.account_id, server_id: "memory", timeout: 0, colour: "red" },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(["colour", "timeout"]);
      const big = await call("POST /api/mcp-connections/install", {
        body: { account_id: owner.account_id, server_id: "memory", name: "x".repeat(70 * 1024) },
      });
      expect(big.status).toBe(413);
      expect(big.body.error.code).toBe("payload_too_large");
      const unknown = await api(target.url(), owner.api_key)("GET", target.path("/api/no/such/route"));
      expect([unknown.status, unknown.body.error.code]).toEqual([404, "not_found"]);
      const other = await api(target.url(), owner.api_key)("PATCH", target.path("/api/mcp-server-definitions"));
      expect(other.status).toBe(405);
      expect(other.headers.get("allow")).toBe("GET");
      expect(other.text).not.toMatch(/at \S+ \(|node_modules/);
    });

    it("runs a maintenance sweep for the service key only: an unkept connection past its time expires", async () => {
      expect((await call("POST /api/maintenance", { key: null })).status).toBe(401);
      expect((await call("POST /api/maintenance")).status).toBe(401); // an account's key is not the service's
      const short = await call("POST /api/mcp-connections/install", {
        body: { account_id: owner.account_id, server_id: "memory", timeout: 12, keep_alive: false },
      });
      expect(short.body.data.status, short.body.data.last_error).toBe("running");
      const params = { id: short.body.data.id };
      const left = Date.parse(short.body.data.expires_at) - Date.now();
      await new Promise((r) => setTimeout(r, left + 500));
      const res = await call("POST /api/maintenance", { key: SERVICE_KEY });
      expect(res.status, res.text).toBe(200);
      expect(res.body.data).toEqual({
        extended: expect.any(Number),
        expired: expect.any(Number),
        restarted: expect.any(Number),
        tokens_refreshed: 0,
        slept: 0, // the function holds no sandbox: only the instance hosting one puts it to sleep
        tool_calls_pruned: expect.any(Number),
        extensions_left_due: expect.any(Number),
      });
      // The function keeps no sandbox past its request: only the sweep can have expired this one
      // (the app's own crash watch may get there first, when E2B ends the sandbox on time).
      expect((await call("GET /api/mcp-connections/:id", { params })).body.data.status).toBe("expired");
      expect(fake.sandboxIds()).not.toContain(short.body.data.sandbox_id);
    }, 60_000);

    it("accepts a member's Supabase access token, in the account it picks, with the member's rights", async () => {
      const admin = await supabase.sign({ sub: users.admin });
      const mine = await call("GET /api/mcp-connections", { key: admin });
      expect(mine.status, mine.text).toBe(200);
      expect(mine.body.data.every((c: { account_id: string }) => c.account_id === owner.account_id)).toBe(true);
      // A user of two accounts names the other one; an account not theirs is not reachable.
      const other = await call("GET /api/mcp-connections", {
        key: admin,
        headers: { "berth-account": stranger.account_id },
      });
      expect(other.body.data.every((c: { account_id: string }) => c.account_id === stranger.account_id)).toBe(true);
      const member = await supabase.sign({ sub: users.member });
      const notTheirs = await call("GET /api/mcp-connections", {
        key: member,
        headers: { "berth-account": stranger.account_id },
      });
      expect(notTheirs.status).toBe(401);

      // An admin installs; a member reads and extends, but neither installs nor deletes.
      const installed = await call("POST /api/mcp-connections/install", {
        key: admin,
        body: { account_id: owner.account_id, server_id: "memory", name: "by an admin" },
      });
      expect(installed.status, installed.text).toBe(201);
      const params = { id: installed.body.data.id };
      expect((await call("GET /api/mcp-connections/:id", { key: member, params })).status).toBe(200);
      expect((await call("POST /api/mcp-connections/:id/extend", { key: member, params, body: {} })).status).toBe(200);
      const install = await call("POST /api/mcp-connections/install", {
        key: member,
        body: { account_id: owner.account_id, server_id: "memory" },
      });
      expect([install.status, install.body.error.code]).toEqual([403, "forbidden"]);
      expect((await call("DELETE /api/mcp-connections/:id", { key: member, params })).status).toBe(403);
      expect((await call("GET /api/mcp-connections/:id", { key: admin, params })).body.data.status).toBe("running");
      if (target.isApp) {
        // The MCP endpoint takes the same token: a member's agent initializes a session.
        const session = await mcpInitialize(api(target.url(), member), params.id);
        expect(session.status, session.text).toBe(200);
        expect(session.headers.get("mcp-session-id")).toBeTruthy();
        const outsider = await mcpInitialize(
          api(target.url(), await supabase.sign({ sub: users.outsider })),
          params.id,
        );
        expect(outsider.status).toBe(401);
      }
      expect((await call("DELETE /api/mcp-connections/:id", { key: admin, params })).status).toBe(200);
    }, 120_000);

    it("refuses Supabase tokens of nobody's users, expired, foreign or forged ones", async () => {
      const bad = [
        await supabase.sign({ sub: users.outsider }),
        await supabase.sign({ sub: users.admin, exp: Math.floor(Date.now() / 1000) - 10 }),
        await supabase.sign({ sub: users.admin, iss: "https://elsewhere.supabase.co/auth/v1" }),
        await supabase.sign({ sub: users.admin }, { key: "stranger" }),
        await supabase.sign({ sub: users.admin, role: "anon" }),
        await supabase.sign({ sub: users.admin }, { alg: "none" }),
      ];
      for (const [i, token] of bad.entries()) {
        const res = await call("GET /api/mcp-connections", { key: token });
        expect([i, res.status]).toEqual([i, 401]);
      }
    });

    it("serves health to anyone and its OpenAPI document", async () => {
      expect((await call("GET /api/health", { key: null })).body).toEqual({ status: "ok" });
      const doc = await call("GET /api/openapi.json", { key: null });
      expect(Object.keys(doc.body.paths)).toContain("/api/mcp-connections/{id}/extend");
    });
  });

  /** A hostile tenant's attacks on the Supabase half (round 4); each succeeded before its fix. */
  describe("hostile tenant, round 4", () => {
    const asOwner = () => api(app.url, owner.api_key);
    const install = async (key: string, account: Account) => {
      const res = await api(app.url, key)("POST", "/api/mcp-connections/install", {
        account_id: account.account_id,
        server_id: "memory",
      });
      expect(res.status, res.text).toBe(201);
      return res.body.data.id as string;
    };

    it("a tool name PostgreSQL cannot store does not erase other tenants' audit events", async () => {
      const mine = await install(stranger.api_key, stranger);
      const victim = await install(owner.api_key, owner);
      const count = async () =>
        (await asOwner()("GET", `/api/mcp-connections/${victim}`)).body.data.tool_calls?.count ?? 0;
      const before = await count();
      // A lone surrogate (the inspector refuses it, 400; the MCP endpoint relays it), and a long
      // name whose cut (at 200) splits an emoji in two.
      const lone = "read_graph\ud800";
      const refused = await api(app.url, stranger.api_key)("POST", `/api/mcp-connections/${mine}/tools/call`, {
        name: lone,
      });
      expect(refused.status).toBe(400);
      const session = await mcpInitialize(api(app.url, stranger.api_key), mine);
      const viaMcp = await api(app.url, stranger.api_key)(
        "POST",
        `/api/mcp/${mine}`,
        { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: lone, arguments: {} } },
        {
          accept: "application/json, text/event-stream",
          "mcp-session-id": session.headers.get("mcp-session-id") as string,
        },
      );
      expect(viaMcp.status, viaMcp.text).toBe(200);
      await api(app.url, stranger.api_key)("POST", `/api/mcp-connections/${mine}/tools/call`, {
        name: `${"x".repeat(199)}\u{1F600}`,
        arguments: {},
      });
      for (let i = 0; i < 3; i++) {
        const res = await asOwner()("POST", `/api/mcp-connections/${victim}/tools/call`, {
          name: "read_graph",
          arguments: {},
        });
        expect(res.status).toBe(200);
      }
      await new Promise((r) => setTimeout(r, 2500)); // events are written once a second
      expect(await count()).toBe(before + 3);
      const events = (await api(app.url, stranger.api_key)("GET", `/api/mcp-connections/${mine}/events`)).body.data;
      expect(events.filter((e: { type: string }) => e.type === "tool_call").length).toBe(2);
    });

    it("credentials too long to scrub quickly are refused per field", async () => {
      const long = (n: number) => "k".repeat(n);
      const one = await asOwner()("POST", "/api/mcp-connections/install", {
        account_id: owner.account_id,
        server_id: "brave-search",
        dry_run: true,
        credentials: { BRAVE_API_KEY: long(16_000) },
      });
      expect(one.status).toBe(400);
      expect(one.body.error.details).toEqual([
        { path: "credentials.BRAVE_API_KEY", message: "At most 4096 characters." },
      ]);
    });

    it("spelling the Authorization header another way is not another caller for the REST pacing", async () => {
      const variant = (i: number) =>
        `${[..."bearer"].map((c, j) => ((i >> j) & 1 ? c.toUpperCase() : c)).join("")}${" ".repeat((i % 3) + 1)}${stranger.api_key}`;
      const answers = await Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          fetch(`${app.url}/api/mcp-server-definitions`, { headers: { authorization: variant(i) } }).then(
            (r) => r.status,
          ),
        ),
      );
      expect(answers.filter((s) => s === 429).length).toBeGreaterThan(100);
      await new Promise((r) => setTimeout(r, 3000)); // the bucket fills again for the tests after
    });

    it.each(TARGETS)("answers a NUL or control character in a path 404 on $name, not 500", async (target) => {
      for (const p of [
        "/api/mcp-server-definitions/%00",
        "/api/mcp-server-definitions/a%00b",
        "/api/mcp-connections/%0a",
      ]) {
        const res = await api(target.url(), owner.api_key)("GET", target.path(p));
        expect([p, res.status]).toEqual([p, 404]);
      }
    });

    it("answers JSON nested past 512 levels 400, not a stack overflow", async () => {
      const id = await install(owner.api_key, owner);
      const deep = `{"name":"read_graph","arguments":{"a":${"[".repeat(10_000)}${"]".repeat(10_000)}}}`;
      const res = await fetch(`${app.url}/api/mcp-connections/${id}/tools/call`, {
        method: "POST",
        headers: { authorization: `Bearer ${owner.api_key}`, "content-type": "application/json" },
        body: deep,
      });
      expect(res.status).toBe(400);
      expect(await res.text()).not.toMatch(/stack/i);
    });

    it("a Supabase session cookie the keys cannot verify signs nobody in, and breaks no page", async () => {
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
      const now = Math.floor(Date.now() / 1000);
      const claims = { aud: "authenticated", exp: now + 3600, sub: users.admin, role: "authenticated" };
      for (const alg of ["RS256", "XX256"]) {
        const token = `${b64({ alg, typ: "JWT", kid: supabase.kid })}.${b64(claims)}.AAAA`;
        const session = {
          access_token: token,
          refresh_token: "x",
          expires_at: now + 3600,
          expires_in: 3600,
          token_type: "bearer",
          user: { id: users.admin },
        };
        const cookie = `sb-127-auth-token=base64-${Buffer.from(JSON.stringify(session)).toString("base64url")}`;
        for (const page of ["/sign-in", "/dashboard"]) {
          const res = await fetch(`${app.url}${page}`, { headers: { cookie }, redirect: "manual" });
          expect([alg, page, res.status]).toEqual([alg, page, page === "/sign-in" ? 200 : 307]);
        }
      }
    });

    it("the Edge Function leaves the inspector to the app: no unaudited tool calls, no second server", async () => {
      const id = await install(owner.api_key, owner);
      const before = (await asOwner()("GET", `/api/mcp-connections/${id}`)).body.data.sandbox_id;
      const res = await api(fn.url.replace(/\/functions\/v1\/.*/, ""), owner.api_key)(
        "POST",
        `/functions/v1/mcp-connections/${id}/tools/call`,
        { name: "read_graph", arguments: {} },
      );
      expect(res.status).toBe(404);
      expect((await asOwner()("GET", `/api/mcp-connections/${id}`)).body.data.sandbox_id).toBe(before);
    });
  });

  it("a connection the Edge Function installed is served by the app's MCP endpoint, in the same sandbox", async () => {
    const fnApi = api(fn.url.replace(/\/functions\/v1\/.*/, ""), owner.api_key);
    const installed = await fnApi("POST", "/functions/v1/mcp-connections/install", {
      account_id: owner.account_id,
      server_id: "memory",
      keep_alive: false,
    });
    expect(installed.status, installed.text).toBe(201);
    const { id, sandbox_id: sandbox, expires_at: expires, keep_alive } = installed.body.data;
    expect(keep_alive).toBe(false); // not a keep-alive connection: nothing may restart it
    const extended = await fnApi("POST", `/functions/v1/mcp-connections/${id}/extend`, { seconds: 7200 });
    expect(extended.status).toBe(200);
    const client = new Client({ name: "adopt", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${app.url}/api/mcp/${id}`), {
        requestInit: { headers: { authorization: `Bearer ${owner.api_key}` } },
      }),
    );
    const graph = (await client.callTool({ name: "read_graph", arguments: {} })) as { content: unknown[] };
    expect(graph.content.length).toBeGreaterThan(0);
    await client.close();
    const after = (await api(app.url, owner.api_key)("GET", `/api/mcp-connections/${id}`)).body.data;
    expect([after.status, after.sandbox_id]).toEqual(["running", sandbox]);
    expect(new Date(after.expires_at).getTime()).toBe(new Date(extended.body.data.expires_at).getTime());
    expect(new Date(after.expires_at).getTime()).toBeGreaterThan(new Date(expires).getTime());
    const events = (await api(app.url, owner.api_key)("GET", `/api/mcp-connections/${id}/events`)).body.data;
    const types = events.map((e: { type: string }) => e.type);
    expect(types).not.toContain("restarted");
    expect(events.find((e: { data: { reason?: string } }) => e.data.reason === "adopted")).toBeTruthy();
  });
});
