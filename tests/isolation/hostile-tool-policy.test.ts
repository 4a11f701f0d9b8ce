// Hostile MCP client vs. tool policies and approvals (black box: README, OpenAPI, and the MCP
// endpoint only). Two accounts, A (the attacker's: an agent on A's `everything` connection) and B (a
// bystander tenant with its own `everything`). Every test asserts the SAFE behaviour.
//
// Tests named "FINDING" succeeded as attacks against the version reviewed; they fail until fixed:
//   F1 a call whose client disconnected while it waited still runs when an admin approves it
//   F2 a call waiting for approval still runs when approved after its tool was denied
//   F3 an approver cannot see arguments past 8 KiB (the decisive one can be put there)
//   F4 one connection's batches put 6,400 calls up for approval at once; other tenants stall for seconds
//   F5 a client name with a NUL byte makes the approval insert fail, the DB error quoted to the client
//   F6 (design) the server's `instructions` and resources name and describe hidden tools
//   F7 a tool name like {"toString":1} is never answered (unhandled rejection); 64 fill the connection
//   F8 two calls in flight with one JSON-RPC id: one is never answered, the other gets its result
//
// Fixed since: F2 (the policy is checked again once a call is approved), F3 (arguments are shown
// whole; over 32 KiB a call is refused, not held), F4 (20 waiting calls a connection, 100 an account),
// F5 (client names lose control and format characters), F7 (a name that is not a string is unknown).
// Not changed, so their tests are not kept: F1 (MCP: a dropped stream is not a cancellation; the
// answer is kept for the client to resume; notifications/cancelled and ending the session withdraw
// the call), F6 (the server's own words are passed on: docs/SECURITY.md), F8 (ids must be unique in
// a session; a client that repeats one in flight confuses only its own answers).
//
// Oracle for "did the tool run": `gzip-file-as-resource` with a data: URI creates a session
// resource on the server, visible in resources/list; `get-env` answers the environment (PATH=...).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type BerthServer, newAccount, startBerth } from "../support/berth-server";
import { until } from "../support/until";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Call = ReturnType<typeof api>;
type Acct = { accountId: string; key: string; call: Call; conn: string };

let berth: BerthServer;
let A: Acct;
let B: Acct;

function parse(t: string): any {
  if (/^(event|data|id):/m.test(t.slice(0, 20))) {
    const msgs = t
      .split("\n")
      .filter((l) => l.startsWith("data:"))
      .map((l) => JSON.parse(l.slice(5)));
    return msgs.find((m) => m.id !== undefined && (m.result || m.error)) ?? msgs[0];
  }
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

async function post(a: { key: string }, conn: string, body: unknown, session?: string, signal?: AbortSignal) {
  const res = await fetch(`${berth.url}/api/mcp/${conn}`, {
    method: "POST",
    signal,
    headers: {
      authorization: `Bearer ${a.key}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(session ? { "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" } : {}),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, body: parse(text), session: res.headers.get("mcp-session-id") };
}

const initMsg = (name = "hostile", protocolVersion = "2025-06-18") => ({
  ...{ jsonrpc: "2.0", id: 0, method: "initialize" },
  params: { protocolVersion, capabilities: {}, clientInfo: { name, version: "1" } },
});
async function open(a: Acct, conn = a.conn, clientName = "hostile", protocolVersion = "2025-06-18") {
  const r = await post(a, conn, initMsg(clientName, protocolVersion));
  if (!r.session) throw new Error(`initialize failed: ${r.status} ${r.text}`);
  await post(a, conn, { jsonrpc: "2.0", method: "notifications/initialized" }, r.session);
  return r.session;
}

let nextId = 1;
const rpc = (method: string, params?: unknown) => ({ jsonrpc: "2.0", id: nextId++, method, params });
const callTool = (name: unknown, args: unknown = {}, extra = {}) =>
  rpc("tools/call", { name, arguments: args, ...extra });
const gz = (name: string) =>
  callTool("gzip-file-as-resource", { name, data: "data:text/plain;base64,aGVsbG8=", outputType: "resourceLink" });

async function hasResource(session: string, name: string) {
  const r = await post(A, A.conn, rpc("resources/list"), session);
  return JSON.stringify(r.body).includes(name);
}
const setPolicy = async (policy: unknown) => {
  const r = await A.call("PUT", `/api/mcp-connections/${A.conn}/tool-policy`, policy);
  expect(r.status, r.text).toBe(200);
};
const pendingOf = async (a: Acct) => (await a.call("GET", "/api/tool-approvals?status=pending")).body.data as any[];
const firstPending = (a: Acct = A) =>
  until("a pending approval", async () => (await pendingOf(a))[0] ?? undefined, 10_000);
const decide = (id: string, how: "approve" | "reject", a: Acct = A) =>
  a.call("POST", `/api/tool-approvals/${id}/${how}`);
async function rejectAllPending() {
  for (const p of await pendingOf(A)) await decide(p.id, "reject");
}
const withTimeout = <T>(p: Promise<T>, ms: number) => Promise.race([p, sleep(ms).then(() => "timeout" as const)]);

/** The attacker's usual policy: get-env denied, echo renamed `say`, gzip and get-sum gated. */
const BASE_POLICY = {
  deny: ["get-env"],
  tools: {
    echo: { name: "say" },
    "get-sum": { approval: true },
    "gzip-file-as-resource": { approval: true },
  },
  approval_timeout_seconds: 30,
};

beforeAll(async () => {
  berth = await startBerth();
  const mk = async (name: string): Promise<Acct> => {
    const a = await newAccount(berth, name);
    const r = await a.call("POST", "/api/mcp-connections/install", {
      account_id: a.accountId,
      server_id: "everything",
    });
    if (r.status !== 201 || r.body.data.status !== "running") throw new Error(`install: ${r.text}`);
    return { ...a, conn: r.body.data.id };
  };
  [A, B] = await Promise.all([mk("attacker"), mk("bystander")]);
}, 120_000);

afterAll(async () => {
  await berth?.stop();
});

describe("hidden tools stay invisible and uncallable", () => {
  it("odd name encodings, non-string names, prototype keys and duplicate JSON keys do not reach get-env", async () => {
    await setPolicy({ ...BASE_POLICY, read_only: true });
    const s = await open(A);
    const spellings =
      "get-env|GET-ENV|Get-Env|get-env | get-env|get-env\u0000|get-env\n|get-env\t|get\u2010env|ｇｅｔ-ｅｎｖ|get-env\u200b|\ufeffget-env|get-env/|./get-env|get%2Denv|get_env";
    const others =
      "echo|ECHO|gzip-file-as-resource|toggle-simulated-logging|simulate-research-query|__proto__|constructor|toString|hasOwnProperty";
    const odd: unknown[] = [["get-env"], { name: "get-env" }, {}, 1, null, true, "x".repeat(200_000)];
    const names: unknown[] = [...spellings.split("|"), ...others.split("|"), ...odd];
    for (const name of names) {
      const r = await post(A, A.conn, callTool(name, { message: "x" }), s);
      expect(r.status).toBe(200);
      expect(r.body.error?.code, `${JSON.stringify(name)?.slice(0, 40)}: ${r.text.slice(0, 200)}`).toBe(-32602);
      expect(r.text).not.toMatch(/PATH=|"PATH"/);
    }
    const raw = [
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"say","name":"get-env","arguments":{}}}',
      '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get\\u002denv","arguments":{}}}',
      '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"__proto__":{"name":"get-env"},"arguments":{}}}',
      '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"constructor":{"prototype":{"name":"get-env"}}}}',
      '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":["get-env",{}]}',
      '{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"say","arguments":{},"_meta":{"name":"get-env"}}}',
    ];
    for (const body of raw) expect((await post(A, A.conn, body, s)).text).not.toMatch(/PATH=|"PATH"/);
    // other method spellings are not tools/call
    for (const m of ["Tools/Call", "tools/call ", "tools/get", "tools/run"]) {
      const r = await post(A, A.conn, { jsonrpc: "2.0", id: 9, method: m, params: { name: "get-env" } }, s);
      expect(r.body.error?.code).toBe(-32601);
    }
  });

  it("tools/list with cursors or extra params, completion and tasks never show or run a hidden tool", async () => {
    await setPolicy({ ...BASE_POLICY, read_only: true });
    const s = await open(A, A.conn, "hostile", "2025-11-25");
    for (const cursor of ["x", "0", "1", "eyJvZmZzZXQiOjB9", null, {}, [], "../"]) {
      const r = await post(A, A.conn, rpc("tools/list", { cursor, includeHidden: true, _meta: { all: true } }), s);
      const names = (r.body?.result?.tools ?? []).map((t: any) => t.name);
      expect(names).not.toContain("get-env");
      expect(names).not.toContain("echo");
      expect(names).not.toContain("gzip-file-as-resource");
    }
    const c = await post(
      A,
      A.conn,
      rpc("completion/complete", { ref: { type: "ref/tool", name: "get-env" }, argument: { name: "x", value: "" } }),
      s,
    );
    expect(c.text).not.toMatch(/PATH/);
    // task-augmented calls: hidden stays hidden
    for (const name of ["get-env", "simulate-research-query", "gzip-file-as-resource"]) {
      const r = await post(A, A.conn, callTool(name, {}, { task: { ttl: 60_000 } }), s);
      expect(r.body.error?.code).toBe(-32602);
    }
    const tl = await post(A, A.conn, rpc("tasks/list", {}), s);
    expect(tl.text).not.toMatch(/get-env|gzip/);
  });

  it("batches, calls before `initialized`, without a session, and JSON-RPC id tricks", async () => {
    await setPolicy({ deny: ["get-env", "gzip-file-as-resource"], tools: { echo: { name: "say" } } });
    const s = await open(A);
    const b = await post(A, A.conn, [callTool("get-env"), callTool("say", { message: "x" }), callTool("get-env")], s);
    expect(b.body.filter((m: any) => m.error?.code === -32602)).toHaveLength(2);
    expect(b.text).not.toMatch(/PATH/);
    const init = initMsg();
    expect((await post(A, A.conn, [init, callTool("get-env")])).text).not.toMatch(/PATH/);
    expect((await post(A, A.conn, callTool("get-env"))).status).toBe(400);
    const fresh = await post(A, A.conn, init); // no notifications/initialized
    expect((await post(A, A.conn, callTool("get-env"), String(fresh.session))).body.error.code).toBe(-32602);
    const made: string[] = [];
    const ids = Object.entries({ missing: 0, null: null, obj: {}, arr: [1], bool: true, float: 1.5, empty: "" });
    ids.push(["neg", -1], ["big", 1e300], ["bigstr", "9".repeat(400)]);
    for (const [label, id] of ids) {
      const name = `idtrick-${label}.gz`;
      made.push(name);
      const msg: any = { ...gz(name) };
      if (label === "missing") delete msg.id;
      else msg.id = id;
      expect((await post(A, A.conn, msg, s)).status).toBeLessThan(500);
    }
    const weird = [
      { jsonrpc: "2.0", id: 90, method: "tools/call", result: {}, params: gz("v-result.gz").params },
      { jsonrpc: "1.0", id: 91, method: "tools/call", params: gz("v-jsonrpc1.gz").params },
      { id: 92, method: "tools/call", params: gz("v-nojsonrpc.gz").params },
    ];
    for (const w of weird) expect((await post(A, A.conn, w, s)).status).toBeLessThan(500);
    await sleep(1000);
    for (const name of [...made, "v-result.gz", "v-jsonrpc1.gz", "v-nojsonrpc.gz"])
      expect(await hasResource(s, name), name).toBe(false);
  });

  it("policy flips race with calls in flight: once the PUT answers, get-env is uncallable everywhere", async () => {
    const deny = { deny: ["get-env"] };
    await setPolicy(deny);
    const s = await open(A);
    let stop = false;
    const bg = [0, 1, 2].map(async () => {
      while (!stop) await post(A, A.conn, callTool("get-env"), s);
    });
    for (let k = 0; k < 10; k++) {
      await setPolicy({});
      await setPolicy(deny);
      const after = await Promise.all([
        post(A, A.conn, callTool("get-env"), s),
        open(A).then((ns) => post(A, A.conn, callTool("get-env"), ns)),
      ]);
      for (const r of after) expect(r.text).not.toMatch(/PATH/);
      const l = await post(A, A.conn, rpc("tools/list"), s);
      expect(l.body.result.tools.map((t: any) => t.name)).not.toContain("get-env");
    }
    stop = true;
    await Promise.all(bg);
  });

  it("restarting the connection opens no window: calls and lists during and after restart stay filtered", async () => {
    await setPolicy({ deny: ["get-env"] });
    const s = await open(A);
    const restart = A.call("POST", `/api/mcp-connections/${A.conn}/restart`);
    const t0 = Date.now();
    while (Date.now() - t0 < 12_000) {
      const ns = await open(A).catch(() => undefined);
      const rs = await Promise.all([
        post(A, A.conn, callTool("get-env"), s),
        ns ? post(A, A.conn, callTool("get-env"), ns) : undefined,
        ns ? post(A, A.conn, rpc("tools/list"), ns) : undefined,
      ]);
      for (const r of rs) if (r) expect(r.text).not.toMatch(/PATH|"get-env"/);
    }
    expect((await restart).status).toBeLessThan(300);
    await until("running again", async () => {
      const c = await A.call("GET", `/api/mcp-connections/${A.conn}`);
      return c.body.data.status === "running" ? true : undefined;
    });
  });

  it("FINDING F7: a tool name whose toString is not a function is answered, not left hanging forever", async () => {
    await setPolicy(BASE_POLICY);
    const s = await open(A);
    // Observed: no answer ever (until the client leaves); the log shows "unhandledRejection: TypeError:
    // Cannot convert object to primitive value". 64 of them fill the connection: 429 for every client.
    const ctrl = new AbortController();
    const r = await withTimeout(post(A, A.conn, callTool({ toString: "get-env" }), s, ctrl.signal), 5000);
    ctrl.abort();
    expect(r).not.toBe("timeout");
    if (r !== "timeout") expect(r.text).not.toMatch(/PATH/);
  });
});

describe("approvals", () => {
  it("one approval runs one call; approve/reject after a decision, cancel, session end or expiry is refused", async () => {
    await setPolicy({ ...BASE_POLICY, approval_timeout_seconds: 5 });
    await rejectAllPending();
    const s = await open(A);
    const t0 = new Date(Date.now() - 1000).toISOString();
    const sums = async () =>
      (await A.call("GET", `/api/mcp-connections/${A.conn}/events`)).body.data.filter(
        (e: any) => e.type === "tool_call" && e.data.tool === "get-sum" && e.created_at >= t0,
      ).length;
    // approve, then approve again / reject
    let p = post(A, A.conn, callTool("get-sum", { a: 1, b: 2 }), s);
    let ap = await firstPending();
    expect((await decide(ap.id, "approve")).status).toBe(200);
    expect((await decide(ap.id, "approve")).status).toBe(409);
    expect((await decide(ap.id, "reject")).status).toBe(409);
    expect((await p).text).toContain("The sum of 1 and 2 is 3");
    // B cannot decide A's approvals, and sees none of them
    p = post(A, A.conn, callTool("get-sum", { a: 2, b: 2 }), s);
    ap = await firstPending();
    expect((await decide(ap.id, "approve", B)).status).toBe(404);
    expect((await B.call("GET", `/api/tool-approvals?connection_id=${A.conn}`)).body.data).toEqual([]);
    expect((await decide(ap.id, "reject")).status).toBe(200);
    expect((await decide(ap.id, "approve")).status).toBe(409);
    expect((await p).body.result.isError).toBe(true);
    // notifications/cancelled while waiting
    const c = callTool("get-sum", { a: 3, b: 3 });
    const leave = new AbortController(); // a cancelled request gets no answer: leave it at the end
    void post(A, A.conn, c, s, leave.signal).catch(() => undefined);
    ap = await firstPending();
    await post(A, A.conn, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: c.id } }, s);
    await until("cancelled", async () => ((await pendingOf(A)).length === 0 ? true : undefined), 5000);
    expect((await decide(ap.id, "approve")).status).toBe(409);
    // DELETE the session while waiting
    const s2 = await open(A);
    p = post(A, A.conn, callTool("get-sum", { a: 4, b: 4 }), s2);
    ap = await firstPending();
    await fetch(`${berth.url}/api/mcp/${A.conn}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${A.key}`, "mcp-session-id": s2 },
    });
    await sleep(300);
    expect((await decide(ap.id, "approve")).status).toBe(409);
    expect(
      await withTimeout(
        p.catch(() => undefined).then((r) => r?.text ?? ""),
        3000,
      ),
    ).not.toMatch(/The sum of/);
    // expiry (5 s), then approve
    p = post(A, A.conn, callTool("get-sum", { a: 5, b: 5 }), s);
    ap = await firstPending();
    expect((await p).text).toMatch(/not approved within/);
    expect((await decide(ap.id, "approve")).status).toBe(409);
    await sleep(500);
    expect(await sums()).toBe(1);
    leave.abort();
  });

  it("a gated tool called by its old name, as a task, or in a batch, still waits; an mcp key cannot decide", async () => {
    await setPolicy({ tools: { "get-sum": { name: "add", approval: true } }, approval_timeout_seconds: 30 });
    await rejectAllPending();
    const s = await open(A, A.conn, "hostile", "2025-11-25");
    expect((await post(A, A.conn, callTool("get-sum", { a: 1, b: 2 }), s)).body.error.code).toBe(-32602);
    expect((await post(A, A.conn, callTool(["add"], { a: 1, b: 2 }), s)).body.error.code).toBe(-32602); // names are strings
    const batch = post(
      A,
      A.conn,
      [
        callTool("add", { a: 1, b: 1 }),
        callTool("add", { a: 2, b: 2 }),
        callTool("add", { a: 1, b: 1 }, { task: { ttl: 60_000 } }),
      ],
      s,
    );
    await until("three pending", async () => ((await pendingOf(A)).length === 3 ? true : undefined), 10_000);
    expect(await withTimeout(batch, 500)).toBe("timeout");
    const agent = (await A.call("POST", "/api/api-keys", { name: "agent", scope: "mcp" })).body.data.key as string;
    const pd = await pendingOf(A);
    expect((await api(berth.url, agent)("POST", `/api/tool-approvals/${pd[0].id}/approve`)).status).toBe(403);
    expect((await api(berth.url, agent)("GET", "/api/tool-approvals")).status).toBe(403);
    await rejectAllPending();
    const r = await batch;
    expect(r.text).not.toMatch(/The sum of/);
  });

  it("two waiting calls with the same JSON-RPC id: approving the benign one runs the benign arguments", async () => {
    await setPolicy(BASE_POLICY);
    await rejectAllPending();
    const s = await open(A);
    const mk = (a: number, b: number) => ({ ...callTool("get-sum", { a, b }), id: 777 });
    const ctrl = new AbortController();
    const p1 = post(A, A.conn, mk(1, 2), s, ctrl.signal).catch(() => undefined);
    await firstPending();
    const p2 = post(A, A.conn, mk(100, 200), s, ctrl.signal).catch(() => undefined);
    const pd = await until("two pending", async () => {
      const x = await pendingOf(A);
      return x.length === 2 ? x : undefined;
    });
    const benign = pd.find((x) => x.arguments.includes('"a":1,'));
    if (!benign) throw new Error("no benign approval");
    expect((await decide(benign.id, "approve")).status).toBe(200);
    const answers = await Promise.all([withTimeout(p1, 3000), withTimeout(p2, 3000)]);
    const texts = answers.map((x) => (typeof x === "object" && x ? x.text : "")).join(" ");
    expect(texts).not.toContain("300");
    ctrl.abort();
    await rejectAllPending();
  });

  it("odd bytes in arguments (NUL, lone surrogates, 500 levels) are put to the admin and answered; 4 MiB is refused", async () => {
    await setPolicy(BASE_POLICY);
    await rejectAllPending();
    const cases: unknown[] = [
      { a: 1, b: 2, x: "\u0000" },
      { a: 1, b: 2, "k\u0000": 1 },
      { a: 1, b: 2, x: "\ud800" },
      { a: 1, b: 2, x: `${"a".repeat(8170)}${"😀".repeat(50)}` },
      "not an object",
      [1, 2, 3],
      JSON.parse(`${'{"a":'.repeat(500)}1${"}".repeat(500)}`),
    ];
    const s = await open(A);
    for (const args of cases) {
      const p = post(A, A.conn, callTool("get-sum", args), s);
      const ap = await firstPending();
      expect((await A.call("GET", "/api/tool-approvals?status=pending")).status).toBe(200);
      expect((await decide(ap.id, "reject")).status).toBe(200);
      expect((await p).text).toMatch(/rejected by an admin/);
    }
    // Arguments too long to be shown whole are refused at once, never held for a decision.
    const long = await post(A, A.conn, callTool("get-sum", { a: 1, b: 2, x: "y".repeat(3_900_000) }), s);
    expect(long.text).toMatch(/longer than the 32768 characters an approver is shown/);
    expect(await pendingOf(A)).toEqual([]);
    expect((await fetch(`${berth.url}/api/health`)).status).toBe(200);
  });

  it("FINDING F5: a client name with a NUL byte gets its call put to an admin, no database error quoted", async () => {
    await setPolicy(BASE_POLICY);
    await rejectAllPending();
    const s = await open(A, A.conn, "evil\u0000name");
    const p = post(A, A.conn, callTool("get-sum", { a: 1, b: 2 }), s);
    const first = await withTimeout(p, 2000);
    await rejectAllPending();
    const r = first === "timeout" ? await p : first;
    // Observed: "This call of get-sum could not be put to an admin (invalid byte sequence for encoding "UTF8": 0x00)."
    expect(r.text).not.toMatch(/invalid byte sequence|UTF8|0x00/);
    expect(r.text).not.toMatch(/The sum of/);
  });

  it("FINDING F2: a call waiting for approval does not run once the admin has denied its tool", async () => {
    await setPolicy(BASE_POLICY);
    await rejectAllPending();
    const s = await open(A);
    const name = `denied-${Date.now()}.gz`;
    const p = post(A, A.conn, gz(name), s);
    const ap = await firstPending();
    await setPolicy({ ...BASE_POLICY, deny: ["get-env", "gzip-file-as-resource"] });
    await sleep(300);
    await decide(ap.id, "approve"); // e.g. an admin working from a list loaded before the change
    const r = await withTimeout(p, 5000);
    await sleep(500);
    // Observed: approve 200, the server answers the resource link, the now-hidden tool ran.
    expect(await hasResource(s, name)).toBe(false);
    expect(r === "timeout" ? "" : r.text).not.toContain("resource_link");
  });

  it("FINDING F3: the approver sees every argument the server will get (none hidden past 8 KiB)", async () => {
    await setPolicy(BASE_POLICY);
    await rejectAllPending();
    const s = await open(A);
    // the decisive argument comes after 8 KiB of padding: JSON keeps the client's key order
    const p = post(
      A,
      A.conn,
      callTool("gzip-file-as-resource", { name: "x".repeat(8300), data: "data:text/plain;base64,ZXZpbA==" }),
      s,
    );
    const ap = await firstPending();
    await decide(ap.id, "reject");
    await p;
    // Observed: `arguments` is the JSON cut at 8,192 characters, no `data` in it and no flag saying so.
    expect(ap.arguments.includes("data:text/plain;base64,ZXZpbA=="), `approver sees ${ap.arguments.length} chars`).toBe(
      true,
    );
  });
});

describe("other tenants", () => {
  it("A cannot reach B's connection, policy, events, sessions or approvals; answers match a random id", async () => {
    await setPolicy(BASE_POLICY);
    await rejectAllPending();
    const sB = await open(B);
    const sA = await open(A);
    const random = "0b5c7e36-1f6e-4d0e-9d7f-8a2a3b4c5d6e";
    const pB = post(B, B.conn, callTool("echo", { message: "b" }), sB);
    expect((await pB).text).toContain("Echo: b");
    await B.call("PUT", `/api/mcp-connections/${B.conn}/tool-policy`, { tools: { "get-sum": { approval: true } } });
    const waitingB = post(B, B.conn, callTool("get-sum", { a: 1, b: 1 }), sB);
    const apB = await firstPending(B);
    const probes: [string, string, unknown?][] = [
      ["GET", "/tool-policy"],
      ["PUT", "/tool-policy", { deny: ["echo"] }],
      ["GET", "/events"],
      ["GET", ""],
      ["GET", "/tools"],
      ["POST", "/tools/call", { name: "get-env", arguments: {} }],
      ["POST", "/restart"],
    ];
    for (const [m, p, body] of probes) {
      const onB = await A.call(m, `/api/mcp-connections/${B.conn}${p}`, body);
      const onRandom = await A.call(m, `/api/mcp-connections/${random}${p}`, body);
      expect(onB.status, `${m} ${p}`).toBe(404);
      expect(onB.text).toBe(onRandom.text);
    }
    expect((await A.call("GET", `/api/tool-approvals?connection_id=${B.conn}`)).body.data).toEqual([]);
    expect((await A.call("GET", "/api/tool-approvals")).text).not.toContain(apB.id);
    for (const how of ["approve", "reject"] as const) expect((await decide(apB.id, how)).status).toBe(404);
    // sessions: B's on A's endpoint, A's on B's, A's key on B's endpoint
    expect((await post(A, A.conn, callTool("say", { message: "x" }), sB)).status).toBe(404);
    expect((await post(A, B.conn, callTool("echo", { message: "x" }), sA)).status).toBe(404);
    expect((await post(A, B.conn, callTool("echo", { message: "x" }), sB)).status).toBe(404);
    expect((await post(B, A.conn, callTool("say", { message: "x" }), sA)).status).toBe(404);
    // B's call still waits, undecided
    expect(await withTimeout(waitingB, 300)).toBe("timeout");
    expect((await decide(apB.id, "reject", B)).status).toBe(200);
    expect((await waitingB).text).toMatch(/rejected/);
    await B.call("PUT", `/api/mcp-connections/${B.conn}/tool-policy`, {});
  });

  it("64 concurrent batches of 100 tools/list from A: batches above 100 refused, B keeps answering", async () => {
    await setPolicy(BASE_POLICY);
    const ss = await Promise.all([...Array(8)].map(() => open(A)));
    const sB = await open(B);
    const big = [...Array(101)].map((_, i) => ({ jsonrpc: "2.0", id: i, method: "tools/list" }));
    expect((await post(A, A.conn, big, ss[0])).status).toBe(400);
    let worst = 0;
    let stop = false;
    const probe = (async () => {
      while (!stop) {
        const t = Date.now();
        expect((await post(B, B.conn, rpc("tools/list"), sB)).status).toBe(200);
        worst = Math.max(worst, Date.now() - t);
        await sleep(50);
      }
    })();
    await Promise.all(
      [...Array(64)].map((_, i) =>
        post(
          A,
          A.conn,
          [...Array(100)].map((_, j) => ({ jsonrpc: "2.0", id: `${i}-${j}`, method: "tools/list" })),
          ss[i % 8],
        ),
      ),
    );
    stop = true;
    await probe;
    expect(worst).toBeLessThan(2000);
  });

  it("FINDING F4: a flood of calls waiting for approval (64 batches x 100) does not stall other tenants", async () => {
    await setPolicy(BASE_POLICY);
    await rejectAllPending();
    const s = await open(A);
    const sB = await open(B);
    const inflight: Record<string, number> = {};
    const worst: Record<string, number> = { mcp: 0, rest: 0 };
    let stop = false;
    const probe = (k: string, f: () => Promise<unknown>) =>
      (async () => {
        while (!stop) {
          inflight[k] = Date.now();
          await f().catch(() => undefined);
          worst[k] = Math.max(worst[k] ?? 0, Date.now() - (inflight[k] ?? 0));
          inflight[k] = 0;
          await sleep(100);
        }
      })();
    const probes = [
      probe("mcp", () => post(B, B.conn, rpc("tools/list"), sB)),
      probe("rest", () => B.call("GET", "/api/mcp-connections")),
    ];
    const ctrl = new AbortController();
    const flood = [...Array(64)].map((_, i) =>
      post(
        A,
        A.conn,
        [...Array(100)].map((_, j) => ({
          jsonrpc: "2.0",
          id: `${i}-${j}`,
          method: "tools/call",
          params: { name: "get-sum", arguments: { a: i, b: j } },
        })),
        s,
        ctrl.signal,
      ).catch(() => undefined),
    );
    await sleep(10_000);
    const seen = { ...worst };
    for (const k of Object.keys(inflight))
      if (inflight[k]) seen[k] = Math.max(seen[k] ?? 0, Date.now() - (inflight[k] ?? 0));
    ctrl.abort();
    stop = true;
    await Promise.race([Promise.all([...probes, ...flood]), sleep(20_000)]);
    // Observed (embedded PGlite): B's tools/list and REST calls wait 4-15 s while A's 6,400 approvals
    // are written (a batch counts once against BERTH_MCP_MAX_CONCURRENCY); B's GET /api/tool-approvals
    // took 68 s in one run.
    expect(seen.mcp).toBeLessThan(2000);
    expect(seen.rest).toBeLessThan(2000);
  }, 60_000);
});
