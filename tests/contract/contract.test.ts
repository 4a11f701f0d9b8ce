import crypto from "node:crypto";
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import type { Route } from "@/lib/core/http/route";
import { ROUTES, type RouteKey } from "@/lib/core/http/routes";
import { functionPath } from "@/lib/edge/app";
import { FakeE2B } from "../fakes/e2b-server";
import { api, type BerthServer, startBerth } from "../support/berth-server";
import { createPostgresDatabase } from "../support/databases";
import { type EdgeFunction, startEdgeFunction } from "../support/edge-function";

/**
 * One REST contract, two hosts on one database: the app's routes (Next's process, node:http)
 * and the Edge Function under Deno (`npm run functions:serve`), both from the route table,
 * on this machine's PostgreSQL with E2B sandboxes (the fake E2B, driven by the real SDK).
 * Every success is checked against the answer schema its route declares.
 */

type Account = { account_id: string; api_key: string };
type Target = { name: string; url(): string; path(apiPath: string): string; servesMcp: boolean };

const support = FakeE2B.supported();
if (!support.ok) console.log(`[contract] skipped: ${support.reason}`);

const SERVICE_KEY = `service-${crypto.randomBytes(24).toString("base64url")}`;
let fake: FakeE2B;
let dropDb: () => Promise<void>;
let app: BerthServer;
let fn: EdgeFunction;
let owner: Account;
let stranger: Account;
let publicUrl: string;

const TARGETS: Target[] = [
  { name: "the app's routes", url: () => app.url, path: (p) => p, servesMcp: true },
  {
    name: "the Edge Function",
    url: () => fn.url.replace(/\/functions\/v1\/.*/, ""),
    path: (p) => `/functions/v1${functionPath(p)}`,
    servesMcp: false,
  },
];

const routes = Object.entries(ROUTES) as [RouteKey, Route][];
const fill = (path: string, values: Record<string, string>) =>
  path.replace(/:(\w+)/g, (_, k: string) => values[k] ?? "");

describe.skipIf(!support.ok)("the REST contract", () => {
  beforeAll(async () => {
    fake = await FakeE2B.start();
    const db = await createPostgresDatabase();
    dropDb = db.drop;
    const c = fake.connection;
    const env = {
      DATABASE_URL: db.url,
      BERTH_ENCRYPTION_KEYS: `k1:${crypto.randomBytes(32).toString("base64")}`,
      SANDBOX_PROVIDER: "e2b",
      E2B_API_KEY: c.apiKey,
      E2B_API_URL: c.apiUrl,
      E2B_SANDBOX_URL: c.sandboxUrl,
      E2B_PORT_URL_TEMPLATE: c.portUrlTemplate,
      SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
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
  }, 180_000);

  afterAll(async () => {
    await fn?.stop();
    await app?.stop();
    await fake?.close();
    await dropDb?.();
  });

  describe.each(TARGETS)("on $name", (target) => {
    let connId: string;

    /** Calls a route by its key; a success must match the answer schema the route declares. */
    const call = async (
      key: RouteKey,
      opts: { params?: Record<string, string>; query?: string; body?: unknown; key?: string | null } = {},
    ) => {
      const [method = "", path = ""] = key.split(" ");
      const url = target.path(fill(path, { id: connId, idOrSlug: "memory", ...opts.params })) + (opts.query ?? "");
      const res = await api(target.url(), opts.key === null ? undefined : (opts.key ?? owner.api_key))(
        method,
        url,
        opts.body,
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

    const served = (r: Route) => r.access === "account" || (r.access === "gateway" && target.servesMcp);

    it("answers 401 on every route of an account, without a key or with a wrong one", async () => {
      const checked = routes.filter(([, r]) => served(r));
      expect(checked.length).toBeGreaterThan(15);
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
      expect(ofConnection.length).toBeGreaterThan(10);
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
      expect(tools.body.data.map((t: { name: string }) => t.name)).toContain("read_graph");
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

    it("runs a maintenance sweep for the service key only", async () => {
      expect((await call("POST /api/maintenance", { key: null })).status).toBe(401);
      expect((await call("POST /api/maintenance")).status).toBe(401); // an account's key is not the service's
      const res = await call("POST /api/maintenance", { key: SERVICE_KEY });
      expect(res.status, res.text).toBe(200);
      expect(res.body.data).toEqual({
        extended: expect.any(Number),
        expired: expect.any(Number),
        restarted: expect.any(Number),
      });
    });

    it("serves health to anyone and its OpenAPI document", async () => {
      expect((await call("GET /api/health", { key: null })).body).toEqual({ status: "ok" });
      const doc = await call("GET /api/openapi.json", { key: null });
      expect(Object.keys(doc.body.paths)).toContain("/api/mcp-connections/{id}/extend");
    });
  });
});
