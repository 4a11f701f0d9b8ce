import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type net from "node:net";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { api, type BerthServer, mcpInitialize, processesIn, startBerth } from "../support/berth-server";
import { launchChromium, signInThroughPage } from "../support/browser";
import { tempDir } from "../support/temp-dirs";
import { until } from "../support/until";

/**
 * A hostile tenant against "Connect with <provider>" (upstream OAuth). Each test asserts the
 * SECURE behaviour: a failing test is an attack that worked.
 *
 * The provider here is a hand-written OAuth server on 127.0.0.1 whose token endpoint each test
 * can make misbehave (garbage, huge, slow, echoing secrets, expiring at once). It stands for a
 * provider that is down, buggy or compromised; the tenants only hold their API keys and dashboard
 * sessions.
 */

type Conn = { id: string; status: string; mcp_url: string; last_error: string | null };
type Event = { type: string; data: Record<string, unknown> };
type Handler = (grant: string, body: URLSearchParams, res: http.ServerResponse) => boolean | Promise<boolean>;

const rand = () => crypto.randomBytes(18).toString("base64url");

class HostileProvider {
  readonly accessTokens: string[] = [];
  readonly refreshTokens: string[] = [];
  readonly grants: string[] = [];
  /** Seconds the next tokens live. */
  lifetime = 3600;
  /** Delays every token answer. */
  delayMs = 0;
  /** Answers the token request itself when it returns true. */
  handler: Handler | undefined;
  url = "";
  private readonly sockets = new Set<net.Socket>();
  private readonly server = http.createServer((req, res) => void this.serve(req, res));

  async start() {
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
    return this.url;
  }

  async stop() {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }

  reset() {
    this.lifetime = 3600;
    this.delayMs = 0;
    this.handler = undefined;
  }

  /** A normal answer: what the token endpoint gives. */
  answer(extra: Record<string, unknown> = {}) {
    const access = `at_${rand()}`;
    const refresh = `rt_${rand()}`;
    this.accessTokens.push(access);
    this.refreshTokens.push(refresh);
    return { access_token: access, token_type: "Bearer", expires_in: this.lifetime, refresh_token: refresh, ...extra };
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? "/", this.url);
    if (url.pathname === "/authorize") {
      // A person consents at once: back to the redirect URI with a code and the state.
      const back = new URL(url.searchParams.get("redirect_uri") as string);
      back.searchParams.set("code", `code_${rand()}`);
      back.searchParams.set("state", url.searchParams.get("state") as string);
      res.writeHead(302, { location: back.href }).end();
      return;
    }
    if (url.pathname === "/token" && req.method === "POST") {
      let raw = "";
      for await (const chunk of req) raw += chunk;
      const body = new URLSearchParams(raw);
      const grant = body.get("grant_type") ?? "";
      this.grants.push(grant);
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      if (res.destroyed) return;
      if (this.handler && (await this.handler(grant, body, res))) return;
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify(this.answer()));
      return;
    }
    res.writeHead(404).end();
  }
}

describe("hostile tenant vs upstream OAuth (Connect with <provider>)", () => {
  const provider = new HostileProvider();
  /** A server that must never be called (SSRF canary). */
  let canaryHits = 0;
  const canary = http.createServer((_req, res) => {
    canaryHits++;
    res.end("{}");
  });
  let canaryUrl = "";
  let berth: BerthServer;
  let browser: Browser;
  const clients: Client[] = [];
  let n = 0;

  beforeAll(async () => {
    const issuer = await provider.start();
    await new Promise<void>((r) => canary.listen(0, "127.0.0.1", r));
    canaryUrl = `http://127.0.0.1:${(canary.address() as net.AddressInfo).port}`;
    berth = await startBerth({
      SANDBOX_PROVIDER: "local",
      BERTH_MAINTENANCE_INTERVAL_MS: "250",
      BERTH_ACCOUNT_MAX_SANDBOXES: "2",
      BERTH_ACCOUNT_SANDBOX_STARTS_PER_MINUTE: "4",
      // Tokens here live seconds; refreshes at most every 6 s (60 by default) keep the suite short
      // while a provider's one-second tokens still cannot restart a server in a loop.
      BERTH_OAUTH_REFRESH_FLOOR_SECONDS: "6",
      BERTH_OAUTH_HOSTILE_GH_CLIENT_ID: "berth-client",
      BERTH_OAUTH_HOSTILE_GH_CLIENT_SECRET: "berth-client-secret",
    });
    const file = path.join(tempDir("hostile-up-"), "hostile-gh.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        slug: "hostile-gh",
        title: "GitHub (hostile local provider)",
        start_command: "npx -y @modelcontextprotocol/server-everything@2026.8.31 stdio",
        credential_schema: {
          type: "object",
          properties: {
            GITHUB_PERSONAL_ACCESS_TOKEN: { type: "string", minLength: 1, writeOnly: true },
            GITHUB_ORG: { type: "string" },
          },
          required: ["GITHUB_PERSONAL_ACCESS_TOKEN"],
        },
        oauth: {
          provider: "GitHub",
          authorization_url: `${issuer}/authorize`,
          token_url: `${issuer}/token`,
          scopes: ["repo"],
          env: { GITHUB_PERSONAL_ACCESS_TOKEN: "access_token" },
        },
      }),
    );
    await berth.cli(["servers", "add", "--file", file]);
    browser = await launchChromium();
  }, 120_000);

  afterEach(() => provider.reset());

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await browser?.close();
    await berth?.stop();
    await provider.stop();
    canary.close();
  });

  type Tenant = { accountId: string; key: string; call: ReturnType<typeof api>; cookie: string };

  /** A fresh account with an owner signed in to the dashboard. */
  async function tenant(name: string): Promise<Tenant> {
    const email = `${name}-${++n}@hostile-up.test`;
    const password = `${name}-password-${n}`;
    const account = (await berth.cli([
      "accounts",
      "create",
      "--name",
      `${name}-${n}`,
      "--owner-email",
      email,
      "--owner-password",
      password,
    ])) as { account_id: string; api_key: string };
    const { cookie } = await signInThroughPage(browser, berth.url, email, password);
    expect(cookie).not.toBe("");
    return { accountId: account.account_id, key: account.api_key, call: api(berth.url, account.api_key), cookie };
  }

  async function install(t: Tenant, credentials: Record<string, string> = {}) {
    const res = await t.call("POST", "/api/mcp-connections/install", {
      account_id: t.accountId,
      server_id: "hostile-gh",
      auth: "oauth",
      credentials,
    });
    expect(res.status, res.text).toBe(201);
    return res.body.data as Conn;
  }

  const get = async (t: Tenant, id: string) => (await t.call("GET", `/api/mcp-connections/${id}`)).body.data as Conn;
  const events = async (t: Tenant, id: string) =>
    (await t.call("GET", `/api/mcp-connections/${id}/events`)).body.data as Event[];
  const statusIs = (t: Tenant, id: string, status: string, ms = 30_000) =>
    until(`${id} ${status}`, async () => ((await get(t, id))?.status === status ? get(t, id) : undefined), ms);

  /** Starts a flow and goes through the provider: the callback URL the browser is sent back to (not visited yet). */
  async function startFlow(t: Tenant, id: string, body: Record<string, unknown> = {}) {
    const started = await t.call("POST", `/api/mcp-connections/${id}/authorize`, body);
    expect(started.status, started.text).toBe(200);
    const authorizationUrl = new URL(started.body.data.authorization_url);
    const atProvider = await fetch(authorizationUrl, { redirect: "manual" });
    return { started, authorizationUrl, callback: atProvider.headers.get("location") as string };
  }

  /** Visits a Berth URL as a browser with `cookie`: where Berth sends it. */
  async function visit(url: string, cookie: string) {
    const res = await fetch(url, { redirect: "manual", headers: cookie ? { cookie } : {} });
    expect(
      res.status,
      `${url} answered ${res.status}: ${(await res.clone().text()).slice(0, 500)}`,
    ).toBeGreaterThanOrEqual(300);
    expect(res.status).toBeLessThan(400);
    const raw = res.headers.get("location") as string;
    return { raw, url: new URL(raw, url) };
  }

  async function agent(t: Tenant, url: string) {
    const client = new Client({ name: "hostile-upstream", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: `Bearer ${t.key}` } },
      }),
    );
    clients.push(client);
    return client;
  }

  async function envSeenBy(client: Client) {
    const result = (await client.callTool({ name: "get-env", arguments: {} })) as { content: { text: string }[] };
    return JSON.parse(result.content[0]?.text ?? "{}") as Record<string, string>;
  }

  /** Sandboxes of this connection that have processes. */
  function liveSandboxesOf(connId: string) {
    const root = path.join(berth.dataDir, "sandboxes");
    if (!fs.existsSync(root)) return 0;
    let live = 0;
    for (const dir of fs.readdirSync(root)) {
      try {
        const owner = JSON.parse(fs.readFileSync(path.join(root, dir, "owner.json"), "utf8"));
        if (owner.connectionId === connId && processesIn(path.join(root, dir)).length > 0) live++;
      } catch {
        // not a sandbox, or gone
      }
    }
    return live;
  }

  const healthy = async () => (await fetch(`${berth.url}/api/health`)).status === 200;

  it("another tenant can neither start, complete nor hijack a victim's authorization (and no login CSRF)", async () => {
    const attacker = await tenant("attacker");
    const victim = await tenant("victim");
    const vconn = await install(victim);

    // The victim's connection id is not the attacker's to authorize.
    expect((await attacker.call("POST", `/api/mcp-connections/${vconn.id}/authorize`, {})).status).toBe(404);

    // The attacker's signed-in browser comes back with the victim's state (a leaked link).
    const vflow = await startFlow(victim, vconn.id);
    const hijack = await visit(vflow.callback, attacker.cookie);
    expect(hijack.url.searchParams.get("oauth_error")).toBeTruthy();
    expect((await get(victim, vconn.id)).status).toBe("auth_required");

    // Login CSRF: the victim's browser is sent to the attacker's own callback (attacker's code + state).
    const aconn = await install(attacker);
    const aflow = await startFlow(attacker, aconn.id);
    const csrf = await visit(aflow.callback, victim.cookie);
    expect(csrf.url.searchParams.get("oauth_error")).toBeTruthy();
    expect((await get(attacker, aconn.id)).status).toBe("auth_required");
    expect((await get(victim, vconn.id)).status).toBe("auth_required");

    // Forged states: the connection id, empty, the attacker's already-used state.
    for (const state of [vconn.id, "", "x".repeat(43)]) {
      const forged = new URL(vflow.callback);
      forged.searchParams.set("state", state);
      const r = await visit(forged.href, victim.cookie);
      expect(r.url.searchParams.get("oauth_error")).toBeTruthy();
    }
    expect((await get(victim, vconn.id)).status).toBe("auth_required");

    // The victim's own flow still completes, for the victim only.
    const mine = await visit(vflow.callback, victim.cookie);
    expect(mine.url.searchParams.get("oauth_error")).toBeNull();
    await statusIs(victim, vconn.id, "running");
    // The attacker replaying it afterwards changes nothing.
    const replay = await visit(vflow.callback, attacker.cookie);
    expect(replay.url.searchParams.get("oauth_error")).toBeTruthy();
    expect((await get(attacker, aconn.id)).status).toBe("auth_required");
  });

  it("return_to cannot send the browser off-site, directly or through another Berth page", async () => {
    const t = await tenant("redirects");
    const conn = await install(t);
    const candidates = [
      "/.//evil.example/x",
      "/sign-in?next=/.//evil.example",
      "/sign-in?next=/%2F%2Fevil.example",
      "/%2F%2Fevil.example",
      "/%5C%5Cevil.example",
      "/dashboard/..//evil.example",
      "/./%2fevil.example",
    ];
    const offsite: string[] = [];
    for (const return_to of candidates) {
      const started = await t.call("POST", `/api/mcp-connections/${conn.id}/authorize`, { return_to });
      if (started.status === 400) continue;
      expect(started.status, started.text).toBe(200);
      const url = new URL(started.body.data.authorization_url);
      // The provider's answer to a declined consent, as in RFC 6749 §4.1.2.1: no token needed.
      const back = new URL(url.searchParams.get("redirect_uri") as string);
      back.searchParams.set("error", "access_denied");
      back.searchParams.set("state", url.searchParams.get("state") as string);
      let at = back.href;
      for (let hop = 0; hop < 6; hop++) {
        const res = await fetch(at, { redirect: "manual", headers: { cookie: t.cookie } });
        const location = res.headers.get("location");
        if (!location || res.status < 300 || res.status >= 400) break;
        const next = new URL(location, at);
        if (next.origin !== new URL(at).origin) {
          offsite.push(`return_to ${return_to} → ${location}`);
          break;
        }
        at = next.href;
      }
    }
    expect(offsite).toEqual([]);
  });

  it("answers bad input on the new routes with 4xx, never a 500, a stack or a header injection", async () => {
    const t = await tenant("badinput");
    const conn = await install(t);
    const authorize = `/api/mcp-connections/${conn.id}/authorize`;
    const bad: [string, Awaited<ReturnType<Tenant["call"]>>][] = [
      ["not a uuid", await t.call("POST", "/api/mcp-connections/not-a-uuid/authorize", {})],
      ["unknown uuid", await t.call("POST", `/api/mcp-connections/${crypto.randomUUID()}/authorize`, {})],
      ["not json", await t.call("POST", authorize, "{not json", { "content-type": "application/json" })],
      ["array", await t.call("POST", authorize, [])],
      ["null", await t.call("POST", authorize, "null", { "content-type": "application/json" })],
      ["absolute return_to", await t.call("POST", authorize, { return_to: "https://evil.example/" })],
      ["protocol-relative", await t.call("POST", authorize, { return_to: "//evil.example/" })],
      ["backslash", await t.call("POST", authorize, { return_to: "/\\evil.example" })],
      ["CRLF", await t.call("POST", authorize, { return_to: "/x\r\nSet-Cookie: a=b" })],
      ["long", await t.call("POST", authorize, { return_to: `/${"a".repeat(100_000)}` })],
      ["number", await t.call("POST", authorize, { return_to: 5 })],
      ["extra", await t.call("POST", authorize, { connection_id: conn.id })],
      ["no key", await api(berth.url)("POST", authorize, {})],
    ];
    for (const [what, res] of bad) {
      expect(res.status, `${what}: ${res.text}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${what}: ${res.text}`).toBeLessThan(500);
      expect(res.text, what).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
    }

    // The callback, with anything in its query, as the signed-in owner and as nobody.
    const base = `${berth.url.replace("127.0.0.1", "localhost")}/oauth/upstream/callback`;
    const queries = [
      "",
      "state=",
      "state=a&state=b&code=c",
      `state=${"s".repeat(8000)}&code=c`,
      "state=abc%0d%0aSet-Cookie:%20pwn=1&code=c",
      "error=%3Cscript%3Ealert(1)%3C%2Fscript%3E%0d%0aX:%20y&state=abc",
      "code=only",
      "state=%00&code=%00",
      "iss=https%3A%2F%2Fevil.example&state=x&code=y",
    ];
    for (const q of queries) {
      for (const cookie of [t.cookie, ""]) {
        const res = await fetch(`${base}?${q}`, { redirect: "manual", headers: cookie ? { cookie } : {} });
        const body = await res.text();
        expect(res.status, `${q}: ${body.slice(0, 300)}`).toBeLessThan(500);
        expect(res.headers.get("set-cookie") ?? "").not.toContain("pwn");
        const location = res.headers.get("location") ?? "";
        expect(location).not.toMatch(/[\r\n]/);
        if (location) expect(new URL(location, base).origin).toBe(new URL(base).origin);
      }
    }
    // The path the brief's route names under /api.
    const apiCallback = await fetch(`${berth.url}/api/oauth/upstream/callback?state=x&code=y`, { redirect: "manual" });
    expect(apiCallback.status).toBeLessThan(500);

    // oauth_error is reflected on the connection's page: escaped, never markup.
    const page = await fetch(
      `${berth.url}/dashboard/connections/${conn.id}?oauth_error=${encodeURIComponent("<img src=x onerror=alert(1)>")}`,
      { headers: { cookie: t.cookie } },
    );
    expect(await page.text()).not.toContain("<img src=x onerror=alert(1)>");
    expect((await get(t, conn.id)).status).toBe("auth_required");
    expect(await healthy()).toBe(true);
  });

  it("refuses hostile token answers: oauth_error back, still auth_required, no sandbox, no SSRF, Berth alive", async () => {
    const t = await tenant("answers");
    const conn = await install(t);
    const json = (res: http.ServerResponse, status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      return true;
    };
    const cases: [string, Handler][] = [
      [
        "non-JSON 200",
        (_g, _b, res) => (res.writeHead(200, { "content-type": "text/html" }).end("<html>hi</html>"), true),
      ],
      [
        "JSON with the wrong type",
        (_g, _b, res) => (res.writeHead(200, { "content-type": "application/json" }).end("[1,2"), true),
      ],
      [
        "HTML 500",
        (_g, _b, res) => (
          res.writeHead(500, { "content-type": "text/html" }).end("<pre>at x (/srv/a.js:1)</pre>"), true
        ),
      ],
      [
        "NUL in the token",
        (_g, _b, res) => json(res, 200, provider.answer({ access_token: "abc\u0000LD_PRELOAD=/x" })),
      ],
      ["token is an object", (_g, _b, res) => json(res, 200, provider.answer({ access_token: { a: 1 } }))],
      ["no token", (_g, _b, res) => json(res, 200, { token_type: "Bearer", expires_in: 10 })],
      ["negative expires_in", (_g, _b, res) => json(res, 200, provider.answer({ expires_in: -5 }))],
      [
        "redirect to another URL (SSRF)",
        (_g, _b, res) => (res.writeHead(307, { location: `${canaryUrl}/steal` }).end(), true),
      ],
      [
        "30 MB body",
        (_g, _b, res) => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(`{"pad":"${"x".repeat(30 * 1024 * 1024)}"}`);
          return true;
        },
      ],
    ];
    const accepted: string[] = [];
    for (const [what, handler] of cases) {
      provider.handler = handler;
      const flow = await startFlow(t, conn.id);
      const started = Date.now();
      const back = await visit(flow.callback, t.cookie);
      expect(Date.now() - started, what).toBeLessThan(20_000);
      const now = await get(t, conn.id);
      if (!back.url.searchParams.get("oauth_error") || now.status !== "auth_required") {
        accepted.push(
          `${what}: location ${back.raw.slice(0, 200)}, status ${now.status}, ${now.last_error?.slice(0, 200)}`,
        );
        // Put it back for the next case.
        if (now.status !== "auth_required") break;
      }
      expect(await healthy(), what).toBe(true);
    }
    expect(canaryHits).toBe(0);
    expect(accepted).toEqual([]);
    expect(liveSandboxesOf(conn.id)).toBe(0);
  });

  it("a 4 MB access token is refused at the callback, quickly, and never reaches the log", async () => {
    const t = await tenant("huge-token");
    const conn = await install(t);
    const huge = `H${crypto.randomBytes(3 * 1024 * 1024).toString("hex")}`.slice(0, 4 * 1024 * 1024);
    provider.handler = (_g, _b, res) => {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify(provider.answer({ access_token: huge })));
      return true;
    };
    const logBefore = berth.output().length;
    const flow = await startFlow(t, conn.id);
    const started = Date.now();
    // Meanwhile, another tenant's view of Berth: how long its health check waits.
    let stalledMs = 0;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const at = Date.now();
        await fetch(`${berth.url}/api/health`).catch(() => {});
        stalledMs = Math.max(stalledMs, Date.now() - at);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const back = await visit(flow.callback, t.cookie);
    const took = Date.now() - started;
    polling = false;
    await poller;
    const now = await until(
      "settled",
      async () => {
        const c = await get(t, conn.id);
        return c.status === "deploying" ? undefined : c;
      },
      55_000,
    );
    const log = berth.output().slice(logBefore);
    console.log(`4 MB token: callback took ${took} ms, Berth's health check stalled up to ${stalledMs} ms`);
    expect({
      took_under_20s: took < 20_000,
      oauth_error: Boolean(back.url.searchParams.get("oauth_error")),
      status: now.status,
      log_grew_under_1MiB: log.length < 1024 * 1024,
      token_hex_in_log: log.includes(Buffer.from(huge.slice(1, 2001)).toString("hex")),
      regex_error_in_log: log.includes("Regular expression too large"),
      berth_stalled_under_2s: stalledMs < 2_000,
    }).toEqual({
      took_under_20s: true,
      oauth_error: true,
      status: "auth_required",
      log_grew_under_1MiB: true,
      token_hex_in_log: false,
      regex_error_in_log: false,
      berth_stalled_under_2s: true,
    });
  }, 60_000);

  it("a token with newlines reaches the server verbatim and injects no other variable", async () => {
    const t = await tenant("newline");
    const conn = await install(t);
    const token = "tok\nLD_PRELOAD=/tmp/evil.so\nGITHUB_ORG=pwned\r\n";
    provider.handler = (_g, _b, res) => {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify(provider.answer({ access_token: token })));
      return true;
    };
    const flow = await startFlow(t, conn.id);
    await visit(flow.callback, t.cookie);
    const after = await until("settled", async () => {
      const c = await get(t, conn.id);
      return c.status === "deploying" ? undefined : c;
    });
    if (after.status !== "running") return; // refused: fine
    const env = await envSeenBy(await agent(t, conn.mcp_url));
    expect(env.LD_PRELOAD).toBeUndefined();
    expect(env.GITHUB_ORG).toBeUndefined();
    expect(env.GITHUB_PERSONAL_ACCESS_TOKEN).toBe(token);
  });

  it("a slow token endpoint ends the callback in bounded time, auth_required, no sandbox", async () => {
    const t = await tenant("slow");
    const conn = await install(t);
    provider.delayMs = 40_000;
    const flow = await startFlow(t, conn.id);
    const started = Date.now();
    const back = await visit(flow.callback, t.cookie);
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(back.url.searchParams.get("oauth_error")).toBeTruthy();
    expect((await get(t, conn.id)).status).toBe("auth_required");
    expect(liveSandboxesOf(conn.id)).toBe(0);
  }, 60_000);

  it("never shows the access or refresh token: answers, events, Location, logs, the sandbox, a refusal echoing it", async () => {
    const t = await tenant("leaks");
    const conn = await install(t, { GITHUB_ORG: "acme" });
    const flow = await startFlow(t, conn.id);
    const back = await visit(flow.callback, t.cookie);
    await statusIs(t, conn.id, "running");
    const access = provider.accessTokens.at(-1) as string;
    const refresh = provider.refreshTokens.at(-1) as string;
    const client = await agent(t, conn.mcp_url);
    const env = await envSeenBy(client);
    expect(env.GITHUB_PERSONAL_ACCESS_TOKEN).toBe(access);
    // The server never learns the refresh token.
    expect(JSON.stringify(env)).not.toContain(refresh);

    const answers = [
      flow.started.text,
      back.raw,
      flow.callback,
      (await t.call("GET", `/api/mcp-connections/${conn.id}`)).text,
      (await t.call("GET", "/api/mcp-connections")).text,
      (await t.call("GET", `/api/mcp-connections/${conn.id}/events`)).text,
      (await t.call("GET", `/api/mcp-connections/${conn.id}/client-config`)).text,
      await fetch(`${berth.url}/dashboard/connections/${conn.id}`, { headers: { cookie: t.cookie } }).then((r) =>
        r.text(),
      ),
    ].join("\n");
    expect(answers).not.toContain(access);
    expect(answers).not.toContain(refresh);

    // The provider refuses the refresh and, as some do, quotes the refresh token in its refusal.
    provider.handler = (grant, body, res) => {
      if (grant !== "refresh_token") return false;
      res.writeHead(400, { "content-type": "application/json" }).end(
        JSON.stringify({
          error: "invalid_grant",
          error_description: `refresh token ${body.get("refresh_token")} was revoked`,
        }),
      );
      return true;
    };
    // Make it due now: connect again with a token living 4 s.
    provider.lifetime = 4;
    const again = await startFlow(t, conn.id);
    await visit(again.callback, t.cookie);
    const refresh2 = provider.refreshTokens.at(-1) as string;
    const required = await statusIs(t, conn.id, "auth_required", 30_000);
    const mcp = await mcpInitialize(t.call, conn.id);
    const everything = [
      required.last_error ?? "",
      JSON.stringify(await events(t, conn.id)),
      mcp.text,
      berth.output(),
    ].join("\n");
    expect(everything).not.toContain(refresh2);
    expect(berth.output()).not.toContain(access);
    expect(berth.output()).not.toContain(refresh);
  });

  it("a provider answering tokens that expire at once does not make Berth refresh and restart in a loop", async () => {
    const t = await tenant("loop");
    const conn = await install(t);
    const flow = await startFlow(t, conn.id);
    provider.lifetime = 1;
    await visit(flow.callback, t.cookie);
    await statusIs(t, conn.id, "running");
    const grantsBefore = provider.grants.filter((g) => g === "refresh_token").length;
    await new Promise((r) => setTimeout(r, 12_000));
    const refreshes = provider.grants.filter((g) => g === "refresh_token").length - grantsBefore;
    const restarts = (await events(t, conn.id)).filter((e) => e.type === "restarted").length;
    // A sane floor (say one refresh a minute) allows at most one here.
    expect(refreshes, `refreshes in 12 s (restarts: ${restarts})`).toBeLessThanOrEqual(2);
    expect(restarts, "restarts in 12 s").toBeLessThanOrEqual(2);
    provider.lifetime = 3600;
    await t.call("DELETE", `/api/mcp-connections/${conn.id}`);
  }, 60_000);

  it("a garbage refresh answer does not leave the connection running on an expired token", async () => {
    const t = await tenant("garbage-refresh");
    const conn = await install(t);
    provider.lifetime = 4;
    const flow = await startFlow(t, conn.id);
    await visit(flow.callback, t.cookie);
    await statusIs(t, conn.id, "running");
    const expiresAt = Date.now() + 4_000;
    provider.handler = (grant, _b, res) => {
      if (grant !== "refresh_token") return false;
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify(provider.answer({ access_token: "bad\u0000token", expires_in: 3600 })));
      return true;
    };
    // Long past the expiry, the refresh has been tried and failed: the server's token is dead.
    await until("a refresh tried", async () => (provider.grants.includes("refresh_token") ? true : undefined), 20_000);
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 10_000));
    const now = await get(t, conn.id);
    expect(now.status, "still running on an expired token, nobody told").toBe("auth_required");
  }, 60_000);

  it("authorizing does not get past the account's sandbox cap (BERTH_ACCOUNT_MAX_SANDBOXES=2)", async () => {
    const t = await tenant("capacity");
    const conns = [await install(t), await install(t), await install(t)];
    for (const c of conns) {
      const flow = await startFlow(t, c.id);
      await visit(flow.callback, t.cookie);
    }
    await new Promise((r) => setTimeout(r, 3_000));
    const statuses = await Promise.all(conns.map(async (c) => (await get(t, c.id)).status));
    const holding = statuses.filter((s) => s === "running" || s === "deploying").length;
    for (const c of conns) await t.call("DELETE", `/api/mcp-connections/${c.id}`);
    expect(holding, `statuses ${statuses.join(", ")}`).toBeLessThanOrEqual(2);
  }, 60_000);

  it("re-authorizing does not get past the account's sandbox start rate (4 a minute)", async () => {
    const t = await tenant("rate");
    const conn = await install(t);
    const first = await startFlow(t, conn.id);
    await visit(first.callback, t.cookie);
    await statusIs(t, conn.id, "running");
    let started = 1; // the authorized deploy is a start too
    for (let i = 0; i < 6; i++) {
      const flow = await startFlow(t, conn.id);
      const back = await visit(flow.callback, t.cookie);
      if (!back.url.searchParams.get("oauth_error")) started++;
      await statusIs(t, conn.id, "running");
    }
    expect(started, "sandbox starts in under a minute").toBeLessThanOrEqual(4);
    const restart = await t.call("POST", `/api/mcp-connections/${conn.id}/restart`);
    expect(restart.status, "the REST restart is refused by now").toBe(429);
  }, 60_000);

  it("a callback that lands while the connection deploys: the server ends up with the new token", async () => {
    const t = await tenant("deploy-race");
    const conn = await install(t);
    await visit((await startFlow(t, conn.id)).callback, t.cookie);
    await statusIs(t, conn.id, "running");
    const flow = await startFlow(t, conn.id); // started while running: allowed
    const restarting = t.call("POST", `/api/mcp-connections/${conn.id}/restart`);
    await statusIs(t, conn.id, "deploying", 10_000);
    const back = await visit(flow.callback, t.cookie);
    await restarting;
    await statusIs(t, conn.id, "running");
    const newest = provider.accessTokens.at(-1);
    const seen = (await envSeenBy(await agent(t, conn.mcp_url))).GITHUB_PERSONAL_ACCESS_TOKEN;
    // Either the callback said it did not work, or the server runs with what it stored.
    if (!back.url.searchParams.get("oauth_error"))
      expect(seen, "authorized, yet the server runs the old token").toBe(newest);
  }, 60_000);

  it("two flows completed at once: one sandbox, and the server runs the token Berth stored", async () => {
    const t = await tenant("concurrent");
    const conn = await install(t);
    const a = await startFlow(t, conn.id);
    const b = await startFlow(t, conn.id);
    const results = await Promise.all([visit(a.callback, t.cookie), visit(b.callback, t.cookie)]);
    expect(results.some((r) => !r.url.searchParams.get("oauth_error"))).toBe(true);
    await statusIs(t, conn.id, "running");
    await new Promise((r) => setTimeout(r, 2_000));
    expect(liveSandboxesOf(conn.id)).toBe(1);
    const before = (await envSeenBy(await agent(t, conn.mcp_url))).GITHUB_PERSONAL_ACCESS_TOKEN;
    // A restart starts the server with what is stored: it must be what was running.
    const restart = await t.call("POST", `/api/mcp-connections/${conn.id}/restart`);
    expect(restart.status, restart.text).toBeLessThan(300);
    await new Promise((r) => setTimeout(r, 500));
    await statusIs(t, conn.id, "running");
    const after = (await envSeenBy(await agent(t, conn.mcp_url))).GITHUB_PERSONAL_ACCESS_TOKEN;
    expect(after).toBe(before);
    await t.call("DELETE", `/api/mcp-connections/${conn.id}`);
  }, 60_000);

  it("a connection deleted during a slow callback stays deleted, with no sandbox", async () => {
    const t = await tenant("delete-race");
    const conn = await install(t);
    provider.delayMs = 3_000;
    const flow = await startFlow(t, conn.id);
    const back = visit(flow.callback, t.cookie);
    await new Promise((r) => setTimeout(r, 1_000));
    const deleted = await t.call("DELETE", `/api/mcp-connections/${conn.id}`);
    expect(deleted.status, deleted.text).toBeLessThan(300);
    await back;
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await t.call("GET", `/api/mcp-connections/${conn.id}`)).status).toBe(404);
    expect(liveSandboxesOf(conn.id)).toBe(0);
  }, 60_000);

  it("a tenant cannot pile up unbounded pending flows (rows) with POST /authorize", async () => {
    const t = await tenant("flows");
    const conn = await install(t);
    const statuses: number[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const rs = await Promise.all(
        Array.from({ length: 50 }, () => t.call("POST", `/api/mcp-connections/${conn.id}/authorize`, {})),
      );
      statuses.push(...rs.map((r) => r.status));
    }
    const accepted = statuses.filter((s) => s === 200).length;
    expect(statuses.every((s) => s < 500)).toBe(true);
    // 500 live 10-minute flows for one connection: some limit should have answered 429 by now.
    expect(accepted, "pending flows stored for one connection").toBeLessThan(500);
  });

  it("an auth_required connection cannot be made to run without an authorization", async () => {
    const t = await tenant("bypass");
    const conn = await install(t, { GITHUB_ORG: "acme" });
    const id = conn.id;
    const tried = {
      restart: (await t.call("POST", `/api/mcp-connections/${id}/restart`)).status,
      extend: (await t.call("POST", `/api/mcp-connections/${id}/extend`, { seconds: 600 })).status,
      patch: (await t.call("PATCH", `/api/mcp-connections/${id}`, { keep_alive: true })).status,
      partialCredentials: (
        await t.call("PUT", `/api/mcp-connections/${id}/credentials`, { credentials: { GITHUB_ORG: "x" } })
      ).status,
      tools: (await t.call("GET", `/api/mcp-connections/${id}/tools`)).status,
      call: (
        await t.call("POST", `/api/mcp-connections/${id}/tools/call`, { name: "echo", arguments: { message: "x" } })
      ).status,
      mcp: (await mcpInitialize(t.call, conn.id)).status,
      idempotentReinstall: (
        await t.call(
          "POST",
          "/api/mcp-connections/install",
          { account_id: t.accountId, server_id: "hostile-gh", auth: "oauth", credentials: { GITHUB_ORG: "acme" } },
          { "idempotency-key": "same" },
        )
      ).status,
    };
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await get(t, id)).status).toBe("auth_required");
    expect(liveSandboxesOf(id)).toBe(0);
    for (const [what, status] of Object.entries(tried))
      if (what !== "patch" && what !== "idempotentReinstall") expect(status, what).not.toBe(200);
  });
});
