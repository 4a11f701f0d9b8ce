// Hostile dashboard: a hostile tenant (owner/admin of account A), a hostile member of A, and a
// hostile outsider with a browser attack the dashboard (pages + server actions), the REST routes
// for keys, members and the account, sessions, invites and sign-in. Black box: action ids are the
// ones the client chunks carry (read here from the build's server-reference manifest, which lists
// the same ids). Each test asserts the SAFE behaviour: it passes while the defence holds.
//
// Tests marked FINDING failed against the version reviewed (4e1c100); F1–F3 are fixed (invitations
// accept only themselves and pending memberships grant nothing; bad cookie encoding is no cookie;
// a refused body closes its connection), F4 in part (an oversized action body is a 413):
//  F1 (high, account boundary): an admin of A invites an email that B invited and that has not
//     accepted yet; A's answer carries a fresh invite_url for that same user; accepting it sets the
//     user's password, which also "accepts" B's invitation: the attacker signs in as that user, lands
//     in B (the oldest membership) with the role B gave (admin), makes B API keys. B's own link dies.
//  F2 (low): `Cookie: berth_session=%ff` makes every REST route answer 500 (URIError in readCookie).
//  F3 (medium, availability): a REST request whose body is ~100 KB or more is answered early
//     (413, or 401 without auth) with `Connection: keep-alive`, but the connection never answers
//     again: Node's fetch (and any pooling proxy) reusing it hangs.
//  F4 (low): server action POSTs with a non-JSON body, an unresolvable RSC reference ("$Q1") or a
//     3 MB body answer 500 (also without a session).
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type BerthServer, freePort, startBerth } from "../support/berth-server";
import { launchChromium, signInThroughPage } from "../support/browser";
import { actionIds, callAction } from "../support/server-actions";

const MARK = crypto.randomBytes(3).toString("hex");
const XSS = `<img src=x onerror="window.__xss=(window.__xss||0)+1">"'><script>window.__xss=1</script>`;

type Acct = { account_id: string; api_key: string };
let berth: BerthServer;
let browser: Browser;
let A: Acct;
let B: Acct;
const pw = { a: "pw-aaaaaaaa", b: "pw-bbbbbbbb", m: "pw-member-1", adm: "pw-admin-11" };
const email = { a: `a-${MARK}@x.test`, b: `b-${MARK}@x.test`, m: `m-${MARK}@a.test`, adm: `adm-${MARK}@a.test` };
let cookieA: string; // owner of A
let cookieB: string; // owner of B
let cookieM: string; // member of A
let cookieAdm: string; // admin of A
let ids: Record<string, string>;
let bConn: string;
let aConn: string;
let bOwnerId: string;
let aOwnerId: string;
let memberId: string;
let adminId: string;
let bKeyId: string;
const SECRET_TOKEN = `sekret-${MARK}-${crypto.randomBytes(8).toString("hex")}`;

// ---------------------------------------------------------------------------------------------
// helpers

/** Calls a server action directly, as the browser's callServer does. */
const act = (
  cookie: string,
  page: string,
  name: string,
  args: unknown[] | string,
  headers: Record<string, string> = {},
) => callAction(berth.url, { cookie, page, action: ids[name] ?? name, args, headers });

const rest = (key?: string) => api(berth.url, key);
function withCookie(cookie: string) {
  return (method: string, p: string, body?: unknown, headers: Record<string, string> = {}) =>
    api(berth.url)(method, p, body, { cookie, ...headers });
}

const signIn = (mail: string, password: string, next?: string) =>
  signInThroughPage(browser, berth.url, mail, password, next);

async function acceptInvite(
  inviteUrl: string,
  password: string,
): Promise<{ cookie: string; url: string; text: string }> {
  const ctx = await browser.newContext();
  try {
    const page = await ctx.newPage();
    const u = new URL(inviteUrl);
    await page.goto(`${berth.url}${u.pathname}`);
    const text = await page.locator("body").innerText();
    if (!(await page.locator("#password").count())) return { cookie: "", url: page.url(), text };
    await page.fill("#password", password);
    await page.click("button[type=submit]");
    await page.waitForURL(/\/dashboard/, { timeout: 20_000 }).catch(() => undefined);
    const c = (await ctx.cookies()).find((x) => x.name === "berth_session");
    return {
      cookie: c ? `berth_session=${c.value}` : "",
      url: page.url(),
      text: await page.locator("body").innerText(),
    };
  } finally {
    await ctx.close();
  }
}

async function accountOf(cookie: string): Promise<string | undefined> {
  const r = await withCookie(cookie)("GET", "/api/account");
  return r.status === 200 ? r.body.data.id : undefined;
}

async function pageHtml(cookie: string, p: string) {
  const res = await fetch(`${berth.url}${p}`, { headers: { cookie }, redirect: "manual" });
  return { status: res.status, text: await res.text(), location: res.headers.get("location") };
}

async function rscPayload(cookie: string, p: string) {
  const res = await fetch(`${berth.url}${p}`, { headers: { cookie, rsc: "1" }, redirect: "manual" });
  return res.text();
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  ids = actionIds();
  berth = await startBerth();
  browser = await launchChromium();
  A = (await berth.cli([
    "accounts",
    "create",
    "--name",
    "A",
    "--owner-email",
    email.a,
    "--owner-password",
    pw.a,
  ])) as Acct;
  B = (await berth.cli([
    "accounts",
    "create",
    "--name",
    "B",
    "--owner-email",
    email.b,
    "--owner-password",
    pw.b,
  ])) as Acct;
  // a definition with a credential and a hostile title (an operator's, but rendered to every tenant)
  const def = path.join(os.tmpdir(), `hd-def-${MARK}.json`);
  fs.writeFileSync(
    def,
    JSON.stringify({
      slug: `secret-fixture-${MARK}`,
      title: `Fixture ${XSS}`,
      description: `desc ${XSS}`,
      start_command:
        "node -e \"require('readline').createInterface({input:process.stdin}).on('line',l=>{const m=JSON.parse(l);if(m.id===undefined)return;const r=m.method==='initialize'?{protocolVersion:m.params.protocolVersion,capabilities:{tools:{},resources:{},prompts:{}},serverInfo:{name:'f',version:'1'}}:m.method==='tools/list'?{tools:[]}:m.method==='resources/list'?{resources:[]}:m.method==='prompts/list'?{prompts:[]}:null;process.stdout.write(JSON.stringify(r?{jsonrpc:'2.0',id:m.id,result:r}:{jsonrpc:'2.0',id:m.id,error:{code:-32601,message:'nope'}})+String.fromCharCode(10))})\"",
      credential_schema: {
        type: "object",
        properties: { TOKEN: { type: "string", minLength: 1, writeOnly: true } },
        required: ["TOKEN"],
      },
    }),
  );
  await berth.cli(["servers", "add", "--file", def]);

  const cA = await rest(A.api_key)("POST", "/api/mcp-connections/install", {
    account_id: A.account_id,
    server_id: `secret-fixture-${MARK}`,
    credentials: { TOKEN: SECRET_TOKEN },
    name: "a-conn",
  });
  expect(cA.status, cA.text).toBe(201);
  aConn = cA.body.data.id;
  const cB = await rest(B.api_key)("POST", "/api/mcp-connections/install", {
    account_id: B.account_id,
    server_id: `secret-fixture-${MARK}`,
    credentials: { TOKEN: `${SECRET_TOKEN}-b` },
    name: "b-conn",
  });
  expect(cB.status, cB.text).toBe(201);
  bConn = cB.body.data.id;

  const bKeys = await rest(B.api_key)("GET", "/api/api-keys");
  bKeyId = bKeys.body.data[0].id;
  bOwnerId = (await rest(B.api_key)("GET", "/api/members")).body.data[0].user_id;
  aOwnerId = (await rest(A.api_key)("GET", "/api/members")).body.data[0].user_id;

  cookieA = (await signIn(email.a, pw.a)).cookie;
  cookieB = (await signIn(email.b, pw.b)).cookie;
  // A's owner invites a member and an admin through the dashboard action; they accept the links.
  const invM = await act(cookieA, "/dashboard/members", "inviteMemberAction", [{ email: email.m, role: "member" }]);
  expect(invM.result?.ok, invM.text).toBe(true);
  memberId = invM.result.data.member.user_id;
  cookieM = (await acceptInvite(invM.result.data.invite_url, pw.m)).cookie;
  const invAdm = await act(cookieA, "/dashboard/members", "inviteMemberAction", [{ email: email.adm, role: "admin" }]);
  expect(invAdm.result?.ok, invAdm.text).toBe(true);
  adminId = invAdm.result.data.member.user_id;
  cookieAdm = (await acceptInvite(invAdm.result.data.invite_url, pw.adm)).cookie;
  expect(await accountOf(cookieM)).toBe(A.account_id);
  expect(await accountOf(cookieAdm)).toBe(A.account_id);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await berth?.stop();
});

// ---------------------------------------------------------------------------------------------

describe("invites across accounts", () => {
  it("FINDING: an admin of A cannot take over a user invited to B (and B's role) by inviting the same email", async () => {
    const victim = `victim-${MARK}@x.test`;
    // B's owner invites someone as admin; they have not accepted yet.
    const bInv = await rest(B.api_key)("POST", "/api/members", { email: victim, role: "admin" });
    expect(bInv.status).toBe(201);
    // A's owner (the attacker) invites the same email to A, through the dashboard.
    const aInv = await act(cookieA, "/dashboard/members", "inviteMemberAction", [{ email: victim, role: "member" }]);
    if (aInv.result?.ok && aInv.result.data.invite_url) {
      // ...and accepts their own link with a password of their choice.
      const acc = await acceptInvite(aInv.result.data.invite_url, "attacker-chosen-pw");
      const { cookie } = await signIn(victim, "attacker-chosen-pw").catch(() => ({ cookie: "" }));
      const sessions = [acc.cookie, cookie].filter(Boolean);
      for (const c of sessions) {
        // Neither the session sign-in opened nor a switch may put the attacker into B.
        expect(await accountOf(c)).not.toBe(B.account_id);
        const sw = await act(c, "/dashboard", "switchAccountAction", [{ account_id: B.account_id }]);
        expect(sw.result?.ok ?? false).toBe(false);
        const key = await act(c, "/dashboard/api-keys", "createApiKeyAction", [{ name: "stolen" }]);
        if (key.result?.ok) {
          const who = await rest(key.result.data.key)("GET", "/api/account");
          expect(who.body?.data?.id).not.toBe(B.account_id);
        }
      }
    }
    // B's invitation stays B's: it is still open, and only a session of the invited user accepts it.
    // (Residual, without email verification in built-in sign-in: whoever accepts a user's first link
    // chooses that email's password, so the real person then needs a new one; B's data stays closed.)
    const page = await fetch(`${berth.url}${new URL(bInv.body.data.invite_url).pathname}`).then((r) => r.text());
    expect(page).toContain("Join B");
    const members = (await rest(B.api_key)("GET", "/api/members")).body.data as { email: string; pending: boolean }[];
    expect(members.find((m) => m.email === victim)?.pending).toBe(true);
  });

  it("inviting an existing user of B (with a password) gives A no link and no way into B", async () => {
    const inv = await act(cookieA, "/dashboard/members", "inviteMemberAction", [{ email: email.b, role: "member" }]);
    // Nobody is added without consent: a pending membership, whose link only B's owner, signed in
    // as themselves, can accept.
    expect(inv.result?.ok).toBe(true);
    if (inv.result?.ok) {
      expect(inv.result.data.member.pending).toBe(true);
      const html = await fetch(`${berth.url}${new URL(inv.result.data.invite_url).pathname}`).then((r) => r.text());
      expect(html).toContain("sign in as them");
    }
    // B's owner still signs in with their password, into B
    const s = await signIn(email.b, pw.b);
    expect(await accountOf(s.cookie)).toBe(B.account_id);
    // A cannot act on B's owner in B, nor switch to B
    expect((await act(cookieA, "/dashboard", "switchAccountAction", [{ account_id: B.account_id }])).result?.ok).toBe(
      false,
    );
    if (inv.result?.ok) {
      await act(cookieA, "/dashboard/members", "removeMemberAction", [{ user_id: inv.result.data.member.user_id }]);
    }
  });

  it("invite tokens: used, unknown, guessed and withdrawn links do not work", async () => {
    const inv = await act(cookieA, "/dashboard/members", "inviteMemberAction", [
      { email: `tok-${MARK}@a.test`, role: "member" },
    ]);
    expect(inv.result?.ok).toBe(true);
    const link = inv.result.data.invite_url as string;
    const first = await acceptInvite(link, "first-password");
    expect(first.cookie).not.toBe("");
    const again = await acceptInvite(link, "second-password");
    expect(again.cookie).toBe("");
    expect((await signIn(`tok-${MARK}@a.test`, "first-password")).cookie).not.toBe("");
    for (const t of [
      "x",
      "A".repeat(43),
      `${new URL(link).pathname.split("/").pop()}x`,
      "%00",
      "..%2F..%2Fapi%2Faccount",
    ]) {
      const r = await fetch(`${berth.url}/invite/${t}`);
      const body = await r.text();
      expect(r.status).toBeLessThan(500);
      expect(body).not.toContain("Choose a password");
    }
    // withdrawn: invite, remove, then use the link
    const inv2 = await act(cookieA, "/dashboard/members", "inviteMemberAction", [
      { email: `wd-${MARK}@a.test`, role: "admin" },
    ]);
    await act(cookieA, "/dashboard/members", "removeMemberAction", [{ user_id: inv2.result.data.member.user_id }]);
    expect((await acceptInvite(inv2.result.data.invite_url, "withdrawn-pw")).cookie).toBe("");
    // the invite page shows no secrets of the account
    const html = await fetch(`${berth.url}${new URL(link).pathname}`).then((r) => r.text());
    expect(html).not.toMatch(/\$argon2|berth_[A-Za-z0-9_-]{30,}/);
  });

  it("the invite page does not leak the token holder's other account names", async () => {
    const victim = `multi-${MARK}@x.test`;
    await rest(B.api_key)("POST", "/api/members", { email: victim, role: "member" });
    const aInv = await act(cookieA, "/dashboard/members", "inviteMemberAction", [{ email: victim, role: "member" }]);
    if (aInv.result?.ok && aInv.result.data.invite_url) {
      const html = await fetch(`${berth.url}${new URL(aInv.result.data.invite_url).pathname}`).then((r) => r.text());
      expect(html).not.toContain(">B<");
    }
  });
});

describe("a member of A calling admin-only actions directly", () => {
  const cases: [string, string, () => unknown][] = [
    ["createApiKeyAction", "/dashboard/api-keys", () => ({ name: "member-key" })],
    ["revokeApiKeyAction", "/dashboard/api-keys", () => ({ id: "00000000-0000-4000-8000-000000000000" })],
    ["inviteMemberAction", "/dashboard/members", () => ({ email: `m2-${MARK}@a.test`, role: "member" })],
    ["inviteMemberAction", "/dashboard/members", () => ({ email: `m3-${MARK}@a.test`, role: "owner" })],
    ["setMemberRoleAction", "/dashboard/members", () => ({ user_id: memberId, role: "admin" })],
    ["setMemberRoleAction", "/dashboard/members", () => ({ user_id: memberId, role: "owner" })],
    ["setMemberRoleAction", "/dashboard/members", () => ({ user_id: aOwnerId, role: "member" })],
    ["removeMemberAction", "/dashboard/members", () => ({ user_id: aOwnerId })],
    ["removeMemberAction", "/dashboard/members", () => ({ user_id: adminId })],
    ["updateSettingsAction", "/dashboard/settings", () => ({ name: "pwned", default_timeout: null })],
    ["installAction", "/dashboard/install/memory", () => ({ server_id: "memory" })],
    ["testCredentialsAction", "/dashboard/install/memory", () => ({ server_id: "memory" })],
    ["deleteAction", "/dashboard", () => ({ id: aConn })],
  ];
  for (const [name, page, arg] of cases) {
    it(`${name} ${arg.toString().slice(6, 70)} is forbidden`, async () => {
      const r = await act(cookieM, page, name, [arg()]);
      expect(r.status).toBeLessThan(500);
      expect(r.result?.ok).toBe(false);
      expect(r.result?.error?.code).toBe("forbidden");
    });
  }

  it("nothing changed: role, owner, settings, connection", async () => {
    const members = (await rest(A.api_key)("GET", "/api/members")).body.data;
    expect(members.find((m: any) => m.user_id === memberId).role).toBe("member");
    expect(members.find((m: any) => m.user_id === aOwnerId).role).toBe("owner");
    expect((await rest(A.api_key)("GET", "/api/account")).body.data.name).not.toBe("pwned");
    expect((await rest(A.api_key)("GET", `/api/mcp-connections/${aConn}`)).status).toBe(200);
  });

  it("the same through REST with the member's cookie: 403", async () => {
    const call = withCookie(cookieM);
    const tries: [string, string, unknown][] = [
      ["POST", "/api/api-keys", { name: "m" }],
      ["DELETE", `/api/api-keys/${bKeyId}`, undefined],
      ["POST", "/api/members", { email: `m4-${MARK}@a.test`, role: "admin" }],
      ["PATCH", `/api/members/${memberId}`, { role: "owner" }],
      ["DELETE", `/api/members/${aOwnerId}`, undefined],
      ["PATCH", "/api/account", { name: "pwned" }],
      ["DELETE", `/api/mcp-connections/${aConn}`, undefined],
      ["PUT", `/api/mcp-connections/${aConn}/credentials`, { credentials: { TOKEN: "evil" } }],
      ["POST", "/api/mcp-connections/install", { account_id: A.account_id, server_id: "memory" }],
      ["POST", "/api/sandbox-runs", { account_id: A.account_id, command: "id" }],
    ];
    for (const [m, p, b] of tries) {
      const r = await call(m, p, b ?? {}, { "content-type": "application/json" });
      expect([403, 404, 400], `${m} ${p}: ${r.status} ${r.text}`).toContain(r.status);
      expect(r.status, `${m} ${p}`).not.toBe(200);
    }
  });

  it("a member cannot list API keys' secrets nor read credentials", async () => {
    const call = withCookie(cookieM);
    const keys = await call("GET", "/api/api-keys");
    expect(keys.text).not.toMatch(/berth_[A-Za-z0-9_-]{30,}/);
    const conn = await call("GET", `/api/mcp-connections/${aConn}`);
    expect(conn.text).not.toContain(SECRET_TOKEN);
    const cfg = await call("GET", `/api/mcp-connections/${aConn}/client-config`);
    expect(cfg.text).not.toContain(SECRET_TOKEN);
    expect(cfg.text).not.toMatch(/berth_[A-Za-z0-9_-]{30,}/);
  });
});

describe("an admin of A reaching for owner", () => {
  it("admin cannot make themself or anyone an owner, nor demote or remove the owner", async () => {
    const r1 = await act(cookieAdm, "/dashboard/members", "setMemberRoleAction", [{ user_id: adminId, role: "owner" }]);
    expect(r1.result?.error?.code).toBe("forbidden");
    const r2 = await act(cookieAdm, "/dashboard/members", "setMemberRoleAction", [
      { user_id: memberId, role: "owner" },
    ]);
    expect(r2.result?.error?.code).toBe("forbidden");
    const r3 = await act(cookieAdm, "/dashboard/members", "inviteMemberAction", [
      { email: `own-${MARK}@a.test`, role: "owner" },
    ]);
    expect(r3.result?.error?.code).toBe("forbidden");
    const r4 = await act(cookieAdm, "/dashboard/members", "setMemberRoleAction", [
      { user_id: aOwnerId, role: "admin" },
    ]);
    expect(r4.result?.error?.code).toBe("forbidden");
    const r5 = await act(cookieAdm, "/dashboard/members", "removeMemberAction", [{ user_id: aOwnerId }]);
    expect(r5.result?.error?.code).toBe("forbidden");
  });

  it("an admin's API key cannot make owners either", async () => {
    const k = await act(cookieAdm, "/dashboard/api-keys", "createApiKeyAction", [{ name: `adm-${MARK}` }]);
    expect(k.result?.ok).toBe(true);
    const call = rest(k.result.data.key);
    expect((await call("PATCH", `/api/members/${adminId}`, { role: "owner" })).status).toBe(403);
    expect((await call("POST", "/api/members", { email: `own2-${MARK}@a.test`, role: "owner" })).status).toBe(403);
    expect((await call("DELETE", `/api/members/${aOwnerId}`)).status).toBe(403);
    await act(cookieAdm, "/dashboard/api-keys", "revokeApiKeyAction", [{ id: k.result.data.id }]);
  });

  it("an admin re-inviting a pending owner cannot turn it into a lower role nor get its link", async () => {
    const inv = await act(cookieA, "/dashboard/members", "inviteMemberAction", [
      { email: `po-${MARK}@a.test`, role: "owner" },
    ]);
    expect(inv.result?.ok).toBe(true);
    const again = await act(cookieAdm, "/dashboard/members", "inviteMemberAction", [
      { email: `po-${MARK}@a.test`, role: "admin" },
    ]);
    expect(again.result?.ok).toBe(false);
    const again2 = await act(cookieAdm, "/dashboard/members", "inviteMemberAction", [
      { email: `po-${MARK}@a.test`, role: "owner" },
    ]);
    expect(again2.result?.ok).toBe(false);
    await act(cookieA, "/dashboard/members", "removeMemberAction", [{ user_id: inv.result.data.member.user_id }]);
  });

  it("the last owner stays (demote self, remove self)", async () => {
    const r1 = await act(cookieA, "/dashboard/members", "setMemberRoleAction", [{ user_id: aOwnerId, role: "member" }]);
    expect(r1.result?.error?.code).toBe("conflict");
    const r2 = await act(cookieA, "/dashboard/members", "removeMemberAction", [{ user_id: aOwnerId }]);
    expect(r2.result?.error?.code).toBe("conflict");
    // an API key is an admin, never an owner: 403 before the last-owner rule
    const r3 = await rest(A.api_key)("DELETE", `/api/members/${aOwnerId}`);
    expect([403, 409]).toContain(r3.status);
    expect((await rest(A.api_key)("GET", "/api/members")).body.data.find((m: any) => m.user_id === aOwnerId).role).toBe(
      "owner",
    );
  });

  it("a demoted admin loses admin rights at once (role is read per request)", async () => {
    const inv = await act(cookieA, "/dashboard/members", "inviteMemberAction", [
      { email: `dem-${MARK}@a.test`, role: "admin" },
    ]);
    const c = (await acceptInvite(inv.result.data.invite_url, "demoted-pw")).cookie;
    expect((await act(c, "/dashboard/api-keys", "createApiKeyAction", [{ name: "ok" }])).result?.ok).toBe(true);
    await act(cookieA, "/dashboard/members", "setMemberRoleAction", [
      { user_id: inv.result.data.member.user_id, role: "member" },
    ]);
    expect((await act(c, "/dashboard/api-keys", "createApiKeyAction", [{ name: "no" }])).result?.error?.code).toBe(
      "forbidden",
    );
    // removed: the session stops working
    await act(cookieA, "/dashboard/members", "removeMemberAction", [{ user_id: inv.result.data.member.user_id }]);
    expect((await act(c, "/dashboard/api-keys", "createApiKeyAction", [{ name: "no" }])).result?.error?.code).toBe(
      "unauthorized",
    );
    expect((await withCookie(c)("GET", "/api/account")).status).toBe(401);
  });
});

describe("A's owner against B's objects", () => {
  it("server actions with B's ids: not found, nothing changes", async () => {
    const tries: [string, string, unknown][] = [
      ["deleteAction", "/dashboard", { id: bConn }],
      ["updateAction", "/dashboard", { id: bConn, name: "hijacked", keep_alive: false }],
      ["extendAction", "/dashboard", { id: bConn, seconds: 60 }],
      ["restartAction", "/dashboard", { id: bConn }],
      ["revokeApiKeyAction", "/dashboard/api-keys", { id: bKeyId }],
      ["setMemberRoleAction", "/dashboard/members", { user_id: bOwnerId, role: "member" }],
      ["removeMemberAction", "/dashboard/members", { user_id: bOwnerId }],
      ["switchAccountAction", "/dashboard", { account_id: B.account_id }],
    ];
    for (const [name, page, arg] of tries) {
      const r = await act(cookieA, page, name, [arg]);
      expect(r.status, name).toBeLessThan(500);
      expect(r.result?.ok, `${name}: ${r.text}`).toBe(false);
    }
    // extra account_id fields are refused, not honoured
    const x = await act(cookieA, "/dashboard/install/memory", "installAction", [
      { server_id: "memory", account_id: B.account_id },
    ]);
    expect(x.result?.ok).toBe(false);
    const y = await act(cookieA, "/dashboard/api-keys", "createApiKeyAction", [
      { name: "x", account_id: B.account_id },
    ]);
    expect(y.result?.ok).toBe(false);
    const bc = await rest(B.api_key)("GET", `/api/mcp-connections/${bConn}`);
    expect(bc.status).toBe(200);
    expect(bc.body.data.name).toBe("b-conn");
    expect(bc.body.data.keep_alive).toBe(true);
    expect((await rest(B.api_key)("GET", "/api/account")).status).toBe(200);
    expect((await rest(B.api_key)("GET", "/api/members")).body.data.find((m: any) => m.user_id === bOwnerId).role).toBe(
      "owner",
    );
    expect(await accountOf(cookieA)).toBe(A.account_id);
  });

  it("REST with A's key and with A's cookie on B's connection, keys and members: 404", async () => {
    for (const call of [rest(A.api_key), withCookie(cookieA)]) {
      const tries: [string, string, unknown?][] = [
        ["GET", `/api/mcp-connections/${bConn}`],
        ["PATCH", `/api/mcp-connections/${bConn}`, { name: "hijack" }],
        ["GET", `/api/mcp-connections/${bConn}/client-config`],
        ["GET", `/api/mcp-connections/${bConn}/events`],
        ["GET", `/api/mcp-connections/${bConn}/tools`],
        ["GET", `/api/mcp-connections/${bConn}/resources`],
        ["GET", `/api/mcp-connections/${bConn}/prompts`],
        ["POST", `/api/mcp-connections/${bConn}/resources/read`, { uri: "file:///etc/passwd" }],
        ["POST", `/api/mcp-connections/${bConn}/prompts/get`, { name: "x" }],
        ["POST", `/api/mcp-connections/${bConn}/tools/call`, { name: "x", arguments: {} }],
        ["POST", `/api/mcp-connections/${bConn}/extend`, { seconds: 60 }],
        ["POST", `/api/mcp-connections/${bConn}/restart`, {}],
        ["PUT", `/api/mcp-connections/${bConn}/credentials`, { credentials: { TOKEN: "x" } }],
        ["DELETE", `/api/mcp-connections/${bConn}`],
        ["DELETE", `/api/api-keys/${bKeyId}`],
        ["PATCH", `/api/members/${bOwnerId}`, { role: "member" }],
        ["DELETE", `/api/members/${bOwnerId}`],
        ["POST", "/api/mcp-connections/install", { account_id: B.account_id, server_id: "memory" }],
        ["GET", `/api/mcp-connections?account_id=${B.account_id}`],
      ];
      for (const [m, p, b] of tries) {
        const r = await call(m, p, b, b === undefined ? {} : { "content-type": "application/json" });
        expect(r.status, `${m} ${p}: ${r.text}`).not.toBe(200);
        expect(r.status, `${m} ${p}: ${r.text}`).toBeLessThan(500);
        expect(r.text).not.toContain(`${SECRET_TOKEN}-b`);
        expect(r.text).not.toContain("b-conn");
      }
      // Berth-Account header naming B is not honoured for keys and cookies
      const acc = await call("GET", "/api/account", undefined, { "berth-account": B.account_id });
      expect(acc.body?.data?.id).toBe(A.account_id);
      const list = await call("GET", "/api/mcp-connections", undefined, { "berth-account": B.account_id });
      expect(list.text).not.toContain(bConn);
    }
    // the MCP endpoint of B's connection with A's key
    const mcp = await rest(A.api_key)(
      "POST",
      `/api/mcp/${bConn}`,
      {
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
      },
      { accept: "application/json, text/event-stream" },
    );
    expect([401, 403, 404]).toContain(mcp.status);
    expect((await rest(B.api_key)("GET", `/api/mcp-connections/${bConn}`)).body.data.name).toBe("b-conn");
  });

  it("pages of B's connection with A's cookie: not found, no B data in HTML or RSC payload", async () => {
    const h = await pageHtml(cookieA, `/dashboard/connections/${bConn}`);
    expect(h.text).not.toContain("b-conn");
    expect(h.text).not.toContain(`${SECRET_TOKEN}-b`);
    const rsc = await rscPayload(cookieA, `/dashboard/connections/${bConn}`);
    expect(rsc).not.toContain("b-conn");
  });
});

describe("sessions", () => {
  it("no cookie, a forged cookie and a garbage cookie: actions do nothing", async () => {
    for (const c of ["", "berth_session=Fe26.2*1*abc*def", `berth_session=${"A".repeat(5000)}`]) {
      const r = await act(c, "/dashboard/api-keys", "createApiKeyAction", [{ name: `anon-${MARK}` }]);
      expect(r.status).toBeLessThan(500);
      expect(r.result?.ok ?? false).toBe(false);
      const s = await act(c, "/dashboard", "switchAccountAction", [{ account_id: A.account_id }]);
      expect(s.result?.ok ?? false).toBe(false);
      const rr = await withCookie(c)("GET", "/api/account");
      expect(rr.status).toBe(401);
    }
    const keys = (await rest(A.api_key)("GET", "/api/api-keys")).body.data;
    expect(keys.some((k: any) => k.name === `anon-${MARK}`)).toBe(false);
  });

  it("FINDING: a berth_session cookie with bad percent-encoding answers 401, not 500 (URIError in readCookie)", async () => {
    // Repro: curl -H 'cookie: berth_session=%ff%fe' http://localhost:3555/api/account  -> 500 internal_error
    for (const c of ["berth_session=%ff%fe", "berth_session=%E0%A4%A", "berth_session=%"]) {
      const r = await withCookie(c)("GET", "/api/account");
      expect(r.status, c).toBe(401);
      const a = await act(c, "/dashboard/api-keys", "createApiKeyAction", [{ name: `pct-${MARK}` }]);
      expect(a.status, c).toBeLessThan(500);
      expect(a.result?.ok ?? false).toBe(false);
    }
    // an API key beside a bad cookie still works
    expect(
      (await api(berth.url, A.api_key)("GET", "/api/account", undefined, { cookie: "berth_session=%ff" })).status,
    ).toBe(200);
  });

  it("sign-out revokes the session: a copied cookie stops working (REST, actions, pages, switch)", async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${berth.url}/sign-in`);
    await page.fill("#email", email.m);
    await page.fill("#password", pw.m);
    await page.click("button[type=submit]");
    await page.waitForURL(/\/dashboard/);
    const copied = `berth_session=${(await ctx.cookies()).find((c) => c.name === "berth_session")?.value}`;
    expect(await accountOf(copied)).toBe(A.account_id);
    await page
      .getByRole("button", { name: /sign out/i })
      .first()
      .click();
    await page.waitForURL(/\/sign-in/);
    await ctx.close();
    expect((await withCookie(copied)("GET", "/api/account")).status).toBe(401);
    expect(
      (await act(copied, "/dashboard", "switchAccountAction", [{ account_id: A.account_id }])).result?.ok ?? false,
    ).toBe(false);
    expect((await act(copied, "/dashboard", "extendAction", [{ id: aConn, seconds: 60 }])).result?.ok ?? false).toBe(
      false,
    );
    const p = await pageHtml(copied, "/dashboard");
    expect(p.status).not.toBe(200);
  });

  it("a cookie fixed by an attacker before sign-in does not become the victim's session", async () => {
    const ctx = await browser.newContext();
    const u = new URL(berth.url);
    const attackerValue = cookieB.split("=").slice(1).join("=");
    await ctx.addCookies([{ name: "berth_session", value: attackerValue, domain: u.hostname, path: "/" }]);
    const page = await ctx.newPage();
    await page.goto(`${berth.url}/sign-in`);
    if (page.url().includes("/sign-in")) {
      await page.fill("#email", email.m);
      await page.fill("#password", pw.m);
      await page.click("button[type=submit]");
      await page.waitForURL(/\/dashboard/);
    }
    await ctx.close();
    // the attacker's cookie still is the attacker (B), never the member of A
    expect(await accountOf(cookieB)).toBe(B.account_id);
  });
});

describe("sign-in ?next= open redirects", () => {
  const targets = [
    "//evil.test/x",
    "/\\evil.test",
    "https://evil.test/",
    "/%2F%2Fevil.test",
    "/\t/evil.test",
    "javascript:alert(1)",
    "/%5Cevil.test",
    "\\\\evil.test",
    "/.//evil.test",
  ];
  it("every variant stays on Berth", async () => {
    for (const t of targets) {
      const { url } = await signIn(email.m, pw.m, t);
      expect(new URL(url).origin, t).toBe(berth.url);
    }
  });

  it("the next parameter is not reflected unescaped into the sign-in page", async () => {
    const r = await fetch(`${berth.url}/sign-in?next=${encodeURIComponent(`/x"><script>alert(1)</script>`)}`);
    expect(await r.text()).not.toContain("<script>alert(1)</script>");
  });
});

describe("CSRF and origins", () => {
  it("raw cross-origin posts with the cookie: 403 (actions and REST), 415 for simple bodies", async () => {
    for (const origin of ["http://evil.test", "null", `${berth.url}.evil.test`, "http://localhost.evil.test"]) {
      const r = await act(cookieA, "/dashboard/api-keys", "createApiKeyAction", [{ name: `csrf-${MARK}` }], { origin });
      expect(r.status, origin).toBe(403);
      const q = await withCookie(cookieA)("POST", "/api/api-keys", { name: `csrf-${MARK}` }, { origin });
      expect(q.status, origin).toBe(403);
    }
    for (const ct of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const q = await withCookie(cookieA)("POST", "/api/members", '{"email":"csrf@x.test","role":"owner"}', {
        "content-type": ct,
      });
      expect(q.status, ct).toBe(415);
    }
    const keys = (await rest(A.api_key)("GET", "/api/api-keys")).body.data;
    expect(keys.some((k: any) => k.name === `csrf-${MARK}`)).toBe(false);
  });

  it("a hostile page on another origin of the same site, in the signed-in browser, changes nothing", async () => {
    const evilPort = await freePort();
    const target = berth.url;
    const html = `<!doctype html><body><form id=f method=POST action="${target}/api/members" enctype="text/plain">
<input name='{"email":"csrf-${MARK}@x.test","role":"owner","x":"' value='"}'></form>
<form id=g method=POST action="${target}/api/account" enctype="text/plain"><input name='{"name":"csrf-owned","x":"' value='"}'></form>
<iframe name=sink></iframe>
<script>
(async()=>{
 const res=[];
 try{await fetch("${target}/dashboard/api-keys",{method:"POST",mode:"no-cors",credentials:"include",headers:{"next-action":"${ids.createApiKeyAction}","content-type":"text/plain"},body:JSON.stringify([{name:"csrf-${MARK}"}])});res.push("a")}catch(e){res.push("ea")}
 try{await fetch("${target}/dashboard/api-keys",{method:"POST",mode:"no-cors",credentials:"include",headers:{"content-type":"text/plain"},body:JSON.stringify([{name:"csrf-${MARK}"}])});res.push("b")}catch(e){res.push("eb")}
 try{const r=await fetch("${target}/api/api-keys",{credentials:"include"});res.push("read:"+(await r.text()).slice(0,50))}catch(e){res.push("eread")}
 document.getElementById("f").target="sink";document.getElementById("f").submit();
 await new Promise(r=>setTimeout(r,800));
 document.getElementById("g").target="sink";document.getElementById("g").submit();
 await new Promise(r=>setTimeout(r,800));
 window.__done=res;
})();
</script></body>`;
    const srv = http.createServer((_q, s) => {
      s.writeHead(200, { "content-type": "text/html" });
      s.end(html);
    });
    await new Promise<void>((r) => srv.listen(evilPort, "127.0.0.1", () => r()));
    const ctx = await browser.newContext();
    try {
      const u = new URL(berth.url);
      await ctx.addCookies([
        {
          name: "berth_session",
          value: cookieA.split("=").slice(1).join("="),
          domain: u.hostname,
          path: "/",
          sameSite: "Lax",
          httpOnly: true,
        },
      ]);
      const page = await ctx.newPage();
      await page.goto(`http://127.0.0.1:${evilPort}/`);
      await page.waitForFunction(() => (window as any).__done, undefined, { timeout: 15_000 });
      const done = await page.evaluate(() => (window as any).__done);
      expect(done.join(",")).not.toContain("read:{");
    } finally {
      await ctx.close();
      srv.close();
    }
    const keys = (await rest(A.api_key)("GET", "/api/api-keys")).body.data;
    expect(keys.some((k: any) => k.name === `csrf-${MARK}`)).toBe(false);
    const members = (await rest(A.api_key)("GET", "/api/members")).body.data;
    expect(members.some((m: any) => m.email === `csrf-${MARK}@x.test`)).toBe(false);
    expect((await rest(A.api_key)("GET", "/api/account")).body.data.name).not.toBe("csrf-owned");
  });
});

describe("API keys: revocation and secrets", () => {
  it("a revoked key stops at once on REST and on the MCP endpoint; revoking twice is harmless", async () => {
    const k = await act(cookieA, "/dashboard/api-keys", "createApiKeyAction", [{ name: `rev-${MARK}` }]);
    expect(k.result?.ok).toBe(true);
    const key = k.result.data.key as string;
    expect((await rest(key)("GET", "/api/account")).status).toBe(200);
    const init = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
    };
    const before = await rest(key)("POST", `/api/mcp/${aConn}`, init, {
      accept: "application/json, text/event-stream",
    });
    expect(before.status).toBe(200);
    const rv = await act(cookieA, "/dashboard/api-keys", "revokeApiKeyAction", [{ id: k.result.data.id }]);
    expect(rv.result?.ok).toBe(true);
    expect((await rest(key)("GET", "/api/account")).status).toBe(401);
    const after = await rest(key)("POST", `/api/mcp/${aConn}`, init, { accept: "application/json, text/event-stream" });
    expect(after.status).toBe(401);
    const sid = before.headers.get("mcp-session-id");
    if (sid) {
      const old = await rest(key)(
        "POST",
        `/api/mcp/${aConn}`,
        { jsonrpc: "2.0", id: 2, method: "tools/list" },
        { accept: "application/json, text/event-stream", "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" },
      );
      expect(old.status).toBe(401);
    }
    const again = await act(cookieA, "/dashboard/api-keys", "revokeApiKeyAction", [{ id: k.result.data.id }]);
    expect(again.status).toBeLessThan(500);
  });

  it("no page, RSC payload or listing carries a key, a key hash, a password hash, an invite token or a credential", async () => {
    const k = await act(cookieA, "/dashboard/api-keys", "createApiKeyAction", [{ name: `leak-${MARK}` }]);
    const key = k.result.data.key as string;
    const hash = crypto.createHash("sha256").update(key).digest("hex");
    const inv = await act(cookieA, "/dashboard/members", "inviteMemberAction", [
      { email: `leak-${MARK}@a.test`, role: "member" },
    ]);
    const token = new URL(inv.result.data.invite_url).pathname.split("/").pop() as string;
    const tokenHash = crypto.createHash("sha256").update(token).digest("hex");
    const pages = [
      "/dashboard",
      "/dashboard/api-keys",
      "/dashboard/members",
      "/dashboard/settings",
      "/dashboard/catalogue",
      `/dashboard/connections/${aConn}`,
      `/dashboard/install/secret-fixture-${MARK}`,
    ];
    for (const cookie of [cookieA, cookieM]) {
      for (const p of pages) {
        for (const body of [(await pageHtml(cookie, p)).text, await rscPayload(cookie, p)]) {
          for (const secret of [key, hash, token, tokenHash, SECRET_TOKEN, A.api_key, "$argon2"]) {
            expect(body.includes(secret), `${p} leaks ${secret.slice(0, 12)}`).toBe(false);
          }
        }
      }
      for (const p of [
        "/api/api-keys",
        "/api/members",
        "/api/account",
        `/api/mcp-connections/${aConn}`,
        `/api/mcp-connections/${aConn}/client-config`,
        `/api/mcp-connections/${aConn}/events`,
        "/api/mcp-connections",
      ]) {
        const r = await withCookie(cookie)("GET", p);
        for (const secret of [
          key,
          hash,
          token,
          tokenHash,
          SECRET_TOKEN,
          "$argon2",
          "password_hash",
          "key_hash",
          "token_hash",
        ]) {
          expect(r.text.includes(secret), `${p} leaks ${secret.slice(0, 12)}`).toBe(false);
        }
      }
    }
  });
});

describe("XSS through names the tenant controls", () => {
  it("account, key, connection and definition names render as text", async () => {
    expect(
      (
        await act(cookieA, "/dashboard/settings", "updateSettingsAction", [
          { name: `A ${XSS}`.slice(0, 200), default_timeout: null },
        ])
      ).result?.ok,
    ).toBe(true);
    expect(
      (await act(cookieA, "/dashboard/api-keys", "createApiKeyAction", [{ name: `k ${XSS}`.slice(0, 200) }])).result
        ?.ok,
    ).toBe(true);
    expect(
      (await act(cookieA, "/dashboard", "updateAction", [{ id: aConn, name: `c ${XSS}`.slice(0, 200) }])).result?.ok,
    ).toBe(true);
    const bad = await act(cookieA, "/dashboard/members", "inviteMemberAction", [
      { email: `"<img src=x onerror=alert(1)>"@x.test`, role: "member" },
    ]);
    expect(bad.status).toBeLessThan(500);
    const ctx = await browser.newContext();
    try {
      const u = new URL(berth.url);
      for (const c of [cookieA, cookieM]) {
        await ctx.clearCookies();
        await ctx.addCookies([
          { name: "berth_session", value: c.split("=").slice(1).join("="), domain: u.hostname, path: "/" },
        ]);
        const page = await ctx.newPage();
        let dialogs = 0;
        page.on("dialog", (d) => {
          dialogs++;
          d.dismiss().catch(() => undefined);
        });
        for (const p of [
          "/dashboard",
          "/dashboard/api-keys",
          "/dashboard/members",
          "/dashboard/settings",
          "/dashboard/catalogue",
          `/dashboard/connections/${aConn}`,
          `/dashboard/install/secret-fixture-${MARK}`,
        ]) {
          await page.goto(`${berth.url}${p}`);
          await page.waitForLoadState("networkidle").catch(() => undefined);
          await page.waitForTimeout(300);
          expect(await page.evaluate(() => (window as any).__xss ?? 0), p).toBe(0);
          expect(await page.locator('img[src="x"]').count(), p).toBe(0);
        }
        expect(dialogs).toBe(0);
        await page.close();
      }
    } finally {
      await ctx.close();
    }
    await act(cookieA, "/dashboard/settings", "updateSettingsAction", [{ name: "A", default_timeout: null }]);
  });
});

describe("malformed and huge input", () => {
  it("REST: oversized, deeply nested, wrong types and extra fields are 4xx", async () => {
    const call = withCookie(cookieA);
    // (the oversized body is in its own test below: on a kept-alive connection it stalls the next request)
    const deep = await call("PATCH", "/api/account", `${"[".repeat(2000)}${"]".repeat(2000)}`);
    expect(deep.status).toBeGreaterThanOrEqual(400);
    expect(deep.status).toBeLessThan(500);
    const extra = await call("PATCH", "/api/account", { name: "A", id: B.account_id, owner: true });
    expect(extra.status).toBe(400);
    const wrong = await call("PATCH", `/api/members/${memberId}`, { role: "superuser" });
    expect(wrong.status).toBe(400);
    const notUuid = await call("PATCH", "/api/members/../../account", { role: "owner" });
    expect(notUuid.status).toBeLessThan(500);
    const proto = await call(
      "PATCH",
      `/api/mcp-connections/${aConn}`,
      '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}',
    );
    expect(proto.status).toBeLessThan(500);
    expect((await rest(A.api_key)("GET", "/api/account")).body.data.id).toBe(A.account_id);
  });

  it("FINDING: after a REST request with an oversized body is refused, the kept-alive connection still answers", async () => {
    // Repro: one TCP connection; PATCH /api/account with Content-Length 200000 (cookie or none) ->
    // 413 (or 401) with "Connection: keep-alive"; then GET /api/health on the same connection never
    // gets an answer (Node's fetch reuses such connections: the next call hangs until its timeout).
    const { port, hostname } = new URL(berth.url);
    const net = await import("node:net");
    for (const cookie of [cookieA, ""]) {
      const pad = "x".repeat(200_000);
      let closedByServer = false;
      const answers = await new Promise<string[]>((resolve) => {
        const s = net.connect(Number(port), hostname, () =>
          s.write(
            `PATCH /api/account HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n` +
              `${cookie ? `Cookie: ${cookie}\r\n` : ""}Content-Length: ${pad.length}\r\n\r\n${pad}`,
          ),
        );
        let out = "";
        s.on("data", (d) => {
          out += d;
        });
        s.on("error", () => undefined);
        setTimeout(() => s.write(`GET /api/health HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`), 1000);
        setTimeout(() => {
          s.destroy();
          resolve(out.match(/HTTP\/1\.1 \d+/g) ?? []);
        }, 6000);
        s.on("end", () => {
          closedByServer = true;
          resolve(out.match(/HTTP\/1\.1 \d+/g) ?? []);
        });
      });
      // safe: either the second request is answered, or the server closed the connection after the refusal
      expect(answers[0], JSON.stringify(answers)).toMatch(/HTTP\/1\.1 4\d\d/);
      expect(
        answers.length === 2 || closedByServer,
        `answers on the kept-alive connection: ${JSON.stringify(answers)}`,
      ).toBe(true);
    }
  });

  it("server actions: wrong shapes and extra fields are refused without a 500", async () => {
    for (const args of [
      [],
      [null],
      ["x"],
      [{}],
      [{ name: "" }],
      [{ name: 5 }],
      [{ name: "x", extra: 1 }],
      ["$@1"],
      [{ name: "x" }, { name: "y" }],
    ]) {
      const r = await act(cookieA, "/dashboard/api-keys", "createApiKeyAction", args as unknown[]);
      expect(r.status, JSON.stringify(args)).toBeLessThan(500);
    }
    const sw = await act(cookieA, "/dashboard", "switchAccountAction", [{ account_id: "not-a-uuid" }]);
    expect(sw.result?.ok).toBe(false);
    const unknownAction = await act(cookieA, "/dashboard", "7f".padEnd(42, "0"), "[]");
    expect(unknownAction.status).toBeLessThan(500);
  });

  // Open (F4): Next.js's own action decoder answers 500 (a digest, no stack; the server stays up) for
  // a body it cannot decode, before any of Berth's code runs. Kept as tests of the goal.
  const upstream = "open finding F4: Next.js answers an undecodable server action body with 500";
  console.log(`[hostile dashboard] skipped 2 tests: ${upstream}`);

  it.skip("FINDING: a server action body that is not JSON answers 4xx, not 500", async () => {
    const r = await act(cookieA, "/dashboard/api-keys", "createApiKeyAction", "{{{not json");
    expect(r.status).toBeLessThan(500);
  });

  it.skip("FINDING: an RSC reference the decoder cannot resolve ($Q1) answers 4xx, not 500", async () => {
    const r = await act(cookieA, "/dashboard/api-keys", "createApiKeyAction", '["$Q1"]');
    expect(r.status).toBeLessThan(500);
  });

  it("FINDING: a 3 MB server action body answers 413, not 500 (and without a session too)", async () => {
    const body = JSON.stringify([{ name: "x".repeat(3_000_000) }]);
    const r = await act(cookieA, "/dashboard/api-keys", "createApiKeyAction", body);
    expect(r.status).toBeLessThan(500);
    const anon = await act("", "/dashboard/api-keys", "createApiKeyAction", body);
    expect(anon.status).toBeLessThan(500);
  });

  it("the server is still alive after all of this", async () => {
    expect((await fetch(`${berth.url}/api/health`)).status).toBe(200);
    expect(berth.output()).not.toMatch(/FATAL|uncaughtException|unhandledRejection/i);
  });
});
