import crypto from "node:crypto";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Route } from "@/lib/core/http/route";
import { ROUTES, type RouteKey } from "@/lib/core/http/routes";
import { PROVIDERS } from "../lifecycle/providers";
import { api, type BerthServer, startBerth } from "../support/berth-server";
import { launchChromium, signInThroughPage } from "../support/browser";
import { pkce, registerClient, startAuthorization } from "../support/oauth";
import { actionIds, callAction } from "../support/server-actions";

/**
 * What a signed-in person's session can reach, on each sandbox provider: the dashboard's server
 * actions (each a public endpoint) and every REST route and the MCP endpoint (the cookie counts
 * from Berth's own pages), against every caller that must not get through: nobody, a signed-out
 * session's copied cookie, a member of the account (admin actions), and the owner of another
 * account aiming at this one's objects. The actions come from the build's manifest, as a browser
 * finds them, and the routes from the route table: one without its cells fails the suite.
 * (API keys and Supabase tokens against the same routes: tests/contract/contract.test.ts.)
 */

/** The objects of account A the callers aim at. */
type Targets = { connId: string; keyId: string; memberId: string; accountId: string; consentRequest: string };

type Row =
  | {
      /** A valid input aimed at A's objects (or A itself). */
      input: (t: Targets) => unknown;
      /** Owners and admins only (a member is refused 403), or operators only (everyone here is). */
      guard: "admin" | "operator" | "member";
      /** What the owner of another account gets for that input: not_found when it names A's object. */
      stranger: "not_found" | "forbidden" | "own account only";
    }
  | { public: string };

const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "matrix", version: "1" } },
};

const definition = { slug: "matrix-def", title: "Matrix", start_command: "node -e 0" };

const ACTIONS: Record<string, Row> = {
  installAction: { input: () => ({ server_id: "memory" }), guard: "admin", stranger: "own account only" },
  testCredentialsAction: { input: () => ({ server_id: "memory" }), guard: "admin", stranger: "own account only" },
  extendAction: { input: (t) => ({ id: t.connId, seconds: 600 }), guard: "member", stranger: "not_found" },
  restartAction: { input: (t) => ({ id: t.connId }), guard: "member", stranger: "not_found" },
  deleteAction: { input: (t) => ({ id: t.connId }), guard: "admin", stranger: "not_found" },
  updateAction: { input: (t) => ({ id: t.connId, name: "renamed" }), guard: "member", stranger: "not_found" },
  replaceCredentialsAction: {
    input: (t) => ({ id: t.connId, credentials: {} }),
    guard: "admin",
    stranger: "not_found",
  },
  // A request of an MCP client for A's connection, waiting for consent (denied here, so nothing is granted).
  answerConsentAction: {
    input: (t) => ({ request: t.consentRequest, allow: false }),
    guard: "member",
    stranger: "not_found",
  },
  revokeGrantAction: {
    input: (t) => ({ id: t.connId, grant_id: crypto.randomUUID() }),
    guard: "admin",
    stranger: "not_found",
  },
  // A's connection runs memory, which does not connect through OAuth: nothing is started for anyone.
  authorizeAction: { input: (t) => ({ id: t.connId }), guard: "admin", stranger: "not_found" },
  setToolPolicyAction: {
    input: (t) => ({ id: t.connId, policy: { deny: ["read_graph"] } }),
    guard: "admin",
    stranger: "not_found",
  },
  // No call waits for a decision here: the guard and the account are checked before the approval is looked up.
  decideApprovalAction: {
    input: () => ({ id: crypto.randomUUID(), decision: "approved" }),
    guard: "admin",
    stranger: "not_found",
  },
  updateSettingsAction: {
    input: () => ({ name: "Renamed", default_timeout: null }),
    guard: "admin",
    stranger: "own account only",
  },
  createApiKeyAction: { input: () => ({ name: "k" }), guard: "admin", stranger: "own account only" },
  revokeApiKeyAction: { input: (t) => ({ id: t.keyId }), guard: "admin", stranger: "not_found" },
  inviteMemberAction: {
    input: () => ({ email: "new@matrix.test", role: "member" }),
    guard: "admin",
    stranger: "own account only",
  },
  setMemberRoleAction: {
    input: (t) => ({ user_id: t.memberId, role: "owner" }),
    guard: "admin",
    stranger: "not_found",
  },
  removeMemberAction: { input: (t) => ({ user_id: t.memberId }), guard: "admin", stranger: "not_found" },
  createDefinitionAction: { input: () => definition, guard: "operator", stranger: "forbidden" },
  updateDefinitionAction: {
    input: () => ({ slug: "memory", definition: { ...definition, slug: "memory" } }),
    guard: "operator",
    stranger: "forbidden",
  },
  removeDefinitionAction: { input: () => ({ slug: "memory" }), guard: "operator", stranger: "forbidden" },
  switchAccountAction: { input: (t) => ({ account_id: t.accountId }), guard: "member", stranger: "not_found" },
  // Signing in, setting up and joining are how a caller gets a session; their own suites attack them.
  signInAction: { public: "signs in: e2e/dashboard.spec.ts, tests/isolation/hostile-dashboard.test.ts" },
  supabaseSignInAction: { public: "signs in with Supabase Auth: e2e/supabase.spec.ts" },
  setUpAction: { public: "first-run setup, closed once an account exists: e2e/dashboard.spec.ts" },
  acceptInviteAction: { public: "the invitation's token is the credential: tests/isolation/hostile-dashboard.test.ts" },
  joinInviteAction: { public: "the invitation's token is the credential: tests/isolation/hostile-dashboard.test.ts" },
  signOutAction: { public: "ends the caller's own session, if any: e2e/dashboard.spec.ts" },
};

const routes = (Object.entries(ROUTES) as [RouteKey, Route][]).filter(
  ([, r]) => r.access === "account" || r.access === "gateway",
);

describe.each(PROVIDERS)("a session's reach on $name", (provider) => {
  let berth: BerthServer;
  let browser: Browser;
  let ids: Record<string, string>;
  let targets: Targets;
  let ownerA: { account_id: string; api_key: string };
  const cookies = { member: "", stranger: "", signedOut: "" };
  /** API keys: another account's, one of A's revoked before it is used, and one that is no key at all. */
  const keys = { stranger: "", revoked: "", agent: "", malformed: "berth_not-a-real-key-000000000000000000000000" };
  const password = "matrix-password-1";
  const mark = crypto.randomBytes(3).toString("hex");

  /** Signs in through the sign-in page, as a person does: the session cookie. */
  async function signIn(email: string) {
    const { cookie } = await signInThroughPage(browser, berth.url, email, password);
    if (!cookie) throw new Error(`no session cookie for ${email}`);
    return cookie;
  }
  const act = (cookie: string, name: string, input: unknown) =>
    callAction(berth.url, {
      cookie,
      page: "/dashboard",
      action: ids[name] as string,
      args: [input],
      headers: { origin: berth.url },
    });
  const account = (name: string, email: string) =>
    berth.cli(["accounts", "create", "--name", name, "--owner-email", email, "--owner-password", password]) as Promise<{
      account_id: string;
      api_key: string;
    }>;

  beforeAll(async () => {
    ids = actionIds();
    await provider.setup();
    berth = await startBerth(provider.env());
    browser = await launchChromium();
    ownerA = await account("A", `a-${mark}@matrix.test`);
    keys.stranger = (await account("B", `b-${mark}@matrix.test`)).api_key;
    // The member's own account comes first: switching into A is one of the cells.
    await account("M", `m-${mark}@matrix.test`);
    const member = (await berth.cli([
      "members",
      "add",
      "--account",
      ownerA.account_id,
      "--email",
      `m-${mark}@matrix.test`,
      "--role",
      "member",
    ])) as { user_id: string };
    const asA = api(berth.url, ownerA.api_key);
    const conn = await asA("POST", "/api/mcp-connections/install", {
      account_id: ownerA.account_id,
      server_id: "memory",
    });
    expect(conn.status, conn.text).toBe(201);
    const key = await asA("POST", "/api/api-keys", { name: "aimed at" });
    const revoked = (await asA("POST", "/api/api-keys", { name: "revoked" })).body.data;
    expect((await asA("DELETE", `/api/api-keys/${revoked.id}`)).status).toBe(200);
    keys.revoked = revoked.key;
    const agent = await asA("POST", "/api/api-keys", { name: "agent", scope: "mcp" });
    expect(agent.body.data.scope, agent.text).toBe("mcp");
    keys.agent = agent.body.data.key;
    const redirectUri = "http://127.0.0.1:9/callback";
    const clientId = await registerClient(berth.url, redirectUri);
    const started = await startAuthorization(berth.url, {
      clientId,
      redirectUri,
      resource: conn.body.data.mcp_url,
      challenge: pkce().challenge,
    });
    expect(started.location, JSON.stringify(started)).toMatch(/^\/oauth\/consent\?request=/);
    targets = {
      consentRequest: new URL(started.location, berth.url).searchParams.get("request") as string,
      connId: conn.body.data.id,
      keyId: key.body.data.id,
      memberId: member.user_id,
      accountId: ownerA.account_id,
    };

    cookies.stranger = await signIn(`b-${mark}@matrix.test`);
    // The member acts in A: the switch answers the session's new cookie.
    const inM = await signIn(`m-${mark}@matrix.test`);
    const switched = await act(inM, "switchAccountAction", { account_id: ownerA.account_id });
    expect(switched.result, switched.text).toMatchObject({ ok: true });
    const fresh = switched.setCookies.find((c) => c.startsWith("berth_session="));
    cookies.member = fresh ? (fresh.split(";")[0] as string) : inM;
    // A session signed out: its copied cookie must open nothing.
    cookies.signedOut = await signIn(`a-${mark}@matrix.test`);
    const out = await callAction(berth.url, {
      cookie: cookies.signedOut,
      page: "/dashboard",
      action: ids.signOutAction as string,
      args: [],
      headers: { origin: berth.url },
    });
    expect(out.status, out.text).toBeLessThan(500);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await berth?.stop();
    await provider.teardown();
  });

  it("has a row for every action the build serves, and none for an action it does not", () => {
    expect(Object.keys(ids).sort()).toEqual(Object.keys(ACTIONS).sort());
    for (const [name, row] of Object.entries(ACTIONS))
      if ("public" in row) console.log(`[action matrix] ${name} is public: ${row.public}`);
  });

  const guarded = Object.entries(ACTIONS).flatMap(([name, row]) => ("public" in row ? [] : [[name, row] as const]));

  it("refuses nobody and a signed-out session's cookie on every action: `unauthorized`, or sent to sign in first", async () => {
    for (const [name, row] of guarded) {
      for (const cookie of ["", cookies.signedOut]) {
        const res = await act(cookie, name, row.input(targets));
        // The dashboard's proxy sends a request without a session to sign in before any action runs.
        const refused = res.result?.error?.code ?? (res.location?.startsWith("/sign-in") ? "unauthorized" : res.status);
        expect([name, refused], res.text.slice(0, 300)).toEqual([name, "unauthorized"]);
      }
    }
  });

  it("answers the owner of another account not_found for A's objects, forbidden for the catalogue", async () => {
    for (const [name, row] of guarded) {
      if (row.stranger === "own account only") continue; // the session's account is the only one it acts in
      const res = await act(cookies.stranger, name, row.input(targets));
      expect([name, res.result?.error?.code], res.text.slice(0, 300)).toEqual([name, row.stranger]);
    }
  });

  it("answers a member of A forbidden on every admin and operator action, and lets the rest through", async () => {
    for (const [name, row] of guarded) {
      const res = await act(cookies.member, name, row.input(targets));
      const expected = row.guard === "member" ? true : "forbidden";
      const got = res.result?.ok === true ? true : res.result?.error?.code;
      expect([name, got], res.text.slice(0, 300)).toEqual([name, expected]);
    }
  }, 60_000);

  /** A route called with a session cookie from Berth's own page, or with an API key, aimed at A's objects. */
  const rest = (caller: { cookie?: string; bearer?: string }, key: RouteKey, r: Route) => {
    const [method = "", path = ""] = key.split(" ");
    const url = path.replace(/:(\w+)/g, (_, k: string) =>
      k === "userId" ? targets.memberId : k === "idOrSlug" ? "memory" : targets.connId,
    );
    const headers: Record<string, string> = caller.cookie ? { origin: berth.url, cookie: caller.cookie } : {};
    if (r.access === "gateway") headers.accept = "application/json, text/event-stream";
    const body = r.example ?? (r.access === "gateway" && method === "POST" ? INITIALIZE : undefined);
    return api(berth.url, caller.bearer)(method, url, body, headers);
  };

  it("answers nobody, a signed-out session's cookie, a revoked key and a malformed one 401 on every route of an account and the MCP endpoint", async () => {
    expect(routes.length).toBeGreaterThan(20);
    const callers = { nobody: {}, signedOut: { cookie: cookies.signedOut }, revoked: { bearer: keys.revoked } };
    for (const [key, r] of routes)
      for (const [who, caller] of Object.entries({ ...callers, malformed: { bearer: keys.malformed } })) {
        const res = await rest(caller, key, r);
        expect([key, who, res.status], res.text.slice(0, 300)).toEqual([key, who, 401]);
      }
  });

  it("answers another account's owner (session) and API key 404 on every route of A's connection (and the MCP endpoint)", async () => {
    for (const [key, r] of routes.filter(([key]) => /\/:id(\/|$)/.test(key) && key.includes("mcp")))
      for (const [who, caller] of Object.entries({
        session: { cookie: cookies.stranger },
        key: { bearer: keys.stranger },
      })) {
        const res = await rest(caller, key, r);
        expect([key, who, res.status], res.text.slice(0, 300)).toEqual([key, who, 404]);
      }
  });

  it("answers an agent's key (scope mcp) 403 on every REST route of its own account, and serves it the MCP endpoint", async () => {
    for (const [key, r] of routes) {
      const res = await rest({ bearer: keys.agent }, key, r);
      if (r.access === "gateway") {
        const refused = res.status === 401 || res.status === 403 || res.status >= 500;
        expect(refused, `${key} → ${res.status} ${res.text.slice(0, 300)}`).toBe(false);
      } else expect([key, res.status, res.body?.error?.code]).toEqual([key, 403, "forbidden"]);
    }
  }, 60_000);

  it("answers a member 403 on every admin route, and lets them through the rest", async () => {
    for (const [key, r] of routes) {
      const res = await rest({ cookie: cookies.member }, key, r);
      if (r.admin) expect([key, res.status, res.body?.error?.code]).toEqual([key, 403, "forbidden"]);
      else {
        // A route's own answer (a 4xx it declares, the server's 502) is fine; never refused.
        const refused = res.status === 401 || res.status === 403 || (res.status >= 500 && res.status !== 502);
        expect(refused, `${key} → ${res.status} ${res.text.slice(0, 300)}`).toBe(false);
      }
    }
  }, 60_000);

  it("left A's objects as they were", async () => {
    const asA = api(berth.url, ownerA.api_key);
    const conn = (await asA("GET", `/api/mcp-connections/${targets.connId}`)).body.data;
    expect(conn.status).toBe("running");
    const keys = (await asA("GET", "/api/api-keys")).body.data as { id: string; revoked_at: string | null }[];
    expect(keys.find((k) => k.id === targets.keyId)?.revoked_at).toBeNull();
    const members = (await asA("GET", "/api/members")).body.data as { user_id: string; role: string }[];
    expect(members.find((m) => m.user_id === targets.memberId)?.role).toBe("member");
    expect((await asA("GET", "/api/account")).body.data.name).toBe("A");
    expect((await asA("GET", "/api/mcp-server-definitions/memory")).status).toBe(200);
  });
});
