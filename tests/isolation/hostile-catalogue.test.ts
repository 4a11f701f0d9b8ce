// Hostile catalogue: the owner of an ordinary account (dashboard session + API key) tries to change
// the shared catalogue (add, edit, remove, revive a definition), to become an operator, or to learn
// what it should not (who the operators are, other accounts' data), through REST, server actions
// called directly, the catalogue pages, first-run setup, invitations, malformed input, races and
// its own sandbox. Each test asserts the SAFE behaviour; a `FINDING:` test failed against the
// version reviewed (cbf9bbb) and stays failing until it is fixed.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type BerthServer, startBerth } from "../support/berth-server";
import { actionIds, callAction } from "../support/server-actions";

const MARK = crypto.randomBytes(3).toString("hex");
const XSS = `<img src=x onerror="window.__xss=1">"'></script><script>window.__xss=1</script>`;
const OP = { email: `op-${MARK}@ops.test`, pw: "operator-password-1" };
const T = { email: `t-${MARK}@tenant.test`, pw: "tenant-password-1" };
const COLLEAGUE = `colleague-${MARK}@ops.test`;

let berth: BerthServer;
let ids: Record<string, string>;
let tenant: { account_id: string; api_key: string };
let victim: { account_id: string; api_key: string };
let cookieT: string;
let cookieOp: string;
let setupRace: { winners: string[] };
let removedId: string;
const tmpFiles: string[] = [];

type Call = ReturnType<typeof api>;
const rest = (key?: string): Call => api(berth.url, key);
const decode = (s: string) =>
  s
    .replaceAll("&quot;", '"')
    .replaceAll("&#x27;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");

/** Submits a page's form as a browser without JS does (its hidden fields name the server action). */
async function formPost(page: string, fields: Record<string, string>, cookie = "") {
  const html = await fetch(`${berth.url}${page}`, { headers: cookie ? { cookie } : {} }).then((r) => r.text());
  const data = new FormData();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)"(?: value="([^"]*)")?\/>/g))
    data.append(m[1] as string, decode(m[2] ?? ""));
  for (const [k, v] of Object.entries(fields)) data.set(k, v);
  const res = await fetch(`${berth.url}${page}`, {
    method: "POST",
    body: data,
    redirect: "manual",
    headers: { origin: berth.url, ...(cookie ? { cookie } : {}) },
  });
  const set = res.headers
    .getSetCookie()
    .find((c) => c.startsWith("berth_session=") && !c.startsWith("berth_session=;"));
  return { status: res.status, cookie: set ? (set.split(";")[0] as string) : "", text: await res.text() };
}

const signIn = async (email: string, password: string) => (await formPost("/sign-in", { email, password })).cookie;

/** Calls a server action directly, as the browser's callServer does. */
const act = (cookie: string, name: string, args: unknown[] | string, page = "/dashboard/catalogue", extra = {}) =>
  callAction(berth.url, { cookie, page, action: ids[name] ?? name, args, headers: { origin: berth.url, ...extra } });

/** The whole catalogue as the CLI (Berth itself) sees it, for before/after comparisons. */
const catalogue = async () => JSON.stringify(await berth.cli(["servers", "list"]));
const operators = async () => ((await berth.cli(["operators", "list"])) as { email: string }[]).map((o) => o.email);

function definition(slug: string, extra: Record<string, unknown> = {}) {
  return {
    slug,
    title: `Evil ${slug}`,
    start_command: "sh -c 'echo pwned > /tmp/pwned'",
    credential_schema: { type: "object", properties: { TOKEN: { type: "string" } } },
    tools: ["steal"],
    ...extra,
  };
}

async function addAsOperatorCli(def: Record<string, unknown>) {
  const file = path.join(os.tmpdir(), `hc-def-${MARK}-${def.slug}.json`);
  fs.writeFileSync(file, JSON.stringify(def));
  tmpFiles.push(file);
  return (await berth.cli(["servers", "add", "--file", file])) as { id: string; slug: string };
}

function expectErrorShape(r: { status: number; body: any; text: string }) {
  expect(r.status, r.text).toBeGreaterThanOrEqual(400);
  expect(r.status, r.text).toBeLessThan(500);
  expect(typeof r.body?.error?.code, r.text).toBe("string");
  expect(typeof r.body?.error?.message, r.text).toBe("string");
}

beforeAll(async () => {
  ids = actionIds();
  berth = await startBerth({ SANDBOX_PROVIDER: "local", BERTH_API_REQUESTS_PER_SECOND: "100000" });
  // First run: the installer and two strangers submit /setup at the same moment.
  const who = [OP.email, `race1-${MARK}@evil.test`, `race2-${MARK}@evil.test`];
  const answers = await Promise.all(who.map((email) => formPost("/setup", { name: email, email, password: OP.pw })));
  setupRace = { winners: who.filter((_, i) => answers[i]?.cookie) };
  if (!setupRace.winners.includes(OP.email)) {
    await berth.cli(["accounts", "create", "--name", "Ops", "--owner-email", OP.email, "--owner-password", OP.pw]);
    await berth.cli(["operators", "grant", "--email", OP.email]);
  }
  for (const w of setupRace.winners.filter((e) => e !== OP.email))
    await berth.cli(["operators", "revoke", "--email", w]);
  const create = (name: string, email: string) =>
    berth.cli(["accounts", "create", "--name", name, "--owner-email", email, "--owner-password", T.pw]) as Promise<any>;
  tenant = await create("Tenant", T.email);
  victim = await create("Victim", `v-${MARK}@victim.test`);
  cookieT = await signIn(T.email, T.pw);
  cookieOp = await signIn(OP.email, OP.pw);
  expect(cookieT).not.toBe("");
  expect(cookieOp).not.toBe("");
  // A definition the operator removed (a tenant must not bring it back or install it).
  removedId = (await addAsOperatorCli(definition(`gone-${MARK}`))).id;
  await berth.cli(["servers", "remove", "--slug", `gone-${MARK}`]);
}, 120_000);

afterAll(async () => {
  await berth?.stop();
  for (const f of tmpFiles) fs.rmSync(f, { force: true });
  if (berth) fs.rmSync(berth.dataDir, { recursive: true, force: true });
});

describe("REST", () => {
  it("no method, path or override writes the catalogue (API key and session)", async () => {
    const before = await catalogue();
    const session: Call = (m, p, b, h = {}) => rest()(m, p, b, { cookie: cookieT, origin: berth.url, ...h });
    const paths = [
      "/api/mcp-server-definitions",
      "/api/mcp-server-definitions/memory",
      `/api/mcp-server-definitions/gone-${MARK}`,
      `/api/mcp-server-definitions/${removedId}`,
      "/api/mcp-server-definitions/memory/restore",
      "/api/mcp-server-definitions/%2e%2e",
      "/api/servers",
      "/api/catalogue",
      "/api/operators",
      "/api/mcp-server-definitions/__proto__",
    ];
    for (const call of [rest(tenant.api_key), session])
      for (const p of paths)
        for (const m of ["POST", "PUT", "PATCH", "DELETE"]) {
          const r = await call(m, p, definition("memory"), { "x-http-method-override": "PUT" });
          expectErrorShape(r);
        }
    // The documented API has no write route for definitions at all.
    const doc = (await rest()("GET", "/api/openapi.json")).body;
    const defPaths = Object.entries<any>(doc.paths).filter(([p]) => p.includes("server-definitions"));
    expect(defPaths.flatMap(([, ops]) => Object.keys(ops)).filter((m) => m !== "get")).toEqual([]);
    expect(await catalogue()).toBe(before);
  });

  it("removed definitions are not found, installed or tested by a tenant (no revival)", async () => {
    const k = rest(tenant.api_key);
    for (const ref of [`gone-${MARK}`, removedId]) {
      expectErrorShape(await k("GET", `/api/mcp-server-definitions/${ref}`));
      for (const dry_run of [false, true])
        expectErrorShape(
          await k("POST", "/api/mcp-connections/install", { account_id: tenant.account_id, server_id: ref, dry_run }),
        );
    }
    const list = (await k("GET", "/api/mcp-server-definitions")).body.data as { slug: string }[];
    expect(list.map((d) => d.slug)).not.toContain(`gone-${MARK}`);
  });

  it("odd idOrSlug values answer 4xx in the error shape, never 5xx", async () => {
    const k = rest(tenant.api_key);
    for (const s of [
      "%00",
      "a%00b",
      "%ff",
      "x".repeat(5000),
      "%E2%80%AE",
      "M%C9%98mory",
      "memory%20",
      "%2F",
      "null",
      "constructor",
    ]) {
      const r = await k("GET", `/api/mcp-server-definitions/${s}`);
      expectErrorShape(r);
    }
  });
});

describe("server actions, called directly", () => {
  const attempts = () =>
    [
      ["createDefinitionAction", [definition(`evil-${MARK}`)]],
      ["createDefinitionAction", [definition("memory")]],
      ["createDefinitionAction", [definition(`gone-${MARK}`)]],
      ["updateDefinitionAction", [{ slug: "memory", definition: definition("memory") }]],
      ["updateDefinitionAction", [{ slug: `gone-${MARK}`, definition: definition(`gone-${MARK}`) }]],
      ["updateDefinitionAction", [{ slug: "memory", definition: definition("filesystem") }]],
      ["removeDefinitionAction", [{ slug: "memory" }]],
    ] as const;

  it("a tenant owner's session is forbidden to create, edit, remove or revive, from any page", async () => {
    const before = await catalogue();
    for (const page of ["/dashboard/catalogue", "/dashboard/catalogue/new", "/dashboard", "/sign-in", "/setup"])
      for (const [name, args] of attempts()) {
        const r = await act(cookieT, name, [...args], page);
        expect(r.status, r.text).toBeLessThan(500);
        expect(r.result?.ok ?? false, r.text).toBe(false);
        if (r.result) expect(r.result.error.code).toBe("forbidden");
      }
    expect(await catalogue()).toBe(before);
  });

  it("API keys, no session and forged cookies get nothing", async () => {
    const before = await catalogue();
    for (const cookie of ["", "berth_session=x", `berth_session=${"A".repeat(4000)}`, "berth_session=%ff"])
      for (const [name, args] of attempts()) {
        const r = await act(cookie, name, [...args], "/dashboard/catalogue", {
          authorization: `Bearer ${tenant.api_key}`,
        });
        expect(r.status, r.text).toBeLessThan(500);
        expect(r.result?.ok ?? false).toBe(false);
      }
    expect(await catalogue()).toBe(before);
  });

  it("malformed bodies (prototype keys, NUL, unicode, huge, non-JSON) change nothing and never 5xx", async () => {
    const before = await catalogue();
    const bodies: [string, unknown[] | string][] = [
      ["createDefinitionAction", [{ ...definition(`p-${MARK}`), __proto__: { operator: true } }]],
      [
        "createDefinitionAction",
        `[{"__proto__":{"operator":true,"kind":"system"},"slug":"p2-${MARK}","title":"t","start_command":"x"}]`,
      ],
      [
        "updateDefinitionAction",
        `[{"slug":"memory","constructor":{"prototype":{"operator":true}},"definition":{"slug":"memory","title":"t","start_command":"x"}}]`,
      ],
      ["removeDefinitionAction", [{ slug: "memory\u0000" }]],
      ["removeDefinitionAction", [{ slug: "\u0000" }]],
      ["removeDefinitionAction", [{ slug: "ｍemory" }]],
      ["removeDefinitionAction", [{ slug: "memory\u200b" }]],
      ["removeDefinitionAction", [{ slug: { toString: "memory" } }]],
      ["removeDefinitionAction", [{ slug: "memory" }, { slug: "filesystem" }]],
      ["createDefinitionAction", [definition(`big-${MARK}`, { description: "x".repeat(900_000) })]],
      ["createDefinitionAction", [{ ...definition(`n-${MARK}`), start_command: "a\u0000b", title: "\ud800" }]],
      ["createDefinitionAction", `["$Q1"]`],
      ["createDefinitionAction", "not json at all"],
    ];
    for (const [name, body] of bodies) {
      const r = await act(cookieT, name, body);
      expect(r.status, `${name} ${String(body).slice(0, 80)}: ${r.text.slice(0, 300)}`).toBeLessThan(500);
      expect(r.result?.ok ?? false).toBe(false);
    }
    // Still no operator: the catalogue page offers a tenant no editing.
    const html = await fetch(`${berth.url}/dashboard/catalogue`, { headers: { cookie: cookieT } }).then((r) =>
      r.text(),
    );
    expect(html).toContain("Operators add their own");
    expect(html).not.toContain("/dashboard/catalogue/new");
    expect(await catalogue()).toBe(before);
  });

  it("200 concurrent writes (actions and REST) all fail and leave the catalogue as it was", async () => {
    const before = await catalogue();
    const jobs: Promise<{ status: number; ok: boolean }>[] = [];
    for (let i = 0; i < 40; i++)
      for (const [name, args] of attempts())
        jobs.push(act(cookieT, name, [...args]).then((r) => ({ status: r.status, ok: r.result?.ok ?? false })));
    for (let i = 0; i < 60; i++)
      jobs.push(
        rest(tenant.api_key)("PUT", "/api/mcp-server-definitions/memory", definition("memory")).then((r) => ({
          status: r.status,
          ok: r.status < 300,
        })),
      );
    const all = await Promise.all(jobs);
    expect(all.filter((r) => r.ok || r.status >= 500)).toEqual([]);
    expect(await catalogue()).toBe(before);
  }, 60_000);
  it("a page elsewhere cannot drive the operator's session to change the catalogue (CSRF)", async () => {
    const before = await catalogue();
    for (const origin of ["http://evil.test", "null", `${berth.url}.evil.test`, "http://localhost:1"]) {
      const r = await act(cookieOp, "createDefinitionAction", [definition(`csrf-${MARK}`)], "/dashboard/catalogue", {
        origin,
        "sec-fetch-site": "cross-site",
      });
      expect(r.status, `${origin}: ${r.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
    }
    expect(await catalogue()).toBe(before);
  });
});

describe("pages", () => {
  it("the editor pages show a tenant 'operators only' and nothing an operator sees", async () => {
    for (const p of ["/dashboard/catalogue/new", "/dashboard/catalogue/memory/edit"]) {
      const r = await fetch(`${berth.url}${p}`, { headers: { cookie: cookieT }, redirect: "manual" });
      const text = await r.text(); // the page and its inline RSC payload
      expect(r.status).toBe(200);
      expect(text).toContain("Only operators change the catalogue");
      expect(text).not.toMatch(/usedBy|\\"initial\\"|start_command/);
    }
  });

  // A malformed percent-escape in a dynamic segment (`%ff`) is a 500 on every dynamic page
  // (catalogue edit, install, connection, and /invite/%ff without any session); 404 elsewhere.
  it("FINDING: odd slugs in the edit and install pages answer 404 (or the page), never 5xx", async () => {
    for (const s of [
      "%00",
      "a%00b",
      "%ff",
      "x".repeat(3000),
      "%E2%80%AE",
      "__proto__",
      "..%2F..%2Fapi",
      `gone-${MARK}`,
      removedId,
    ]) {
      for (const p of [`/dashboard/catalogue/${s}/edit`, `/dashboard/install/${s}`]) {
        const r = await fetch(`${berth.url}${p}`, { headers: { cookie: cookieT }, redirect: "manual" });
        expect(r.status, `${p}: ${r.status}`).toBeLessThan(500);
      }
    }
  });

  it("an operator's hostile definition fields are escaped in other accounts' catalogue and install pages", async () => {
    const slug = `xss-${MARK}`;
    await addAsOperatorCli({
      ...definition(slug),
      title: `T ${XSS}`,
      description: `D ${XSS}`,
      tools: [`tool ${XSS}`],
      env: { NOTE: XSS },
      credential_schema: {
        type: "object",
        properties: { TOKEN: { type: "string", title: `Tok ${XSS}`, description: `Desc ${XSS}` } },
      },
    });
    for (const p of ["/dashboard/catalogue", `/dashboard/install/${slug}`]) {
      const html = await fetch(`${berth.url}${p}`, { headers: { cookie: cookieT } }).then((r) => r.text());
      expect(html).toContain(slug);
      expect(html).not.toContain("<img src=x");
      expect(html).not.toContain("<script>window.__xss");
    }
    await berth.cli(["servers", "remove", "--slug", slug]);
  });
});

describe("becoming an operator", () => {
  // Setup checks "no user yet", then hashes the password (Argon2, slow), then creates the account in
  // another transaction: every /setup posted in that window passes the check, and each poster
  // becomes an owner *and an operator*; the installer sees a normal setup and nothing else.
  it("FINDING: first-run setup makes exactly one operator, though three people race it", async () => {
    // Whichever comes first wins (the installer, on a host only they can reach); the others are refused.
    expect(setupRace.winners).toHaveLength(1);
  });

  it("setup after the first run creates no user, account or operator", async () => {
    const ops = await operators();
    const r = await formPost("/setup", { name: "Evil", email: `late-${MARK}@evil.test`, password: "evil-password" });
    expect(r.cookie).toBe("");
    expect(await signIn(`late-${MARK}@evil.test`, "evil-password")).toBe("");
    expect(await operators()).toEqual(ops);
  });

  it("inviting the operator's email gives the tenant no way to take over the operator", async () => {
    const inv = await rest(tenant.api_key)("POST", "/api/members", { email: OP.email, role: "admin" });
    expect(inv.status, inv.text).toBe(201);
    const page = new URL(inv.body.data.invite_url).pathname;
    const accepted = await formPost(page, { password: "attacker-password" });
    expect(accepted.cookie).toBe("");
    expect(await signIn(OP.email, "attacker-password")).toBe("");
    expect(await signIn(OP.email, OP.pw)).not.toBe("");
    await rest(tenant.api_key)("DELETE", `/api/members/${inv.body.data.member.user_id}`);
  });

  // The operator's role belongs to a user, not to an account; a user invited somewhere who has not
  // chosen a password yet is claimed by whoever accepts *any* invitation of that email first (see
  // hostile-dashboard F1's residual). So a tenant who invited the email of an operator-to-be (made an
  // operator with `operators grant --email` before they accepted their own team's invitation) chose
  // that user's password and held the operator's role: it edited the shared catalogue. Fixed in
  // 304e6db (grant refuses an unclaimed invitee; an invitation never sets an operator's password);
  // still open against the build in .next (08:30, before 304e6db): the team's invitation withdrawn
  // before the grant (no open invitation, no password) passes grant's check, and only the new
  // `not operator` guard in setFirstPassword (not in that build) stops the tenant's acceptance.
  it("FINDING: a tenant cannot claim an invited, password-less operator by inviting their email", async () => {
    const before = await catalogue();
    const asOp: Call = (m, p, b) => rest()(m, p, b, { cookie: cookieOp, origin: berth.url });
    const claims: unknown[] = [];
    for (const withdrawn of [false, true]) {
      const email = `${withdrawn ? "withdrawn" : "pending"}-${COLLEAGUE}`;
      const team = await asOp("POST", "/api/members", { email, role: "admin" });
      expect(team.status, team.text).toBe(201);
      if (withdrawn) expect((await asOp("DELETE", `/api/members/${team.body.data.member.user_id}`)).status).toBe(200);
      const granted = await berth.cli(["operators", "grant", "--email", email]).then(
        () => true,
        () => false,
      );
      // The tenant invites the same email to its own account and accepts its own link.
      const inv = await rest(tenant.api_key)("POST", "/api/members", { email, role: "member" });
      expect(inv.status, inv.text).toBe(201);
      const claimed = await formPost(new URL(inv.body.data.invite_url).pathname, { password: "attacker-password" });
      if (claimed.cookie) {
        const r = (await act(claimed.cookie, "createDefinitionAction", [definition(`claimed-${MARK}`)])).result;
        if (granted || r?.ok) claims.push({ email, granted, created: r });
      }
    }
    const after = await catalogue();
    if (after !== before) await berth.cli(["servers", "remove", "--slug", `claimed-${MARK}`]).catch(() => undefined);
    expect(claims).toEqual([]);
    expect(after).toBe(before);
  });
});

describe("learning what a tenant should not", () => {
  it("no page or API answer of a tenant names the operators or another account", async () => {
    const leaks: string[] = [];
    const k = rest(tenant.api_key);
    for (const p of [
      "/api/members",
      "/api/account",
      "/api/mcp-server-definitions",
      "/api/mcp-connections",
      "/api/openapi.json",
      "/api/health",
    ]) {
      const r = await k("GET", p);
      if (r.text.includes(OP.email) || r.text.includes(victim.account_id)) leaks.push(p);
    }
    for (const p of ["/dashboard", "/dashboard/catalogue", "/dashboard/catalogue/memory/edit", "/dashboard/members"]) {
      const text = await fetch(`${berth.url}${p}`, { headers: { cookie: cookieT } }).then((r) => r.text());
      if (text.includes(OP.email) || text.includes(victim.account_id) || /\bused by\b/i.test(text)) leaks.push(p);
    }
    expect(leaks).toEqual([]);
  });

  it("a tenant's sandbox cannot reach Berth's CLI socket (which keeps the catalogue)", async () => {
    const sock = path.join(berth.dataDir, "cli.sock");
    const script = `const h=require('http');let n=0;for(const p of process.argv.slice(1)){const r=h.request({socketPath:p,method:'POST',path:'/'},s=>{let b='';s.on('data',d=>b+=d);s.on('end',()=>{console.log('ANSWER '+b);if(++n===2)process.exit(0)})});r.on('error',e=>{console.log('ERR '+e.code);if(++n===2)process.exit(0)});r.end(JSON.stringify({command:'operators list',options:{}}))}`;
    const r = await rest(tenant.api_key)("POST", "/api/sandbox-runs", {
      account_id: tenant.account_id,
      command: ["node", "-e", script, sock, `/proc/${berth.proc.pid}/root${sock}`],
      timeout: 20,
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body.data.stdout).not.toContain("ANSWER");
    expect(r.body.data.stdout).toContain("ERR");
  }, 30_000);
});
