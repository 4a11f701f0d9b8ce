// Hostile OAuth: an attacker (owner of account A, plus a member M of A) attacks Berth's OAuth 2.1
// authorization server from outside, to get at account B's connection (the victim) or to abuse
// tokens, codes, refresh rotation, registration and the consent page. Black box: only the README
// ("OAuth for MCP clients") and docs/SECURITY.md ("Tokens"); the consent action's id and arguments
// are what the browser sends when "Allow" is clicked. Each test asserts the SAFE behaviour.
//
// Findings against the version reviewed (tests that fail until fixed):
//  O1 (low, robustness): a NUL (U+0000) in a string field, or a lone surrogate (\ud800) in /register
//     JSON, makes a 500 `server_error` (no stack): /token and /revoke `client_id=a%00b`; /register
//     NUL in client_name, a redirect_uri or any metadata field; /authorize `client_id` with NUL (500),
//     and NUL in state, code_challenge, scope or redirect_uri on an otherwise valid request (302 to
//     the client with error=server_error). Apparently the value reaches the database unvalidated.
//  O2 (low, spoofing): the consent page shows client_name with bidi overrides / zero-width chars
//     raw ("Claude\u202Eetalp\u202C" reads "Claudeplate").
// Both fixed: such text is refused 400 before any handler stores it, and registration refuses
// names with control or format characters (and redirect URIs that are not https or loopback http).
import crypto from "node:crypto";
import type { Browser, BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type BerthServer, freePort, startBerth } from "../support/berth-server";
import { launchChromium, signInThroughPage } from "../support/browser";
import { pkce, registerClient, tokenRequest } from "../support/oauth";
import { actionIds, callAction } from "../support/server-actions";

const REDIRECT = "http://127.0.0.1:9/cb"; // nothing listens; browsers' visits are caught by routes
const MARK = crypto.randomBytes(3).toString("hex");
const pw = { a: "pw-attacker-1", b: "pw-victim-11", m: "pw-member-11" };
const email = { a: `a-${MARK}@x.test`, b: `b-${MARK}@x.test`, m: `m-${MARK}@x.test` };
type Acct = { account_id: string; api_key: string };
type Conn = { id: string; mcp_url: string };

let berth: BerthServer;
let PUB: string; // Berth's public URL (http://localhost:<port>)
let browser: Browser;
let ids: { answerConsentAction: string; switchAccountAction: string };
let A: Acct;
let B: Acct;
let aConn: Conn; // attacker's
let aConn2: Conn; // attacker's second connection (audience inside one account)
let bConn: Conn; // the victim
const cookie: Record<"a" | "b" | "m", string> = { a: "", b: "", m: "" };
let attackerClient: string;

// ---------------------------------------------------------------------------------------------
// helpers

const STACK = /\n\s+at |node_modules|\/tmp\/hostile2|\.ts:\d+|TypeError|SyntaxError|PostgresError|ECONN/;

async function authorize(q: Record<string, string | string[]>) {
  const u = new URL(`${berth.url}/authorize`);
  for (const [k, v] of Object.entries(q)) for (const x of [v].flat()) u.searchParams.append(k, x);
  const res = await fetch(u, { redirect: "manual" });
  const location = res.headers.get("location") ?? "";
  return { status: res.status, location, text: await res.text(), request: /request=([^&]+)/.exec(location)?.[1] };
}

function start(clientId: string, resource: string | string[], challenge: string, extra: Record<string, string> = {}) {
  const q = { client_id: clientId, redirect_uri: REDIRECT, response_type: "code", code_challenge: challenge };
  return authorize({ ...q, code_challenge_method: "S256", resource, ...extra });
}

const startFor = (clientId: string, redirect_uri: string) =>
  start(clientId, aConn.mcp_url, pkce().challenge, { redirect_uri });

/** Clicks Allow/Deny as the browser does (the consent page's server action), from Berth's own origin unless told. */
async function answer(who: string, request: string, allow = true, headers: Record<string, string> = { origin: PUB }) {
  const [page, action, args] = [`/oauth/consent?request=${request}`, ids.answerConsentAction, [{ request, allow }]];
  const r = await callAction(PUB, { cookie: who, page, action, args, headers });
  const redirect: string | undefined = r.result?.data?.redirect;
  return { ...r, redirect, code: redirect ? (new URL(redirect).searchParams.get("code") ?? undefined) : undefined };
}

/** A full consent as `who` for `resource`: client, verifier and code (code undefined if refused). */
async function consented(who: string, resource: string, clientId?: string, name = "Agent") {
  const client = clientId ?? (await registerClient(berth.url, REDIRECT, name));
  const { verifier, challenge } = pkce();
  const s = await start(client, resource, challenge);
  const a = s.request ? await answer(who, s.request) : undefined;
  return { client, verifier, code: a?.code, start: s };
}

const exchange = (client: string, code: string, verifier: string, extra: Record<string, string> = {}) =>
  tokenRequest(berth.url, {
    grant_type: "authorization_code",
    client_id: client,
    code,
    code_verifier: verifier,
    redirect_uri: REDIRECT,
    ...extra,
  });
const refresh = (client: string, rt: string, extra: Record<string, string> = {}) =>
  tokenRequest(berth.url, { grant_type: "refresh_token", client_id: client, refresh_token: rt, ...extra });

/** Tokens for `resource`, consented by `who`. */
async function tokensFor(who: string, resource: string, name = "Agent") {
  const g = await consented(who, resource, undefined, name);
  expect(g.code, "consent gave no code").toBeTruthy();
  const t = await exchange(g.client, g.code as string, g.verifier);
  expect(t.status, JSON.stringify(t.body)).toBe(200);
  return { client: g.client, at: t.body.access_token as string, rt: t.body.refresh_token as string };
}

/** An MCP initialize with a raw Authorization header: the status. */
async function mcp(authorization: string | undefined, connId: string, path = `/api/mcp/${connId}`) {
  const res = await fetch(`${berth.url}${path}`, {
    method: "POST",
    headers: {
      ...(authorization === undefined ? {} : { authorization }),
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "h", version: "1" } },
    }),
  });
  await res.body?.cancel();
  return res.status;
}

/** Raw request to Berth: status, body, headers; never hangs (10 s). */
async function raw(method: string, path: string, body?: string | Uint8Array, headers: Record<string, string> = {}) {
  const init = { method, headers, body: body as BodyInit, signal: AbortSignal.timeout(10_000) };
  const res = await fetch(`${berth.url}${path}`, { ...init, redirect: "manual" });
  return { status: res.status, text: await res.text(), location: res.headers.get("location") ?? "" };
}

const postJson = (p: string, body: unknown) =>
  raw("POST", p, typeof body === "string" ? body : JSON.stringify(body), { "content-type": "application/json" });
const switchTo = (who: string, account_id: string) => {
  const [action, args, headers] = [ids.switchAccountAction, [{ account_id }], { origin: PUB }];
  return callAction(PUB, { cookie: who, page: "/dashboard", action, args, headers });
};

function expectNoServerError(r: { status: number; text: string; location?: string }, what: string) {
  expect.soft(r.status, `${what}: ${r.text.slice(0, 200)}`).toBeLessThan(500);
  expect.soft(r.location ?? "", `${what} redirected with a server error`).not.toMatch(/error=server_error/);
  expect.soft(r.text, `${what} leaked internals`).not.toMatch(STACK);
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  berth = await startBerth();
  PUB = berth.url.replace("127.0.0.1", "localhost");
  ids = actionIds() as typeof ids;
  const mk = (name: string, e: string, p: string) =>
    berth.cli(["accounts", "create", "--name", name, "--owner-email", e, "--owner-password", p]) as Promise<Acct>;
  A = await mk("Attacker", email.a, pw.a);
  B = await mk("Victim", email.b, pw.b);
  await mk("Mallory", email.m, pw.m);
  await berth.cli(["members", "add", "--account", A.account_id, "--email", email.m, "--role", "member"]);
  const install = async (acct: Acct) => {
    const r = await api(berth.url, acct.api_key)("POST", "/api/mcp-connections/install", {
      account_id: acct.account_id,
      server_id: "memory",
    });
    expect(r.status, r.text).toBe(201);
    return r.body.data as Conn;
  };
  [aConn, aConn2, bConn] = await Promise.all([install(A), install(A), install(B)]);
  browser = await launchChromium();
  cookie.a = (await signInThroughPage(browser, PUB, email.a, pw.a)).cookie;
  cookie.b = (await signInThroughPage(browser, PUB, email.b, pw.b)).cookie;
  cookie.m = (await signInThroughPage(browser, PUB, email.m, pw.m)).cookie;
  // M's current account is its own; it switches to A (as the dashboard's switcher does).
  const sw = await switchTo(cookie.m, A.account_id);
  expect(sw.status).toBeLessThan(400);
  const fresh = sw.setCookies.find((c) => c.startsWith("berth_session="));
  if (fresh) cookie.m = fresh.split(";")[0] as string;
  attackerClient = await registerClient(berth.url, REDIRECT, "Attacker Agent");
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await berth?.stop();
});

describe("getting a token for another account's connection", () => {
  it("A's user cannot allow a request naming B's connection, by the page or by calling its action", async () => {
    const { challenge } = pkce();
    const s = await start(attackerClient, bConn.mcp_url, challenge);
    expect(s.status).toBe(302);
    const a = await answer(cookie.a, s.request as string);
    expect(a.code).toBeUndefined();
    expect(a.text).not.toContain("berth_ac_");
    // Nor can A switch its session into B first.
    await switchTo(cookie.a, B.account_id);
    const s2 = await start(attackerClient, bConn.mcp_url, challenge);
    expect((await answer(cookie.a, s2.request as string)).code).toBeUndefined();
  });

  it("resource spellings and duplicates never bind a token A's user allowed to B's connection", async () => {
    const host = new URL(PUB).host;
    const port = new URL(PUB).port;
    // biome-ignore format: a table
    const variants: (string | string[])[] = [
      `${bConn.mcp_url}/`, bConn.mcp_url.replace("localhost", "LOCALHOST"),
      `http://127.0.0.1:${port}/api/mcp/${bConn.id}`, `http://${host}/api/mcp/${bConn.id.toUpperCase()}`,
      `${aConn.mcp_url}/../${bConn.id}`, `${aConn.mcp_url}%2F..%2F${bConn.id}`,
      `${aConn.mcp_url}?x=/api/mcp/${bConn.id}`, `${aConn.mcp_url}#/api/mcp/${bConn.id}`,
      `${bConn.mcp_url}?x=/api/mcp/${aConn.id}`, `${bConn.mcp_url}%00`, `${bConn.mcp_url}%20`,
      `http://${host}/api/mcp/${aConn.id}${bConn.id}`, `http://x@${host}/api/mcp/${bConn.id}`,
      [aConn.mcp_url, bConn.mcp_url], [bConn.mcp_url, aConn.mcp_url],
    ];
    for (const resource of variants) {
      const { verifier, challenge } = pkce();
      const s = await start(attackerClient, resource, challenge);
      expectNoServerError(s, `authorize ${resource}`);
      if (!s.request) continue;
      const a = await answer(cookie.a, s.request);
      if (!a.code) continue;
      for (const extra of [{}, { resource: bConn.mcp_url }] as Record<string, string>[]) {
        const t = await exchange(attackerClient, a.code, verifier, extra);
        if (t.status !== 200) continue;
        expect(await mcp(`Bearer ${t.body.access_token}`, bConn.id), `token from ${resource}`).toBe(401);
      }
    }
  });

  it("a code or refresh token of A's connection exchanged with another resource opens neither B's nor A's other connection", async () => {
    for (const other of [bConn, aConn2]) {
      const g = await consented(cookie.a, aConn.mcp_url, attackerClient);
      const t = await exchange(attackerClient, g.code as string, g.verifier, { resource: other.mcp_url });
      if (t.status === 200) {
        expect(await mcp(`Bearer ${t.body.access_token}`, other.id)).toBe(401);
        const r = await refresh(attackerClient, t.body.refresh_token as string, { resource: other.mcp_url });
        if (r.status === 200) expect(await mcp(`Bearer ${r.body.access_token}`, other.id)).toBe(401);
      }
    }
  });

  it("a request started by B's user cannot be answered by A's user (request id reuse)", async () => {
    const victimClient = await registerClient(berth.url, REDIRECT, "Victim Agent");
    const { verifier, challenge } = pkce();
    const s = await start(victimClient, bConn.mcp_url, challenge);
    const stolen = await answer(cookie.a, s.request as string, true);
    expect(stolen.code).toBeUndefined();
    const mine = await answer(cookie.b, s.request as string, true);
    if (mine.code) expect((await exchange(victimClient, mine.code, verifier)).status).toBe(200);
  });

  it("consent CSRF: forged Origins, a form POST and a GET never make B's signed-in browser allow the attacker", async () => {
    const port = Number(new URL(PUB).port);
    for (const origin of [
      "http://evil.example",
      `http://localhost:${port + 1}`,
      "null",
      `http://localhost:${port}.evil.example`,
    ]) {
      const s = await start(attackerClient, bConn.mcp_url, pkce().challenge);
      const a = await answer(cookie.b, s.request as string, true, { origin, "sec-fetch-site": "cross-site" });
      expect(a.code, origin).toBeUndefined();
      expect(a.text).not.toContain("berth_ac_");
    }
    const s = await start(attackerClient, bConn.mcp_url, pkce().challenge);
    const fd = new FormData();
    fd.set(`$ACTION_ID_${ids.answerConsentAction}`, "");
    fd.set("request", s.request as string);
    fd.set("allow", "true");
    const headers = { cookie: cookie.b, origin: `http://localhost:${port + 1}` };
    const form = await fetch(`${PUB}/oauth/consent?request=${s.request}`, {
      method: "POST",
      body: fd,
      headers,
      redirect: "manual",
    });
    expect(`${form.headers.get("location")} ${await form.text()}`).not.toContain("berth_ac_");
    const getUrl = `${PUB}/oauth/consent?request=${s.request}&allow=true&answer=allow`;
    const get = await fetch(getUrl, { headers: { cookie: cookie.b }, redirect: "manual" });
    expect(`${get.headers.get("location")} ${await get.text()}`).not.toContain("berth_ac_");
  });

  it("consent CSRF in Chromium: a same-site attacker page (iframe, credentialed fetch, form) gets no code", async () => {
    const evil = `http://localhost:${await freePort()}`;
    const reqs = await Promise.all([1, 2, 3].map(() => start(attackerClient, bConn.mcp_url, pkce().challenge)));
    const [r1, r2, r3] = reqs.map((r) => r.request) as [string, string, string];
    const consentUrl = (r: string) => `${PUB}/oauth/consent?request=${r}`;
    const html = `<!doctype html><body>
      <iframe id="f" src="${consentUrl(r1)}" style="opacity:0.01"></iframe>
      <iframe name="sink"></iframe>
      <form id="x" method="POST" enctype="multipart/form-data" target="sink" action="${consentUrl(r3)}">
        <input name="$ACTION_ID_${ids.answerConsentAction}" value=""><input name="request" value="${r3}">
        <input name="allow" value="true"></form>
      <script>
        const h = {"next-action": "${ids.answerConsentAction}", "content-type": "text/plain;charset=UTF-8", accept: "text/x-component"};
        const body = JSON.stringify([{request: "${r2}", allow: true}]);
        window.out = [];
        for (const mode of ["cors", "no-cors"]) fetch("${consentUrl(r2)}", {method: "POST", mode, credentials: "include", headers: h, body})
          .then(r => r.text()).then(t => out.push(t), e => out.push("err " + e));
        document.getElementById("x").submit();
      </script></body>`;
    const ctx: BrowserContext = await browser.newContext();
    const codes: string[] = [];
    try {
      await ctx.addCookies([{ name: "berth_session", value: cookie.b.split("=").slice(1).join("="), url: PUB }]);
      await ctx.route(`${evil}/**`, (route) => route.fulfill({ status: 200, contentType: "text/html", body: html }));
      await ctx.route("http://127.0.0.1:9/**", (route) => {
        codes.push(route.request().url());
        return route.fulfill({ status: 200, body: "back" });
      });
      const page = await ctx.newPage();
      await page.goto(`${evil}/`);
      await page.waitForTimeout(4000);
      const out: string[] = await page.evaluate(() => (window as any).out);
      expect(out.join("\n")).not.toContain("berth_ac_");
      const framed = page.frames().find((f) => f.url().includes("/oauth/consent"));
      const buttons =
        (await framed
          ?.locator("button", { hasText: "Allow" })
          .count()
          .catch(() => 0)) ?? 0;
      expect(buttons, "consent page rendered inside the attacker's frame").toBe(0);
    } finally {
      await ctx.close();
    }
    expect(codes.filter((u) => u.includes("code="))).toEqual([]);
    // The victim's requests are still there for a real answer: none was answered by the attacker's vectors.
    for (const r of [r1, r2, r3])
      expect((await answer(cookie.b, r, false)).redirect ?? "").toContain("error=access_denied");
  });

  it("the consent page refuses framing", async () => {
    const s = await start(attackerClient, aConn.mcp_url, pkce().challenge);
    const res = await fetch(`${PUB}/oauth/consent?request=${s.request}`, { headers: { cookie: cookie.a } });
    const xfo = res.headers.get("x-frame-options") ?? "";
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(/deny/i.test(xfo) || /frame-ancestors\s+'none'/.test(csp)).toBe(true);
  });

  it("a consent request is single-use, also when answered twice at once", async () => {
    const s = await start(attackerClient, aConn.mcp_url, pkce().challenge);
    const both = await Promise.all([answer(cookie.a, s.request as string), answer(cookie.a, s.request as string)]);
    expect(both.filter((x) => x.code).length).toBeLessThanOrEqual(1);
    expect((await answer(cookie.a, s.request as string)).code).toBeUndefined();
    const d = await start(attackerClient, aConn.mcp_url, pkce().challenge);
    await answer(cookie.a, d.request as string, false);
    expect((await answer(cookie.a, d.request as string, true)).code).toBeUndefined();
  });
});

describe("access tokens beyond their audience", () => {
  it("A's token opens only A's connection: not B's, not A's other, not REST, inspector, grants or Edge-style paths", async () => {
    const t = await tokensFor(cookie.a, aConn.mcp_url);
    expect(await mcp(`Bearer ${t.at}`, aConn.id)).toBe(200);
    expect(await mcp(`Bearer ${t.at}`, bConn.id)).toBe(401);
    expect(await mcp(`Bearer ${t.at}`, aConn2.id)).toBe(401);
    // biome-ignore format: a table
    for (const p of [
      "/api/mcp-connections", `/api/mcp-connections?account_id=${A.account_id}`, `/api/mcp-connections/${aConn.id}`,
      `/api/mcp-connections/${aConn.id}/tools`, `/api/mcp-connections/${aConn.id}/oauth-grants`,
      `/api/mcp-connections/${bConn.id}/oauth-grants`, "/api/members", "/api/api-keys", "/api/account",
      `/functions/v1/mcp-connections/${aConn.id}`, `/functions/v1/mcp-connections?account_id=${A.account_id}`,
    ]) {
      const r = await raw("GET", p, undefined, { authorization: `Bearer ${t.at}` });
      expect([401, 403, 404, 307], `${p}: ${r.text.slice(0, 120)}`).toContain(r.status);
    }
    const body = JSON.stringify({ account_id: A.account_id, name: "x" });
    const headers = { authorization: `Bearer ${t.at}`, "content-type": "application/json" };
    expect((await raw("POST", "/api/api-keys", body, headers)).status).toBe(401);
  });

  it("Bearer header tricks and other token kinds open nothing", async () => {
    const t = await tokensFor(cookie.a, aConn.mcp_url);
    const g = await consented(cookie.a, aConn.mcp_url, attackerClient);
    // biome-ignore format: a table
    const bad = [
      `Bearer ${t.rt}`, `Bearer ${g.code}`, `Bearer ${t.at.slice(0, -1)}`, `Bearer ${t.at}x`,
      `Bearer ${t.at.toUpperCase()}`, `Bearer ${t.at.slice(9)}`,
      `Basic ${Buffer.from(`${t.at}:`).toString("base64")}`, `Token ${t.at}`, t.at, `Bearer berth_at_`,
      `Bearer ${t.at.replace("berth_at_", "berth_rt_")}`,
    ];
    for (const h of bad) expect(await mcp(h, aConn.id), h.slice(0, 30)).toBe(401);
    for (const h of [`bearer ${t.at}`, `BEARER ${t.at}`, `Bearer  ${t.at}`, `Bearer ${t.at} `, `Bearer\t${t.at}`])
      expect(await mcp(h, bConn.id), JSON.stringify(h.slice(0, 8))).toBe(401);
    const q = await fetch(`${berth.url}/api/mcp/${aConn.id}?access_token=${t.at}`, { method: "POST" });
    expect(q.status).toBe(401);
  });

  it("after the owner revokes the grant (REST), its access and refresh tokens are dead", async () => {
    const t = await tokensFor(cookie.a, aConn.mcp_url, "Revoke Me");
    const call = api(berth.url, A.api_key);
    const grants = await call("GET", `/api/mcp-connections/${aConn.id}/oauth-grants`);
    const mine = grants.body.data.find((x: any) => x.client_name === "Revoke Me");
    const del = await call("DELETE", `/api/mcp-connections/${aConn.id}/oauth-grants/${mine.id}`);
    expect(del.status).toBeLessThan(300);
    expect(await mcp(`Bearer ${t.at}`, aConn.id)).toBe(401);
    expect((await refresh(t.client, t.rt)).status).toBe(400);
  });

  it("A's API key cannot list or revoke B's grants, not even by naming B's grant under A's connection", async () => {
    const v = await tokensFor(cookie.b, bConn.mcp_url);
    const bGrants = await api(berth.url, B.api_key)("GET", `/api/mcp-connections/${bConn.id}/oauth-grants`);
    const gid = bGrants.body.data[0].id as string;
    const call = api(berth.url, A.api_key);
    expect((await call("GET", `/api/mcp-connections/${bConn.id}/oauth-grants`)).status).toBeGreaterThanOrEqual(403);
    // biome-ignore format: a table
    for (const p of [
      `/api/mcp-connections/${bConn.id}/oauth-grants/${gid}`, `/api/mcp-connections/${aConn.id}/oauth-grants/${gid}`,
    ])
      expect((await call("DELETE", p)).status, p).toBeGreaterThanOrEqual(400);
    expect(await mcp(`Bearer ${v.at}`, bConn.id)).toBe(200);
  });

  it("after /revoke from the client, the grant's tokens are dead", async () => {
    const t = await tokensFor(cookie.a, aConn.mcp_url);
    const form = { "content-type": "application/x-www-form-urlencoded" };
    const r = await raw("POST", "/revoke", new URLSearchParams({ client_id: t.client, token: t.rt }).toString(), form);
    expect(r.status).toBe(200);
    expect(await mcp(`Bearer ${t.at}`, aConn.id)).toBe(401);
    expect((await refresh(t.client, t.rt)).status).toBe(400);
  });

  it("a user removed from the account: the token opens nothing, refreshing gives nothing that opens", async () => {
    const t = await tokensFor(cookie.m, aConn.mcp_url);
    expect(await mcp(`Bearer ${t.at}`, aConn.id)).toBe(200);
    const call = api(berth.url, A.api_key);
    const m = (await call("GET", "/api/members")).body.data.find((x: any) => x.email === email.m);
    expect((await call("DELETE", `/api/members/${m.user_id}`)).status).toBeLessThan(300);
    expect(await mcp(`Bearer ${t.at}`, aConn.id)).toBe(401);
    const r = await refresh(t.client, t.rt);
    if (r.status === 200) expect(await mcp(`Bearer ${r.body.access_token}`, aConn.id)).toBe(401);
  });
});

describe("refresh rotation", () => {
  it("refresh tokens: no other client, no parallel double spend, replay kills the grant", async () => {
    const t = await tokensFor(cookie.a, aConn.mcp_url);
    expect((await refresh(attackerClient, t.rt)).status).toBe(400);
    expect((await refresh(t.client, t.at)).status, "an access token used as a refresh token").toBe(400);
    const race = await Promise.all(Array.from({ length: 6 }, () => refresh(t.client, t.rt)));
    const won = race.filter((r) => r.status === 200);
    expect(won.length, "one refresh token spent more than once").toBeLessThanOrEqual(1);
    for (const w of won.slice(1)) expect(await mcp(`Bearer ${w.body.access_token}`, aConn.id)).toBe(401);
    const replay = await refresh(t.client, t.rt);
    expect(replay.body.error).toBe("invalid_grant");
    for (const w of won) {
      expect(await mcp(`Bearer ${w.body.access_token}`, aConn.id)).toBe(401);
      expect((await refresh(t.client, w.body.refresh_token as string)).status).toBe(400);
    }
  });
});

describe("authorization codes", () => {
  it("a code: no other client, no wrong/missing/plain verifier, no other redirect_uri, no parallel double spend", async () => {
    const g = await consented(cookie.a, aConn.mcp_url, attackerClient);
    const code = g.code as string;
    const other = await registerClient(berth.url, REDIRECT, "Other");
    expect((await exchange(other, code, g.verifier)).status).toBe(400);
    expect((await exchange(attackerClient, code, pkce().verifier)).status).toBe(400);
    expect((await exchange(attackerClient, code, "")).status).toBe(400);
    const noVerifier = { grant_type: "authorization_code", client_id: attackerClient, code, redirect_uri: REDIRECT };
    expect((await tokenRequest(berth.url, noVerifier)).status).toBe(400);
    const challenge = crypto.createHash("sha256").update(g.verifier).digest("base64url");
    expect((await exchange(attackerClient, code, challenge)).status).toBe(400);
    expect(
      (await exchange(attackerClient, code, g.verifier, { redirect_uri: "http://127.0.0.1:9/other" })).status,
    ).toBe(400);
    const race = await Promise.all(Array.from({ length: 6 }, () => exchange(attackerClient, code, g.verifier)));
    expect(race.filter((r) => r.status === 200).length, "one code spent more than once").toBeLessThanOrEqual(1);
    expect((await exchange(attackerClient, code, g.verifier)).status).toBe(400);
  });

  it("PKCE is S256 only: plain or no challenge never reaches consent", async () => {
    const { verifier } = pkce();
    for (const m of ["plain", "", "s256"])
      expect((await start(attackerClient, aConn.mcp_url, verifier, { code_challenge_method: m })).request, m).toBe(
        undefined,
      );
    const none = { client_id: attackerClient, redirect_uri: REDIRECT, response_type: "code", resource: aConn.mcp_url };
    expect((await authorize(none)).request).toBeUndefined();
  });

  it("a confidential client's code needs its secret", async () => {
    const res = await postJson("/register", { client_name: "Conf", redirect_uris: [REDIRECT] });
    const client = JSON.parse(res.text) as { client_id: string; client_secret?: string };
    if (!client.client_secret) return;
    const g = await consented(cookie.a, aConn.mcp_url, client.client_id);
    if (!g.code) return;
    expect((await exchange(client.client_id, g.code, g.verifier)).status).toBeGreaterThanOrEqual(400);
    expect(
      (await exchange(client.client_id, g.code, g.verifier, { client_secret: "wrong" })).status,
    ).toBeGreaterThanOrEqual(400);
  });

  it("redirect_uri: no open redirect to unregistered hosts, paths or schemes; state comes back intact", async () => {
    // biome-ignore format: a table
    const tricks = [
      "http://evil.example/cb", "http://127.0.0.1:9@evil.example/cb", "http://127.0.0.1.evil.example:9/cb",
      "http://127.0.0.1:9/cb/../evil", "http://127.0.0.1:9/cbx", "http://127.0.0.1:9/cb/x",
      "http://127.0.0.1:9\\@evil.example/cb", "http://127.0.0.1:9/cb#x", "//evil.example/cb",
      "javascript:alert(1)//127.0.0.1:9/cb", "http://localhost:9/cb", "http://[::1]:9/cb",
    ];
    for (const redirect_uri of tricks) {
      const s = await start(attackerClient, aConn.mcp_url, pkce().challenge, { redirect_uri, state: "s" });
      expectNoServerError(s, redirect_uri);
      if (s.location && !s.request) expect(new URL(s.location, PUB).host, redirect_uri).not.toContain("evil");
      if (!s.request) continue;
      const a = await answer(cookie.a, s.request);
      const back = new URL(a.redirect ?? REDIRECT);
      expect([back.hostname, back.pathname], redirect_uri).toEqual(["127.0.0.1", "/cb"]);
    }
    // A non-loopback redirect may not change port.
    const web = await registerClient(berth.url, "https://app.example/cb", "Web");
    const moved = await startFor(web, "https://app.example:8443/cb");
    expect(moved.request).toBeUndefined();
    expect(moved.location).not.toContain("app.example:8443");
    // State with URL syntax comes back as sent, with one code.
    const state = "a&code=evil#x?y=%26";
    const s = await start(attackerClient, aConn.mcp_url, pkce().challenge, { state });
    const back = new URL((await answer(cookie.a, s.request as string)).redirect as string);
    expect(back.searchParams.get("state")).toBe(state);
    expect(back.searchParams.getAll("code")).toHaveLength(1);
    expect(back.searchParams.get("code")).toMatch(/^berth_ac_/);
  });
});

describe("registration abuse", () => {
  it("script schemes are refused and a client cannot take another client's id", async () => {
    const schemes = [
      "javascript:alert(1)",
      "JavaScript:alert(1)",
      " javascript:x",
      "java\tscript:x",
      "data:,x",
      "vbscript:x",
    ];
    for (const uri of schemes)
      expect(
        (await postJson("/register", { redirect_uris: [uri], token_endpoint_auth_method: "none" })).status,
        uri,
      ).toBe(400);
    const hijack = {
      client_id: attackerClient,
      redirect_uris: ["http://evil.example/cb"],
      token_endpoint_auth_method: "none",
    };
    const r = await postJson("/register", hijack);
    if (r.status === 201) expect(JSON.parse(r.text).client_id).not.toBe(attackerClient);
    const s = await start(attackerClient, aConn.mcp_url, pkce().challenge, { redirect_uri: "http://evil.example/cb" });
    expect(s.request).toBeUndefined();
    expect(s.location).not.toContain("evil.example");
  });

  it("consent page: client_name and connection name HTML is not executed, bidi tricks are not shown raw, the return host is the real one", async () => {
    const XSS = `<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>`;
    const spoof = "Claude\u202Eetalp\u202C\u200B";
    const named = await api(berth.url, A.api_key)("PATCH", `/api/mcp-connections/${aConn.id}`, { name: XSS });
    expect(named.status, named.text).toBe(200);
    // A name that reads as another is refused at registration (it would be shown stripped anyway).
    await expect(registerClient(berth.url, REDIRECT, spoof)).rejects.toThrow(/answered 400.*client_name/);
    const cases = [
      { name: XSS, redirect: REDIRECT },
      { name: "Claude", redirect: "https://claude.ai@evil.example/cb" },
    ];
    const ctx = await browser.newContext();
    try {
      await ctx.addCookies([{ name: "berth_session", value: cookie.a.split("=").slice(1).join("="), url: PUB }]);
      for (const c of cases) {
        const client = await registerClient(berth.url, c.redirect, c.name);
        const s = await startFor(client, c.redirect);
        const page = await ctx.newPage();
        await page.goto(`${PUB}/oauth/consent?request=${s.request}`);
        await page.getByRole("button", { name: "Allow" }).waitFor();
        const text = (await page.locator("main").textContent()) ?? "";
        expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
        expect(await page.locator("main img").count()).toBe(0);
        expect
          .soft(text, "bidi/zero-width characters shown raw")
          .not.toMatch(/[\u202A-\u202E\u2066-\u2069\u200B-\u200F]/);
        expect(text).toContain(`You will return to ${new URL(c.redirect).host}`);
        await page.close();
      }
    } finally {
      await ctx.close();
    }
  });
});

describe("malformed input never makes a 500, a hang or a stack trace", () => {
  const form = { "content-type": "application/x-www-form-urlencoded" };
  const json = { "content-type": "application/json" };

  it("/token", async () => {
    // biome-ignore format: a table
    const bodies: [string, string | Uint8Array, Record<string, string>][] = [
      ["json", '{"grant_type":"refresh_token"}', json], ["bad json", "{", json],
      ["text", "grant_type=refresh_token", { "content-type": "text/plain" }],
      ["bad %", "grant_type=refresh_token&client_id=%ZZ&refresh_token=x", form],
      ["arrays", "grant_type[]=a&client_id[a]=b&refresh_token=x", form],
      ["huge", `grant_type=refresh_token&client_id=x&refresh_token=${"a".repeat(3_000_000)}`, form],
      ["long id", `grant_type=refresh_token&client_id=${"a".repeat(50_000)}&refresh_token=x`, form],
      ["utf8", Buffer.from([0x67, 0x3d, 0xff, 0xfe]), form],
      ["NUL code", `grant_type=authorization_code&client_id=${attackerClient}&code=%00&code_verifier=%00`, form],
      ["NUL client_id", "grant_type=refresh_token&client_id=a%00b&refresh_token=x", form],
      ["NUL client_id code", "grant_type=authorization_code&client_id=%00&code=x&code_verifier=y", form],
    ];
    for (const [what, body, headers] of bodies)
      expectNoServerError(await raw("POST", "/token", body, headers), `/token ${what}`);
  });

  it("/authorize", async () => {
    const ok = {
      client_id: attackerClient,
      redirect_uri: REDIRECT,
      response_type: "code",
      code_challenge: "c".repeat(43),
    };
    Object.assign(ok, { code_challenge_method: "S256", resource: aConn.mcp_url });
    // biome-ignore format: a table
    const cases: [string, Record<string, string>][] = [
      ["none", {}], ["unknown client", { client_id: "nope" }], ["long client", { client_id: "a".repeat(5000) }],
      ["bad resource", { ...ok, resource: "%%%" }], ["long resource", { ...ok, resource: "x".repeat(6000) }],
      ["long state", { ...ok, state: "s".repeat(6000) }], ["NUL client_id", { ...ok, client_id: "a\u0000b" }],
      ["NUL state", { ...ok, state: "a\u0000b" }], ["NUL code_challenge", { ...ok, code_challenge: "a\u0000b" }],
      ["NUL scope", { ...ok, scope: "a\u0000b" }], ["NUL resource", { ...ok, resource: `${aConn.mcp_url}\u0000` }],
      ["NUL redirect_uri", { ...ok, redirect_uri: `${REDIRECT}\u0000` }],
      ["lone surrogate state", { ...ok, state: "\ud800" }],
    ];
    for (const [what, q] of cases) expectNoServerError(await authorize(q), `/authorize ${what}`);
    expectNoServerError(await raw("GET", "/authorize?client_id=%E0%A4%A"), "/authorize bad %");
    expectNoServerError(await raw("POST", "/authorize", "client_id=%00", form), "POST /authorize NUL");
    expectNoServerError(await raw("POST", "/authorize", "{", json), "POST /authorize bad json");
  });

  it("/register", async () => {
    const base = { redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" };
    const cases: [string, string][] = [
      ["bad json", "{"],
      ["array", "[]"],
      ["deep", `${"[".repeat(5000)}${"]".repeat(5000)}`],
      ["huge", JSON.stringify({ ...base, client_name: "A".repeat(3_000_000) })],
      ["uris not array", JSON.stringify({ redirect_uris: "http://127.0.0.1:9/cb" })],
      ["NUL name", JSON.stringify({ ...base, client_name: "a\u0000b" })],
      ["NUL uri", JSON.stringify({ ...base, redirect_uris: ["http://127.0.0.1:9/c\u0000b"] })],
      ["NUL field", JSON.stringify({ ...base, software_id: "\u0000" })],
      ["lone surrogate", `{"client_name":"\\ud800","redirect_uris":["${REDIRECT}"]}`],
    ];
    for (const [what, body] of cases) expectNoServerError(await postJson("/register", body), `/register ${what}`);
    expectNoServerError(await raw("POST", "/register", "client_name=x", form), "/register form");
    expectNoServerError(
      await raw("POST", "/register", "x", { "content-type": "multipart/form-data; boundary=z" }),
      "/register multipart",
    );
  });

  it("/revoke and /.well-known", async () => {
    const cases: [string, string][] = [
      ["empty", ""],
      ["no client", "token=x"],
      ["NUL token", `client_id=${attackerClient}&token=%00`],
      ["NUL client_id", "client_id=a%00b&token=x"],
      ["long", `client_id=${"a".repeat(50_000)}&token=x`],
    ];
    for (const [what, body] of cases) expectNoServerError(await raw("POST", "/revoke", body, form), `/revoke ${what}`);
    expectNoServerError(await raw("POST", "/revoke", "{", json), "/revoke bad json");
    // biome-ignore format: a table
    for (const p of [
      "/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/api/mcp/%00",
      "/.well-known/oauth-protected-resource/api/mcp/%E0%A4%A",
      `/.well-known/oauth-protected-resource/api/mcp/${"a".repeat(6000)}`,
      "/.well-known/oauth-protected-resource/api/mcp/..%2F..%2Fetc%2Fpasswd",
      "/.well-known/oauth-authorization-server/api/mcp/x", "/.well-known/openid-configuration", "/.well-known/%00",
    ]) {
      expectNoServerError(await raw("GET", p), p);
      expectNoServerError(await raw("POST", p, "{", json), `POST ${p}`);
    }
    for (const p of ["/token", "/register", "/revoke", "/authorize"])
      for (const m of ["PUT", "DELETE", "PATCH"]) expectNoServerError(await raw(m, p, "x", form), `${m} ${p}`);
  });

  it("/register is rate limited per address; X-Forwarded-For does not buy a new budget", async () => {
    const body = JSON.stringify({ client_name: "f", redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" });
    let limited = -1;
    for (let i = 0; i < 260 && limited < 0; i++) {
      const r = await raw("POST", "/register", body, { ...json, "x-forwarded-for": `10.0.${i >> 8}.${i & 255}` });
      if (r.status === 429) limited = i;
    }
    expect(limited, "no 429 after 260 registrations").toBeGreaterThan(0);
  });
});
