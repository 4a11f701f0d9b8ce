// Hostile tenant, round 3: a third reviewer, briefed only as a hostile tenant, attacked the
// version hardened after two earlier reviews, black box; its attacks kept as tests, each asserting
// that the attack FAILS. The last three succeeded against that version and were fixed after it:
// sessions of a deleted connection lived on, and one tenant's request flood stalled every other
// tenant's REST and MCP traffic (now paced per caller and per account).
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type BerthServer, startBerth } from "../support/berth-server";
import { probe } from "../support/latency";
import { tempDir } from "../support/temp-dirs";

// A stdio MCP server (node) whose one tool, `eval`, runs the caller's JS inside the sandbox, with
// `send(obj)` writing raw JSON-RPC lines to stdout; BOOT (a credential) runs at start.
const EVIL = String.raw`const rl=require('readline').createInterface({input:process.stdin});
const send=(o)=>process.stdout.write(JSON.stringify(o)+"\n");const state={seen:[]};
if(process.env.BOOT) eval(process.env.BOOT);
rl.on('line',async(l)=>{let m;try{m=JSON.parse(l)}catch{return}
 state.seen.push(m);if(state.seen.length>200)state.seen.shift();
 if(m.id!==undefined&&!m.method)return;
 if(m.method==='initialize')return send({jsonrpc:'2.0',id:m.id,result:{protocolVersion:m.params.protocolVersion,capabilities:{tools:{listChanged:true},logging:{},resources:{subscribe:true}},serverInfo:{name:'evil',version:'1'}}});
 if(m.method==='tools/list')return send({jsonrpc:'2.0',id:m.id,result:{tools:[{name:'eval',description:'e',inputSchema:{type:'object',properties:{code:{type:'string'}}}}]}});
 if(m.method==='tools/call'){try{const f=new (Object.getPrototypeOf(async function(){}).constructor)('m','send','state','require',String(m.params.arguments&&m.params.arguments.code||'return 1'));const r=await f(m,send,state,require);if(r===undefined)return;return send({jsonrpc:'2.0',id:m.id,result:{content:[{type:'text',text:String(r)}]}})}catch(e){return send({jsonrpc:'2.0',id:m.id,result:{isError:true,content:[{type:'text',text:String(e)}]}})}}
 if(m.id!==undefined)send({jsonrpc:'2.0',id:m.id,result:{}});
});`;

const MARK = `rt3-${crypto.randomBytes(4).toString("hex")}`;
const H = { accept: "application/json, text/event-stream" };
type Acct = { account_id: string; api_key: string };
let berth: BerthServer;
let tmp: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const newAccount = (name: string) => berth.cli(["accounts", "create", "--name", name]) as Promise<Acct>;
/** Live sandboxed servers of this suite (their argv carries MARK). */
function sandboxes(): number {
  let n = 0;
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const c = fs.readFileSync(`/proc/${e}/cmdline`, "utf8");
      if (c.startsWith("node\0-e\0") && c.includes(MARK)) n++;
    } catch {}
  }
  return n;
}
const rssMiB = () =>
  Number(fs.readFileSync(`/proc/${berth.proc.pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)?.[1]) / 1024;

async function install(a: Acct, extra: Record<string, unknown> = {}) {
  return api(berth.url, a.api_key)("POST", "/api/mcp-connections/install", {
    account_id: a.account_id,
    server_id: "evil3",
    credentials: { BOOT: "" },
    ...extra,
  });
}
async function running(a: Acct, id: string) {
  const call = api(berth.url, a.api_key);
  for (let i = 0; i < 100; i++) {
    const r = await call("GET", `/api/mcp-connections/${id}`);
    if (r.body?.data?.status === "running") return;
    await sleep(200);
  }
  throw new Error("not running");
}
async function connection(a: Acct) {
  const r = await install(a);
  expect(r.status).toBe(201);
  await running(a, r.body.data.id);
  return r.body.data.id as string;
}
function mcp(a: Acct, id: string, body: unknown, session?: string) {
  const h: Record<string, string> = { ...H };
  if (session) Object.assign(h, { "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" });
  return api(berth.url, a.api_key)("POST", `/api/mcp/${id}`, body, h);
}
async function session(a: Acct, id: string) {
  const r = await mcp(a, id, {
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: {
      protocolVersion: "2025-06-18",
      capabilities: { sampling: {}, roots: {} },
      clientInfo: { name: "t", version: "1" },
    },
  });
  const s = r.headers.get("mcp-session-id");
  if (s) await mcp(a, id, { jsonrpc: "2.0", method: "notifications/initialized" }, s);
  return { status: r.status, s: s as string };
}
const evalCall = (a: Acct, id: string, s: string, code: string, rid = 2) =>
  mcp(a, id, { jsonrpc: "2.0", id: rid, method: "tools/call", params: { name: "eval", arguments: { code } } }, s);
/** Opens a GET stream on a session (makes it busy); returns its abort controller. */
async function openStream(a: Acct, id: string, s: string) {
  const ac = new AbortController();
  const r = await fetch(`${berth.url}/api/mcp/${id}`, {
    headers: {
      authorization: `Bearer ${a.api_key}`,
      accept: "text/event-stream",
      "mcp-session-id": s,
      "mcp-protocol-version": "2025-06-18",
    },
    signal: ac.signal,
  });
  expect(r.status).toBe(200);
  const closed = (async () => {
    try {
      for await (const _ of r.body as any) {
      }
    } catch {}
    return true;
  })();
  return { ac, closed };
}
async function deleteAll(a: Acct) {
  const call = api(berth.url, a.api_key);
  const l = await call("GET", `/api/mcp-connections?account_id=${a.account_id}`);
  for (const c of l.body?.data ?? []) await call("DELETE", `/api/mcp-connections/${c.id}`);
}
/** Latency (ms) of one victim request repeated for `ms`: [median, max]. */
/**
 * Runs an attacker's request loops (`body`, an async function body that sees `input` and
 * `stopped`) in a process of its own, niced: on this shared 2-core host its client-side work
 * (building 4 MiB bodies, say) is not what is measured, and would slow the probe's own loop.
 */
function attacker(body: string, input: object) {
  const script = `const input = JSON.parse(process.env.ATTACK); let stopped = false;
    process.stdin.on("data", () => { stopped = true; });
    (async () => { ${body} })().then(() => process.exit(0));`;
  const child = spawn("nice", ["-n", "19", process.execPath, "-e", script], {
    env: { ...process.env, ATTACK: JSON.stringify(input) },
    stdio: ["pipe", "ignore", "inherit"],
  });
  return {
    async stop() {
      const exited = new Promise((r) => child.once("exit", r));
      child.stdin?.write("stop");
      await exited;
    },
  };
}

beforeAll(async () => {
  tmp = tempDir("rt3-test-");
  berth = await startBerth({
    BERTH_MAINTENANCE_INTERVAL_MS: "1000",
    BERTH_ACCOUNT_MAX_SANDBOXES: "2",
    BERTH_ACCOUNT_MAX_RUNS: "1",
    BERTH_MCP_MAX_SESSIONS_PER_ACCOUNT: "4",
    BERTH_MCP_MAX_SESSIONS_PER_CONNECTION: "3",
    BERTH_RESTART_LIMIT: "2",
    BERTH_RESTART_BACKOFF_MS: "200",
  });
  const def = {
    slug: "evil3",
    title: "Evil",
    start_command: `node -e "eval(process.env.CODE)" ${MARK}`,
    env: { CODE: EVIL },
    credential_schema: { type: "object", properties: { BOOT: { type: "string" } } },
  };
  fs.writeFileSync(path.join(tmp, "evil3.json"), JSON.stringify(def));
  await berth.cli(["servers", "add", "--file", path.join(tmp, "evil3.json")]);
});

afterAll(async () => {
  await berth?.stop();
  if (berth) fs.rmSync(berth.dataDir, { recursive: true, force: true });
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("hostile tenant, round 3", () => {
  // 20 concurrent installs cannot beat the per-account sandbox cap (2).
  it("concurrent installs stay within the sandbox cap", async () => {
    const a = await newAccount("cap");
    const rs = await Promise.all(Array.from({ length: 20 }, () => install(a)));
    expect(rs.filter((r) => r.status === 201)).toHaveLength(2);
    expect(rs.filter((r) => r.status === 429)).toHaveLength(18);
    await sleep(2000);
    expect(sandboxes()).toBeLessThanOrEqual(2);
    await deleteAll(a);
  }, 30_000);

  // A crash followed at once by MCP resumes, restarts and credential PUTs racing each other leaves one sandbox.
  it("crash + resume/restart/PUT races leave exactly one sandbox", async () => {
    const a = await newAccount("race");
    const id = await connection(a);
    for (let round = 0; round < 3; round++) {
      const { s } = await session(a, id);
      evalCall(a, id, s, "setTimeout(()=>process.exit(1),50);return 'bye'").catch(() => {});
      await sleep(60 + round * 80);
      const call = api(berth.url, a.api_key);
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 6; i++) {
        ops.push(session(a, id));
        ops.push(call("POST", `/api/mcp-connections/${id}/restart`));
        ops.push(call("PUT", `/api/mcp-connections/${id}/credentials`, { credentials: { BOOT: "" } }));
      }
      await Promise.all(ops);
      await sleep(3000);
      expect(sandboxes()).toBe(1);
    }
    await deleteAll(a);
  }, 30_000);

  // A failed (crash-looped) keep-alive connection is not revived by MCP traffic past the cap.
  it("MCP traffic does not revive a failed connection beyond the cap", async () => {
    const a = await newAccount("revive");
    const call = api(berth.url, a.api_key);
    const x = await connection(a);
    const until = Date.now() + 6000;
    await call("PUT", `/api/mcp-connections/${x}/credentials`, {
      credentials: { BOOT: `if(Date.now()<${until})process.exit(1)` },
    });
    for (let i = 0; i < 40; i++) {
      if ((await call("GET", `/api/mcp-connections/${x}`)).body.data.status === "failed") break;
      await sleep(250);
    }
    await connection(a);
    await connection(a);
    while (Date.now() < until + 300) await sleep(200);
    const rs = await Promise.all(Array.from({ length: 8 }, () => session(a, x)));
    expect(rs.every((r) => r.status === 409 || r.status === 429)).toBe(true);
    expect(sandboxes()).toBe(2);
    await deleteAll(a);
  }, 30_000);

  // A client that hangs up on a sandbox-run does not free its run slot while the sandbox still runs.
  it("aborting a sandbox-run does not free its slot early", async () => {
    const a = await newAccount("runs");
    const body = JSON.stringify({ account_id: a.account_id, command: ["sleep", "20"], timeout: 30 });
    const ac = new AbortController();
    const first = fetch(`${berth.url}/api/sandbox-runs`, {
      method: "POST",
      headers: { authorization: `Bearer ${a.api_key}`, "content-type": "application/json" },
      body,
      signal: ac.signal,
    }).catch(() => "aborted");
    await sleep(1000);
    ac.abort();
    await first;
    await sleep(300);
    const second = await api(berth.url, a.api_key)("POST", "/api/sandbox-runs", {
      account_id: a.account_id,
      command: ["true"],
    });
    expect(second.status).toBe(429);
  }, 30_000);

  // Ending one session ten times at once frees one slot, not ten (the per-account session cap holds).
  it("repeated session DELETEs do not inflate the session budget", async () => {
    const a = await newAccount("sess");
    const c1 = await connection(a);
    const c2 = await connection(a);
    const streams: AbortController[] = [];
    const sids: string[] = [];
    for (const c of [c1, c1, c1, c2]) {
      const { s } = await session(a, c);
      sids.push(s);
      streams.push((await openStream(a, c, s)).ac);
    }
    expect((await session(a, c2)).status).toBe(429);
    const call = api(berth.url, a.api_key);
    await Promise.all(
      Array.from({ length: 10 }, () =>
        call("DELETE", `/api/mcp/${c1}`, undefined, {
          "mcp-session-id": sids[0] as string,
          "mcp-protocol-version": "2025-06-18",
        }),
      ),
    );
    const after: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { status, s } = await session(a, c2);
      after.push(status);
      if (s) streams.push((await openStream(a, c2, s)).ac);
    }
    expect(after).toEqual([200, 429, 429]);
    for (const s of streams) s.abort();
    await deleteAll(a);
  }, 30_000);

  // Another account's session ids, on its own or on one's own connection, answer 404 (POST and GET/replay).
  it("session ids do not cross accounts", async () => {
    const a = await newAccount("xa");
    const b = await newAccount("xb");
    const ca = await connection(a);
    const cb = await connection(b);
    const sb = (await session(b, cb)).s;
    for (const [who, conn] of [
      [a, ca],
      [a, cb],
    ] as const) {
      expect((await mcp(who, conn, { jsonrpc: "2.0", id: 3, method: "tools/list" }, sb)).status).toBe(404);
      const g = await fetch(`${berth.url}/api/mcp/${conn}`, {
        headers: {
          authorization: `Bearer ${who.api_key}`,
          accept: "text/event-stream",
          "mcp-session-id": sb,
          "last-event-id": `${sb}_0`,
          "mcp-protocol-version": "2025-06-18",
        },
        signal: AbortSignal.timeout(3000),
      });
      expect(g.status).toBe(404);
    }
    await deleteAll(a);
    await deleteAll(b);
  }, 30_000);

  // A server flooding 60 KB notifications and server->client requests nobody answers does not grow Berth's memory.
  it("server-side notification / request floods stay bounded in Berth", async () => {
    const a = await newAccount("flood");
    const id = await connection(a);
    const { s } = await session(a, id);
    await session(a, id);
    const before = rssMiB();
    const r = await evalCall(
      a,
      id,
      s,
      "let i=0;const pad='x'.repeat(60000);const w=()=>{while(process.stdout.write(JSON.stringify(i%2?{jsonrpc:'2.0',method:'notifications/message',params:{level:'error',data:pad}}:{jsonrpc:'2.0',id:'q'+(i),method:'roots/list',params:{_meta:{pad}}})+'\\n')){i++};i++;process.stdout.once('drain',w)};w();return 'ok'",
    );
    expect(r.status).toBe(200);
    await sleep(12_000);
    expect(rssMiB() - before).toBeLessThan(150);
    await deleteAll(a);
  }, 30_000);

  // A 3 MiB tool name is not stored as such in the connection's events.
  it("tool_call events do not store huge tool names", async () => {
    const a = await newAccount("ev");
    const id = await connection(a);
    const { s } = await session(a, id);
    const r = await mcp(
      a,
      id,
      { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "N".repeat(3 << 20), arguments: {} } },
      s,
    );
    expect(r.status).toBe(200);
    const ev = await api(berth.url, a.api_key)("GET", `/api/mcp-connections/${id}/events`);
    expect(ev.text.length).toBeLessThan(64 * 1024);
    await deleteAll(a);
  }, 30_000);

  // Succeeded in round 3, fixed since: after DELETE of a connection its sessions live on (GET streams open, POST 200) and keep their cap slots.
  it("deleting a connection ends its MCP sessions", async () => {
    const a = await newAccount("zombie");
    const c1 = await connection(a);
    const { s } = await session(a, c1);
    const st = await openStream(a, c1, s);
    await api(berth.url, a.api_key)("DELETE", `/api/mcp-connections/${c1}`);
    const closed = await Promise.race([st.closed, sleep(5000).then(() => false)]);
    const after = await mcp(a, c1, { jsonrpc: "2.0", id: 5, method: "tools/list" }, s);
    st.ac.abort();
    expect(closed).toBe(true);
    expect(after.status).toBe(404);
  }, 30_000);

  // Succeeded in round 3, fixed since: 400 concurrent cheap REST GETs from one tenant stall another tenant's REST calls for seconds.
  it("one tenant's REST flood does not stall another tenant", async () => {
    const a = await newAccount("restflood");
    const b = await newAccount("restvictim");
    const ca = (await install(a)).body.data.id;
    const cb = (await install(b)).body.data.id;
    const callB = api(berth.url, b.api_key);
    const flood = attacker(
      `await Promise.all(Array.from({ length: 400 }, async () => {
        while (!stopped) await fetch(input.url, { headers: { authorization: "Bearer " + input.key } }).then((r) => r.arrayBuffer(), () => {});
      }));`,
      { url: `${berth.url}/api/mcp-connections/${ca}`, key: a.api_key },
    );
    await sleep(1000);
    const p = await probe(() => callB("GET", `/api/mcp-connections/${cb}`), 6000);
    await flood.stop();
    await deleteAll(a);
    await deleteAll(b);
    console.log(`victim latency under the flood: median ${p.median} ms, max ${p.max} ms`);
    expect(p.median).toBeLessThan(100); // ~1 s before requests were paced per caller
    expect(p.p90).toBeLessThan(1000);
  }, 40_000);

  // Succeeded in round 3, fixed since: 64 concurrent 4 MiB MCP bodies from one tenant stall another tenant's MCP calls for seconds.
  it("one tenant's large MCP bodies do not stall another tenant's MCP traffic", async () => {
    const a = await newAccount("mcpflood");
    const b = await newAccount("mcpvictim");
    const ca = [await connection(a), await connection(a)];
    const sa = [(await session(a, ca[0] as string)).s, (await session(a, ca[1] as string)).s];
    const cb = await connection(b);
    const sb = (await session(b, cb)).s;
    const flood = attacker(
      `const pad = "x".repeat(4 * 1024 * 1024 - 300);
      let rid = 100;
      await Promise.all(Array.from({ length: 64 }, async (_, k) => {
        while (!stopped) {
          const body = JSON.stringify({ jsonrpc: "2.0", id: ++rid, method: "ping", params: { pad } });
          await fetch(input.urls[k % 2], {
            method: "POST",
            headers: { authorization: "Bearer " + input.key, "content-type": "application/json", accept: "application/json, text/event-stream",
              "mcp-session-id": input.sessions[k % 2], "mcp-protocol-version": "2025-06-18" },
            body,
          }).then((r) => r.arrayBuffer(), () => {});
        }
      }));`,
      { urls: ca.map((c) => `${berth.url}/api/mcp/${c}`), sessions: sa, key: a.api_key },
    );
    await sleep(1000);
    const p = await probe(() => mcp(b, cb, { jsonrpc: "2.0", id: 7, method: "tools/list" }, sb), 6000);
    await flood.stop();
    await deleteAll(a);
    await deleteAll(b);
    console.log(`victim latency under the flood: median ${p.median} ms, max ${p.max} ms`);
    expect(p.median).toBeLessThan(40); // ~65 ms before bodies were paced per account
    expect(p.p90).toBeLessThan(1000);
  }, 40_000);
});
