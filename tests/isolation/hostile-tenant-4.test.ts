// Hostile tenant, round 4: a fourth reviewer, briefed as two attackers and black box, attacked the
// version that added Origin/CORS checks and servers that serve Streamable HTTP themselves
// (`"transport": "streamable-http"`). Each attack is kept as a test asserting that it FAILS.
//
//  1. A hostile website, with an admin of Berth signed in to the dashboard in the same browser (or
//     Berth on the admin's machine): pages on other origins of the same site, opaque (`null`)
//     origins, odd headers, paths and methods, DNS rebinding.
//  2. A hostile tenant whose server speaks Streamable HTTP, locally (bubblewrap; the relay is a
//     bridge inside the sandbox) and on E2B (the fake; the relay is the SDK's HTTP client inside
//     Berth's own process).
//
// Tests marked FINDING succeeded against the version reviewed (they fail until it is fixed).
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeE2B } from "../fakes/e2b-server";
import { api, type BerthServer, startBerth } from "../support/berth-server";
import { launchChromium } from "../support/browser";
import { probe } from "../support/latency";
import { tempDir } from "../support/temp-dirs";

/**
 * Open finding F1, kept as its two tests, skipped until fixed: every cap on a server's answers
 * counts bytes (16 MiB a message, 8 MiB/s), none what they parse into, so a 16 MiB answer of
 * tiny JSON objects takes Berth's one event loop for seconds (local and E2B alike; older than
 * the HTTP transport).
 */
console.log(
  "[hostile tenant 4] skipped 2 tests: open finding F1, dense 16 MiB JSON answers stall the event loop (caps count bytes, not objects)",
);

const OWNER = { email: "owner@ht4.test", password: "correct horse battery" };
const MARK = `ht4-${crypto.randomBytes(4).toString("hex")}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Acct = { account_id: string; api_key: string };
type Call = ReturnType<typeof api>;

// ------------------------------------------------------------------------------------------------
// A hostile MCP server that serves Streamable HTTP on $PORT (/mcp): plain node:http, no SDK. Its one
// tool, `eval`, runs the caller's JS as an async function of `ctx` = {req, res, m, json, require,
// state, http, process}: return a value for a normal answer, or answer `ctx.res` yourself. BOOT (a
// credential) runs first; `state.onGet` / `state.onRequest` take over GETs / any request. WHO (a
// credential) is what GET /who answers.
const EVIL_HTTP = String.raw`const http=require('http');const state={hits:[]};
const PORT=Number(process.env.PORT);
const json=(res,o,h)=>{res.writeHead(200,Object.assign({'content-type':'application/json'},h||{}));res.end(JSON.stringify(o));};
if(process.env.BOOT) eval(process.env.BOOT);
const srv=http.createServer((req,res)=>{
  state.hits.push({method:req.method,url:req.url,headers:req.headers});if(state.hits.length>100)state.hits.shift();
  if(req.url==='/who'){res.end('who='+process.env.WHO);return}
  if(state.onRequest&&state.onRequest(req,res))return;
  if(req.method==='GET'){if(state.onGet)return state.onGet(req,res);res.writeHead(405).end();return}
  if(req.method==='DELETE'){res.writeHead(200).end();return}
  let b='';req.on('data',d=>{b+=d});req.on('end',async()=>{
    let m;try{m=JSON.parse(b)}catch(e){res.writeHead(400).end();return}
    if(Array.isArray(m)||m.id===undefined||!m.method){res.writeHead(202).end();return}
    if(m.method==='initialize')return json(res,{jsonrpc:'2.0',id:m.id,result:{protocolVersion:m.params.protocolVersion,capabilities:{tools:{},logging:{}},serverInfo:{name:'evil-http',version:'1'}}},{'mcp-session-id':'evil-session'});
    if(m.method==='tools/list')return json(res,{jsonrpc:'2.0',id:m.id,result:{tools:[{name:'eval',description:'e',inputSchema:{type:'object',properties:{code:{type:'string'}}}}]}});
    if(m.method==='tools/call'){try{
      const f=new (Object.getPrototypeOf(async function(){}).constructor)('ctx',String(m.params.arguments&&m.params.arguments.code||'return 1'));
      const r=await f({req,res,m,json:(o,h)=>json(res,o,h),require,state,http,process});
      if(r===undefined)return;
      return json(res,{jsonrpc:'2.0',id:m.id,result:{content:[{type:'text',text:String(r)}]}});
    }catch(e){return json(res,{jsonrpc:'2.0',id:m.id,result:{isError:true,content:[{type:'text',text:String(e&&e.stack||e)}]}})}}
    return json(res,{jsonrpc:'2.0',id:m.id,result:{}});
  });
});
if(!process.env.NOLISTEN) setTimeout(()=>srv.listen(PORT,'127.0.0.1'),Number(process.env.LISTEN_DELAY||0));`;

/**
 * A stdio MCP server whose every tools/call is answered by one message just under 16 MiB (the
 * line cap) of empty objects, `[{},{},…]`: ~5.6 million objects once parsed.
 */
const DENSE_STDIO = String.raw`const rl=require('readline').createInterface({input:process.stdin});
const send=(o)=>process.stdout.write(JSON.stringify(o)+"\n");
rl.on('line',(l)=>{let m;try{m=JSON.parse(l)}catch(e){return}
 if(m.id===undefined||!m.method)return;
 if(m.method==='initialize')return send({jsonrpc:'2.0',id:m.id,result:{protocolVersion:m.params.protocolVersion,capabilities:{tools:{}},serverInfo:{name:'dense',version:'1'}}});
 if(m.method==='tools/list')return send({jsonrpc:'2.0',id:m.id,result:{tools:[{name:'eval',description:'d',inputSchema:{type:'object'}}]}});
 if(m.method==='tools/call'){const n=Math.floor(((16<<20)-1024)/3);process.stdout.write('{"jsonrpc":"2.0","id":'+JSON.stringify(m.id)+',"result":{"content":[],"x":['+'{},'.repeat(n-1)+'{}]}}\n');return}
 send({jsonrpc:'2.0',id:m.id,result:{}});
});`;

/** Attack payloads (tool code) for the relay. */
const ATTACK = {
  /** The HTTP server's answer of DENSE_STDIO: 16 MiB of `{},`, within every byte cap. */
  denseJson: () =>
    `const n=Math.floor(((16<<20)-1024)/3);ctx.res.writeHead(200,{'content-type':'application/json'});` +
    `ctx.res.end('{"jsonrpc":"2.0","id":'+JSON.stringify(ctx.m.id)+',"result":{"content":[],"x":['+'{},'.repeat(n-1)+'{}]}}')`,
  /** One JSON-RPC answer of `mib` MiB, streamed as fast as the socket takes it. */
  hugeJson: (mib: number) =>
    `const N=${mib};ctx.res.writeHead(200,{'content-type':'application/json'});` +
    `ctx.res.write('{"jsonrpc":"2.0","id":'+JSON.stringify(ctx.m.id)+',"result":{"content":[{"type":"text","text":"');` +
    `const chunk='A'.repeat(1<<20);let i=0;const go=()=>{while(i<N){i++;if(!ctx.res.write(chunk))return ctx.res.once('drain',go)}ctx.res.end('"}]}}')};go();`,
  /** The same answer gzip-encoded (fetch inflates it): ~1 KiB on the wire per MiB in Berth. */
  gzipBomb: (mib: number) =>
    `const z=ctx.require('zlib');ctx.res.writeHead(200,{'content-type':'application/json','content-encoding':'gzip'});` +
    `const g=z.createGzip({level:9});g.pipe(ctx.res);let sent=0;g.on('data',d=>{sent+=d.length});g.on('end',()=>{ctx.state.gzipBytes=sent});` +
    `g.write('{"jsonrpc":"2.0","id":'+JSON.stringify(ctx.m.id)+',"result":{"content":[{"type":"text","text":"');` +
    `const chunk='A'.repeat(1<<20);let i=0;const go=()=>{while(i<${mib}){i++;if(!g.write(chunk))return g.once('drain',go)}g.end('"}]}}')};go();`,
  /**
   * One JSON answer of `mib` MiB made of 1 MiB lines (JSON may break lines between values): no line
   * is long, the message is.
   */
  multilineJson: (mib: number) =>
    `const N=${mib};ctx.res.writeHead(200,{'content-type':'application/json'});` +
    `ctx.res.write('{"jsonrpc":"2.0","id":'+JSON.stringify(ctx.m.id)+',"result":{"content":[\\n');` +
    `const chunk='{"type":"text","text":"'+'A'.repeat((1<<20)-40)+'"},\\n';let i=0;` +
    `const go=()=>{while(i<N){i++;if(!ctx.res.write(chunk))return ctx.res.once('drain',go)}ctx.res.end('{"type":"text","text":"end"}]}}')};go();`,
  /** One SSE event of `mib` MiB as 1 MiB `data:` lines (SSE joins them into one message). */
  multilineSse: (mib: number) =>
    `const N=${mib};ctx.res.writeHead(200,{'content-type':'text/event-stream'});` +
    `ctx.res.write('data: {"jsonrpc":"2.0","id":'+JSON.stringify(ctx.m.id)+',"result":{"content":[\\n');` +
    `const chunk='data: {"type":"text","text":"'+'A'.repeat((1<<20)-40)+'"},\\n';let i=0;` +
    `const go=()=>{while(i<N){i++;if(!ctx.res.write(chunk))return ctx.res.once('drain',go)}ctx.res.end('data: {"type":"text","text":"end"}]}}\\n\\n')};go();`,
  /** A 404 (as E2B's proxy answers for a missing sandbox) whose gzip body inflates to `mib` MiB. */
  gzipBomb404: (mib: number) =>
    `const z=ctx.require('zlib');ctx.res.writeHead(404,{'content-type':'application/json','content-encoding':'gzip'});` +
    `const g=z.createGzip({level:9});g.pipe(ctx.res);g.write('{"sandboxId":"x","message":"');` +
    `const chunk='A'.repeat(1<<20);let i=0;const go=()=>{while(i<${mib}){i++;if(!g.write(chunk))return g.once('drain',go)}g.end('"}')};go();`,
  /** Answers no parser should choke on, each to one tools/call. */
  malformed: [
    // 1M levels of nesting (JSON.parse copes, JSON.stringify does not), as JSON and in an SSE event
    `const d=1000000;ctx.res.writeHead(200,{'content-type':'application/json'});ctx.res.end('{"jsonrpc":"2.0","id":'+ctx.m.id+',"result":{"content":[],"x":'+'['.repeat(d)+']'.repeat(d)+'}}')`,
    `const d=1000000;ctx.res.writeHead(200,{'content-type':'text/event-stream'});ctx.res.end('data: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"error","data":'+'['.repeat(d)+']'.repeat(d)+'}}\\n\\n')`,
    `ctx.res.writeHead(200,{'content-type':'application/json'});ctx.res.end('{"jsonrpc":"2.0","id":'+ctx.m.id+',"result":')`,
    `ctx.res.writeHead(200,{'content-type':'application/json'});ctx.res.end('null')`,
    `ctx.res.writeHead(200,{'content-type':'application/json'});ctx.res.end('[1,"x",{"jsonrpc":"2.0"}]')`,
    `ctx.res.writeHead(200,{'content-type':'text/html'});ctx.res.end('<html>')`,
    `ctx.res.writeHead(200,{'content-type':'text/event-stream'});ctx.res.end(Buffer.concat([Buffer.from('\\ufeffretry: -5\\rretry: 1e309\\r\\ndata: \\xff\\xfe'),Buffer.from([0xff,0xfe,0xc0]),Buffer.from('\\n\\nevent: message\\ndata: {"jsonrpc":"2.0","id":'+ctx.m.id+',"result":{}}\\n\\n')]))`,
    `ctx.res.socket.write('HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\ntransfer-encoding: chunked\\r\\n\\r\\nZZZ\\r\\n{}\\r\\n');setTimeout(()=>ctx.res.socket.destroy(),50)`,
    `ctx.res.socket.write('garbage\\r\\n\\r\\n');ctx.res.socket.destroy()`,
    `ctx.res.writeHead(200,{'content-type':'application/json','content-encoding':'gzip'});ctx.res.end('not gzip at all')`,
    `ctx.res.writeHead(200,{'content-type':'application/json','content-length':'5'});ctx.res.end('{}')`,
  ],
  /** An SSE answer whose one `data:` line is `mib` MiB long and never ends (no newline), held 60 s. */
  endlessSseLine: (mib: number) =>
    `const N=${mib};ctx.res.writeHead(200,{'content-type':'text/event-stream'});ctx.res.write('data: ');` +
    `const chunk='A'.repeat(1<<20);let i=0;const go=()=>{while(i<N){i++;ctx.state.sentMiB=i;if(!ctx.res.write(chunk))return ctx.res.once('drain',go)}setTimeout(()=>ctx.res.end(),60000)};go();`,
  /** An SSE answer that is nothing but log notifications, as fast as the socket takes them, for `ms`. */
  notificationFlood: (ms: number) =>
    `ctx.res.writeHead(200,{'content-type':'text/event-stream'});` +
    `const ev='data: '+JSON.stringify({jsonrpc:'2.0',method:'notifications/message',params:{level:'error',data:'x'.repeat(200)}})+'\\n\\n';` +
    `const chunk=ev.repeat(200);const end=Date.now()+${ms};const go=()=>{while(Date.now()<end){if(!ctx.res.write(chunk))return ctx.res.once('drain',go)}ctx.res.end()};go();`,
};

/** Adds a server definition with the CLI, as an operator would. */
async function addServer(berth: BerthServer, def: object) {
  const dir = tempDir("ht4-def-");
  const file = path.join(dir, "def.json");
  fs.writeFileSync(file, JSON.stringify(def));
  try {
    return await berth.cli(["servers", "add", "--file", file]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function evilHttpDefinition(slug: string, extra: Record<string, unknown> = {}) {
  return {
    slug,
    title: `Evil HTTP ${slug}`,
    start_command: `node -e "eval(process.env.CODE)" ${MARK}`,
    env: { CODE: EVIL_HTTP },
    transport: "streamable-http",
    port: 8000,
    credential_schema: { type: "object", properties: { BOOT: { type: "string" }, WHO: { type: "string" } } },
    ...extra,
  };
}

const newAccount = (berth: BerthServer, name: string) =>
  berth.cli(["accounts", "create", "--name", name]) as Promise<Acct>;

async function installEvil(berth: BerthServer, a: Acct, server: string, creds: { BOOT?: string; WHO?: string } = {}) {
  const r = await api(berth.url, a.api_key)("POST", "/api/mcp-connections/install", {
    account_id: a.account_id,
    server_id: server,
    credentials: { BOOT: creds.BOOT ?? "", WHO: creds.WHO ?? a.account_id },
  });
  return r;
}

async function runningEvil(berth: BerthServer, a: Acct, server: string, creds: { BOOT?: string; WHO?: string } = {}) {
  const r = await installEvil(berth, a, server, creds);
  expect(r.status, r.text).toBe(201);
  expect(r.body.data.status, JSON.stringify(r.body.data)).toBe("running");
  return r.body.data.id as string;
}

/** Runs `code` in the connection's server through the inspector; its text, or the error. */
async function evalOn(berth: BerthServer, a: Acct, id: string, code: string, signal?: AbortSignal) {
  const res = await fetch(`${berth.url}/api/mcp-connections/${id}/tools/call`, {
    method: "POST",
    headers: { authorization: `Bearer ${a.api_key}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "eval", arguments: { code } }),
    signal,
  });
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, text: (body?.data?.content?.[0]?.text as string | undefined) ?? text.slice(0, 2000) };
}

/** Sends an attack's tool call and drains its answer without keeping it (it may be hundreds of MiB). */
async function attackCall(berth: BerthServer, a: Acct, id: string, code: string, ms: number) {
  try {
    const res = await fetch(`${berth.url}/api/mcp-connections/${id}/tools/call`, {
      method: "POST",
      headers: { authorization: `Bearer ${a.api_key}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "eval", arguments: { code } }),
      signal: AbortSignal.timeout(ms),
    });
    let bytes = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
    return { status: res.status, bytes };
  } catch (err) {
    return { status: 0, bytes: 0, error: String(err) };
  }
}

const rssMiB = (pid: number) =>
  Number(fs.readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)?.[1]) / 1024;

/** Samples a process's RSS every 50 ms; `stop()` gives its peak growth over the start (MiB). */
function rssGrowth(pid: number) {
  const base = rssMiB(pid);
  let peak = base;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMiB(pid));
    } catch {}
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      return Math.round(peak - base);
    },
  };
}

/** A victim's tool call on its own HTTP server, through Berth's relay (it must answer "pong"). */
function victimCall(berth: BerthServer, b: Acct, id: string) {
  return async () => {
    const r = await evalOn(berth, b, id, "return 'pong'");
    if (r.text !== "pong") throw new Error(`the victim's call failed: ${r.status} ${r.text.slice(0, 200)}`);
  };
}

/** Host processes whose command line or environment carries `tag`. */
function processesWith(tag: string): number[] {
  const found: number[] = [];
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    for (const f of ["cmdline", "environ"]) {
      try {
        if (fs.readFileSync(`/proc/${e}/${f}`, "latin1").includes(tag)) {
          found.push(Number(e));
          break;
        }
      } catch {}
    }
  }
  return found;
}

/** An HTTP listener on the host that records every request (the SSRF / reachability target). */
async function recorder(host = "0.0.0.0") {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.end("host-secret");
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return { hits, port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

/** Tool code: connects to each host:port from inside the sandbox; one line per target. */
function reachCode(targets: [string, number][]) {
  return `const net=ctx.require('net');const targets=${JSON.stringify(targets)};
   const one=([h,p])=>new Promise(r=>{const s=net.connect({host:h,port:p});const done=(x)=>{s.destroy();r(h+' '+p+' '+x)};
     s.setTimeout(2000,()=>done('timeout'));
     s.on('connect',()=>{s.write('GET /who HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n');let d='';s.on('data',c=>{d+=c});
       s.on('end',()=>done('OPEN '+d.slice(-60).replace(/\\s+/g,' ')));setTimeout(()=>done('OPEN '+d.slice(-60).replace(/\\s+/g,' ')),1500)});
     s.on('error',e=>done(e.code))});
   return (await Promise.all(targets.map(one))).join('\\n');`;
}

/** This host's own addresses (every interface), as a sandbox would have to name them. */
const hostAddresses = () =>
  [
    ...new Set(
      Object.values(os.networkInterfaces())
        .flat()
        .filter((i) => i && !i.address.startsWith("fe80"))
        .map((i) => (i as os.NetworkInterfaceInfo).address),
    ),
  ].filter(Boolean);

/** One raw HTTP/1.1 exchange (exact header bytes: duplicates, case, odd targets). */
function raw(port: number, request: string, body = ""): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let data = "";
    s.setTimeout(10_000, () => s.destroy(new Error("raw request timed out")));
    s.on("connect", () => s.end(`${request}\r\n\r\n${body}`));
    s.on("data", (d) => {
      data += d;
    });
    s.on("error", reject);
    s.on("close", () => {
      const [head = "", ...rest] = data.split("\r\n\r\n");
      resolve({ status: Number(head.split(" ")[1]), headers: head.toLowerCase(), body: rest.join("\r\n\r\n") });
    });
  });
}

// ================================================================================================
// Attacker 1: a hostile website
// ================================================================================================

describe("hostile website: the victim admin is signed in to the dashboard", () => {
  let berth: BerthServer;
  let browser: Browser;
  let victim: Acct;
  let call: Call;
  let connectionId: string;
  let cookie: string;
  let port: number;
  /** Pages of the attacker, by path, on one port of every loopback name (127.0.0.1, localhost, [::1]). */
  const attackerPages = new Map<string, string>();
  let attacker: http.Server;
  let attackerPort: number;
  /** A web client the operator allowed (BERTH_ALLOWED_ORIGINS): on the same site, another port. */
  let allowedServer: http.Server;
  let allowedOrigin: string;
  let context: Awaited<ReturnType<Browser["newContext"]>>;

  /** What the victim's cookie could change: connections, and events of the victim's connection. */
  async function effects() {
    const list = await call("GET", "/api/mcp-connections");
    const events = await call("GET", `/api/mcp-connections/${connectionId}/events`);
    const kinds = ["extended", "restarted", "deleted", "credentials_updated", "installed"];
    return {
      connections: list.body.data.length as number,
      events: events.body.data.filter((e: { type: string }) => kinds.includes(e.type)).length as number,
    };
  }

  beforeAll(async () => {
    attacker = http.createServer((req, res) =>
      res
        .writeHead(200, { "content-type": "text/html" })
        .end(attackerPages.get((req.url ?? "/").split("?")[0] as string) ?? "<!doctype html><title>attacker</title>"),
    );
    await new Promise<void>((r) => attacker.listen(0, "::", r)); // dual stack: 127.0.0.1, localhost and [::1]
    attackerPort = (attacker.address() as net.AddressInfo).port;
    allowedServer = http.createServer((_req, res) =>
      res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>allowed client</title>"),
    );
    await new Promise<void>((r) => allowedServer.listen(0, "127.0.0.1", r));
    allowedOrigin = `http://127.0.0.1:${(allowedServer.address() as net.AddressInfo).port}`;

    berth = await startBerth({ SANDBOX_PROVIDER: "local", BERTH_ALLOWED_ORIGINS: allowedOrigin });
    port = Number(new URL(berth.url).port);
    victim = (await berth.cli([
      "accounts",
      "create",
      "--name",
      "Victim",
      "--owner-email",
      OWNER.email,
      "--owner-password",
      OWNER.password,
    ])) as Acct;
    call = api(berth.url, victim.api_key);
    const res = await call("POST", "/api/mcp-connections/install", {
      account_id: victim.account_id,
      server_id: "memory",
    });
    expect(res.body.data.status).toBe("running");
    connectionId = res.body.data.id;

    browser = await launchChromium();
    context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${berth.url}/sign-in`);
    await page.getByLabel("Email").fill(OWNER.email);
    await page.getByLabel("Password").fill(OWNER.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/dashboard/);
    await page.close();
    cookie = (await context.cookies(berth.url)).map((c) => `${c.name}=${c.value}`).join("; ");
    expect(cookie).toContain("berth_session=");
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await berth?.stop();
    attacker?.close();
    allowedServer?.close();
  });

  // Every simple (no preflight) request a page can send with the cookie, from each loopback name of
  // the same site, another port: fetch no-cors as text/plain, urlencoded and multipart, a form
  // posted into a hidden iframe with the text/plain JSON trick, sendBeacon; and credentialed reads.
  it("pages on other origins of the same site cannot act or read with the victim's cookie", async () => {
    const before = await effects();
    const page = await context.newPage();
    for (const host of ["127.0.0.1", "localhost", "[::1]"]) {
      const origin = `http://${host}:${attackerPort}`;
      for (const target of [berth.url, `http://localhost:${port}`]) {
        attackerPages.set(
          "/csrf",
          `<!doctype html><body><iframe name=sink></iframe>
          <form id=f method=POST enctype="text/plain" target=sink action="${target}/api/mcp-connections/${connectionId}/extend">
          <input name='{"seconds":600,"x":"' value='"}'></form>
          <script>document.getElementById('f').submit()</script>`,
        );
        await page.goto(`${origin}/csrf`);
        await sleep(500);
        const outcome = await page.evaluate(
          async ({ target, id, account }) => {
            const out: string[] = [];
            const posts: [string, unknown][] = [
              [`/api/mcp-connections/${id}/extend`, { seconds: 600 }],
              [`/api/mcp-connections/${id}/restart`, {}],
              ["/api/mcp-connections/install", { account_id: account, server_id: "memory" }],
              ["/api/sandbox-runs", { account_id: account, command: ["true"] }],
            ];
            for (const [p, body] of posts) {
              for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]) {
                await fetch(target + p, {
                  method: "POST",
                  mode: "no-cors",
                  credentials: "include",
                  headers: { "content-type": type },
                  body: JSON.stringify(body),
                }).catch(() => {});
              }
              navigator.sendBeacon(target + p, JSON.stringify(body));
            }
            for (const p of ["/api/mcp-connections", `/api/mcp-connections/${id}/client-config`, "/api/health"]) {
              try {
                const r = await fetch(target + p, { credentials: "include" });
                out.push(`READ ${p} ${r.status} ${(await r.text()).slice(0, 80)}`);
              } catch {}
            }
            try {
              await fetch(`${target}/api/mcp-connections/${id}`, { method: "DELETE", credentials: "include" });
              out.push("DELETE went through");
            } catch {}
            return out;
          },
          { target, id: connectionId, account: victim.account_id },
        );
        expect(outcome, `${origin} → ${target}`).toEqual([]);
      }
    }
    await page.close();
    await sleep(500);
    expect(await effects()).toEqual(before);
  }, 90_000);

  // Opaque origins send `Origin: null`: a sandboxed iframe, a data: URL page.
  it("opaque origins (sandboxed iframe, data: URL) cannot act with the cookie", async () => {
    const before = await effects();
    const script = `(async () => {
      const t = ${JSON.stringify(berth.url)};
      for (const type of ["text/plain", "application/x-www-form-urlencoded"])
        await fetch(t + "/api/mcp-connections/${connectionId}/extend", { method: "POST", mode: "no-cors", credentials: "include",
          headers: { "content-type": type }, body: JSON.stringify({ seconds: 600 }) }).catch(() => {});
      await fetch(t + "/api/mcp-connections/install", { method: "POST", mode: "no-cors", credentials: "include",
          headers: { "content-type": "text/plain" }, body: JSON.stringify({ account_id: "${victim.account_id}", server_id: "memory" }) }).catch(() => {});
      document.title = "done";
    })()`;
    attackerPages.set(
      "/sandboxed",
      `<!doctype html><iframe sandbox="allow-scripts allow-forms" srcdoc="<script>${script.replaceAll('"', "&quot;")}</script>"></iframe>`,
    );
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${attackerPort}/sandboxed`);
    await sleep(1500);
    await page.goto(`data:text/html,${encodeURIComponent(`<script>${script}</script>`)}`);
    await page.waitForFunction(() => document.title === "done", undefined, { timeout: 10_000 }).catch(() => {});
    await page.close();
    // What those pages sent, as Berth saw it: Origin: null, refused.
    const nul = await api(berth.url)("POST", `/api/mcp-connections/${connectionId}/extend`, '{"seconds":600}', {
      cookie,
      origin: "null",
      "content-type": "text/plain",
    });
    expect(nul.status).toBe(403);
    await sleep(500);
    expect(await effects()).toEqual(before);
  }, 60_000);

  // No disallowed origin is reflected, `null` included, whatever its spelling; credentials never allowed.
  it("CORS reflects only the allowed origins exactly, never with credentials", async () => {
    const a = allowedOrigin;
    const refused = [
      "null",
      "http://evil.test",
      a.toUpperCase(),
      `${a}/`,
      `${a}.evil.test`,
      `${a}0`,
      `${a.replace("http:", "https:")}`,
      `http://evil.test#${a}`,
      `http://localhost:${a.split(":")[2]}`, // the allowed client's port under another loopback name
      `http://127.0.0.1:${attackerPort}`,
      `${a}, http://evil.test`,
      `http://evil.test ${a}`,
      "*",
      "",
    ];
    const targets: [string, string, string][] = [
      ["GET", "/api/mcp-connections", ""],
      ["POST", `/api/mcp-connections/${connectionId}/extend`, "content-type: application/json"],
      ["OPTIONS", "/api/mcp-connections", "access-control-request-method: GET"],
      ["OPTIONS", "/api/no-such-route", "access-control-request-method: POST"],
      ["OPTIONS", `/api/mcp/${connectionId}`, "access-control-request-method: POST"],
      ["POST", `/api/mcp/${connectionId}`, "content-type: application/json"],
      ["GET", `/api/mcp/${connectionId}`, "accept: text/event-stream"],
      ["HEAD", "/api/mcp-connections", ""],
      ["GET", "/api/health", ""],
      ["GET", "/dashboard", ""],
    ];
    const leaks: string[] = [];
    for (const origin of refused) {
      for (const [method, p, extra] of targets) {
        const r = await raw(
          port,
          [
            `${method} ${p} HTTP/1.1`,
            `Host: 127.0.0.1:${port}`,
            `Origin: ${origin}`,
            `Cookie: ${cookie}`,
            `Authorization: Bearer ${victim.api_key}`,
            "Connection: close",
            ...(extra ? [extra] : []),
            ...(method === "POST" ? ["Content-Length: 2"] : []),
          ].join("\r\n"),
          method === "POST" ? "{}" : "",
        );
        const acao = /access-control-allow-origin: *(.*)/.exec(r.headers)?.[1];
        if (acao !== undefined) leaks.push(`${method} ${p} Origin ${JSON.stringify(origin)} → ACAO ${acao}`);
        if (r.headers.includes("access-control-allow-credentials")) leaks.push(`${method} ${p}: credentials allowed`);
        // Blank origins are no origin; every other one is refused on the API (Next's pages have no CORS at all).
        if (origin && p.startsWith("/api/") && r.status !== 403)
          leaks.push(`${method} ${p} Origin ${JSON.stringify(origin)} → ${r.status}`);
      }
    }
    // Two Origin headers, either order: refused, nothing reflected.
    for (const pair of [
      [a, "http://evil.test"],
      ["http://evil.test", a],
    ]) {
      const r = await raw(
        port,
        [
          "GET /api/mcp-connections HTTP/1.1",
          `Host: 127.0.0.1:${port}`,
          `Origin: ${pair[0]}`,
          `Origin: ${pair[1]}`,
          `Authorization: Bearer ${victim.api_key}`,
          "Connection: close",
        ].join("\r\n"),
      );
      if (r.status !== 403 || r.headers.includes("access-control-allow-origin"))
        leaks.push(`two Origins ${pair.join(" + ")} → ${r.status}`);
    }
    // The allowed origin is reflected as itself only, without credentials.
    const ok = await api(berth.url, victim.api_key)("GET", "/api/mcp-connections", undefined, { origin: a });
    expect(ok.headers.get("access-control-allow-origin")).toBe(a);
    expect(ok.headers.get("access-control-allow-credentials")).toBeNull();
    expect(leaks).toEqual([]);
  }, 90_000);

  // The MCP endpoint and its SSE streams from a page on another origin: with the key or the cookie.
  it("a page on another origin cannot reach the MCP endpoint or open its streams", async () => {
    const page = await context.newPage();
    await page.goto(`http://localhost:${attackerPort}/`);
    const outcome = await page.evaluate(
      async ({ url, key }) => {
        const out: string[] = [];
        const init = JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "evil", version: "1" } },
        });
        for (const auth of [{ authorization: `Bearer ${key}` }, {}] as Record<string, string>[]) {
          try {
            const r = await fetch(url, {
              method: "POST",
              credentials: "include",
              headers: { ...auth, "content-type": "application/json", accept: "application/json, text/event-stream" },
              body: init,
            });
            out.push(`POST ${r.status}`);
          } catch {}
        }
        await fetch(url, { method: "POST", mode: "no-cors", credentials: "include", body: init }).catch(() => {});
        const es = await new Promise<string>((resolve) => {
          const s = new EventSource(url, { withCredentials: true });
          s.onopen = () => resolve("EventSource opened");
          s.onerror = () => resolve("");
          setTimeout(() => resolve(""), 3000);
        });
        if (es) out.push(es);
        return out;
      },
      { url: `${berth.url}/api/mcp/${connectionId}`, key: victim.api_key },
    );
    await page.close();
    expect(outcome).toEqual([]);
    // As Berth sees the same from a page on another origin: 403; a cookie alone never makes a
    // text/plain body an MCP message, whatever the origin.
    for (const origin of [`http://localhost:${attackerPort}`, allowedOrigin, undefined]) {
      const r = await api(berth.url)("POST", `/api/mcp/${connectionId}`, '{"jsonrpc":"2.0","id":1,"method":"ping"}', {
        cookie,
        "content-type": "text/plain",
        accept: "application/json, text/event-stream",
        ...(origin ? { origin } : {}),
      });
      expect(r.status, String(origin)).not.toBeLessThan(400);
    }
  }, 60_000);

  // The cookie with a text/plain or form body and no Origin (an old browser's form), and with a
  // refused Origin, on odd paths, methods and request targets: nothing changes.
  it("odd paths, methods and targets with the cookie change nothing", async () => {
    const before = await effects();
    const id = connectionId;
    const targets = [
      `/api/mcp-connections/${id}/extend`,
      `/api/mcp-connections/${id}/extend/`,
      `/api/mcp-connections/${id}/extend?x=1`,
      `/api//mcp-connections/${id}/extend`,
      `//api/mcp-connections/${id}/extend`,
      `/api/mcp/../mcp-connections/${id}/extend`,
      `/api/mcp/%2e%2e/mcp-connections/${id}/extend`,
      `/api/mcp-connections/../mcp-connections/${id}/extend`,
      `/api/mcp-connections/${id}/%65xtend`,
      `/API/mcp-connections/${id}/extend`,
      `/%61pi/mcp-connections/${id}/extend`,
      `http://127.0.0.1:${port}/api/mcp-connections/${id}/extend`,
      `http://evil.test/api/mcp-connections/${id}/extend`,
      "/api/mcp-connections/install",
      "/api/mcp/../mcp-connections/install",
    ];
    const problems: string[] = [];
    for (const target of targets) {
      const body = target.endsWith("install")
        ? JSON.stringify({ account_id: victim.account_id, server_id: "memory" })
        : '{"seconds":600}';
      for (const method of ["POST", "PUT", "PATCH", "DELETE", "PROPFIND"]) {
        for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
          for (const origin of [undefined, `http://127.0.0.1:${attackerPort}`]) {
            const r = await raw(
              port,
              [
                `${method} ${target} HTTP/1.1`,
                `Host: 127.0.0.1:${port}`,
                `Cookie: ${cookie}`,
                `Content-Type: ${type}`,
                `Content-Length: ${Buffer.byteLength(body)}`,
                "X-HTTP-Method-Override: POST",
                "Connection: close",
                ...(origin ? [`Origin: ${origin}`] : []),
              ].join("\r\n"),
              body,
            );
            // Next answers the paths it gets (`//api/…`, absolute targets) with a redirect to the same
            // host (the browser would then send Origin, or no cookie-only JSON): only one elsewhere counts.
            const base = target.startsWith("http") ? target : `http://127.0.0.1:${port}${target}`;
            const location = /\r?\nlocation: *([^\r\n]*)/.exec(`\n${r.headers}`)?.[1]?.trim();
            const elsewhere = location !== undefined && new URL(location, base).host !== new URL(base).host;
            if ((r.status >= 200 && r.status < 300) || elsewhere)
              problems.push(`${method} ${target} ${type} origin=${origin} → ${r.status} ${location ?? ""}`);
          }
        }
      }
    }
    // GET and HEAD with a method override, or a body, do nothing either.
    for (const method of ["GET", "HEAD"]) {
      await raw(
        port,
        [
          `${method} /api/mcp-connections/${id}/extend HTTP/1.1`,
          `Host: 127.0.0.1:${port}`,
          `Cookie: ${cookie}`,
          "X-HTTP-Method-Override: POST",
          "Content-Length: 15",
          "Connection: close",
        ].join("\r\n"),
        '{"seconds":600}',
      );
    }
    expect(problems).toEqual([]);
    expect(await effects()).toEqual(before);
  }, 180_000);

  // FINDING. A page on an origin the operator allowed (BERTH_ALLOWED_ORIGINS, for browser-based MCP
  // clients with API keys; CORS without credentials, "cookies stay same-origin") sends a simple
  // text/plain POST with credentials: the browser cannot read the answer, but Berth acts on it with
  // the victim's session cookie: it extends, restarts and installs. Fixed while this review ran (the
  // REST API and the MCP endpoint now drop the cookie of any origin but Berth's own).
  it("FINDING: a page on an allowed origin cannot act with the dashboard's cookie", async () => {
    const before = await effects();
    const page = await context.newPage();
    await page.goto(allowedOrigin);
    await page.evaluate(
      async ({ url, id, account }) => {
        const send = (p: string, body: unknown) =>
          fetch(url + p, {
            method: "POST",
            credentials: "include",
            headers: { "content-type": "text/plain" },
            body: JSON.stringify(body),
          }).catch(() => {});
        await send(`/api/mcp-connections/${id}/extend`, { seconds: 600 });
        await send("/api/mcp-connections/install", { account_id: account, server_id: "memory" });
      },
      { url: berth.url, id: connectionId, account: victim.account_id },
    );
    await page.close();
    await sleep(1000);
    const after = await effects();
    // Clean up what the attack made, so that later tests count from a clean slate.
    for (const c of (await call("GET", "/api/mcp-connections")).body.data)
      if (c.id !== connectionId) await call("DELETE", `/api/mcp-connections/${c.id}`);
    expect(after).toEqual(before);
  }, 60_000);

  // FINDING. Clickjacking: the dashboard has no X-Frame-Options nor CSP frame-ancestors, so a page on
  // another port of the same site frames the victim's connection page, signed in (SameSite=Lax
  // cookies go with same-site frames), under a decoy; the victim's click on "Extend" (or "Restart",
  // or the tool inspector's "Call") is the dashboard's own same-origin request, and it works. Fixed
  // while this review ran (X-Frame-Options and frame-ancestors in next.config.ts: needs `next build`).
  it("FINDING: the dashboard cannot be framed by another origin (clickjacking)", async () => {
    const before = await effects();
    const res = await fetch(`${berth.url}/dashboard/connections/${connectionId}`, { headers: { cookie } });
    await res.arrayBuffer();
    const xfo = res.headers.get("x-frame-options");
    const frameAncestors = /frame-ancestors[^;]*/.exec(res.headers.get("content-security-policy") ?? "")?.[0];
    attackerPages.set(
      "/clickjack",
      `<!doctype html><p>Click "Claim your prize"!</p>
      <iframe src="${berth.url}/dashboard/connections/${connectionId}" width=1200 height=900 style="opacity:0.01"></iframe>`,
    );
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${attackerPort}/clickjack`);
    await sleep(3000);
    const framed = page.frames().find((f) => f.url().includes("/dashboard/connections/"));
    let clicked = false;
    if (framed) {
      // The victim's click, where the decoy put the button.
      clicked = await framed
        .getByRole("button", { name: "Extend" })
        .click({ timeout: 5000 })
        .then(
          () => true,
          () => false,
        );
      await sleep(1500);
    }
    await page.close();
    const after = await effects();
    expect({ clicked, effects: after, xfo, frameAncestors }).toMatchObject({ clicked: false, effects: before });
    expect(xfo ?? frameAncestors).toBeTruthy();
  }, 60_000);

  // FINDING. DNS rebinding on a fresh Berth on the victim's machine: a page on rebind.example, whose
  // name then resolves to 127.0.0.1, is same-origin with Berth: its GET of /setup carries no Origin
  // and its POST carries Origin = Host = rebind.example, which Next's Server Action check accepts
  // (the Origin/Host check added for DNS rebinding covers /api only). It completes first-run setup:
  // the attacker owns the first account and the real owner finds /setup closed.
  // (Chromium here blocks that navigation by its Local Network Access checks, other browsers do not;
  // the requests below are what any browser sends after a rebinding.) Fixed while this review ran
  // (server.ts refuses pages and actions whose Origin is not Berth's own).
  it("FINDING: a DNS-rebinding page cannot complete first-run setup", async () => {
    const fresh = await startBerth({ SANDBOX_PROVIDER: "local" });
    try {
      const p = new URL(fresh.url).port;
      const host = `rebind.example:${p}`;
      const req = (method: string, target: string, headers: Record<string, string | number>, body?: Buffer) =>
        new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
          const r = http.request({ host: "127.0.0.1", port: p, path: target, method, headers }, (res) => {
            let b = "";
            res.on("data", (d) => {
              b += d;
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
          });
          r.on("error", reject);
          r.end(body);
        });
      const form = await req("GET", "/setup", { host });
      const data = new FormData();
      for (const m of form.body.matchAll(/<input type="hidden" name="([^"]+)"(?: value="([^"]*)")?\/>/g))
        data.append(m[1] as string, (m[2] ?? "").replaceAll("&quot;", '"'));
      data.append("name", "Pwned");
      data.append("email", "attacker@rebind.example");
      data.append("password", "attacker-password");
      const encoded = new Response(data);
      const body = Buffer.from(await encoded.arrayBuffer());
      const posted = await req(
        "POST",
        "/setup",
        {
          host,
          origin: `http://${host}`,
          "content-type": encoded.headers.get("content-type") as string,
          "content-length": body.length,
        },
        body,
      );
      const after = await req("GET", "/setup", { host: `127.0.0.1:${p}` });
      expect({
        setupSetCookie: posted.headers["set-cookie"]?.join(";") ?? null,
        setupStillOpenForTheOwner: after.status === 200,
      }).toEqual({ setupSetCookie: null, setupStillOpenForTheOwner: true });
    } finally {
      await fresh.stop();
      fs.rmSync(fresh.dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  // Rebinding against the API itself: same-origin GETs carry no Origin, but hold no credentials for
  // Berth's name: nothing of an account is readable.
  it("a DNS-rebinding page reads nothing of an account through the API", async () => {
    const leaks: string[] = [];
    for (const p of [
      "/api/mcp-connections",
      `/api/mcp-connections/${connectionId}`,
      `/api/mcp-connections/${connectionId}/client-config`,
      "/api/mcp-server-definitions",
      `/api/mcp/${connectionId}`,
    ]) {
      const r = await raw(
        port,
        [`GET ${p} HTTP/1.1`, `Host: rebind.example:${port}`, "Accept: text/event-stream", "Connection: close"].join(
          "\r\n",
        ),
      );
      if (r.status !== 401) leaks.push(`${p} → ${r.status}`);
    }
    const health = await raw(
      port,
      ["GET /api/health HTTP/1.1", `Host: rebind.example:${port}`, "Connection: close"].join("\r\n"),
    );
    expect(health.body).not.toContain(victim.account_id);
    expect(leaks).toEqual([]);
  });
});

// ================================================================================================
// Attacker 2: a hostile tenant whose server serves Streamable HTTP, local sandboxes
// ================================================================================================

describe("hostile HTTP server, local sandboxes (bubblewrap, bridge in the sandbox)", () => {
  let berth: BerthServer;
  let a: Acct; // the attacker
  let b: Acct; // the victim
  let victimConnection: string;
  const VICTIM_SECRET = `victim-secret-${crypto.randomBytes(6).toString("hex")}`;

  beforeAll(async () => {
    berth = await startBerth({ SANDBOX_PROVIDER: "local", BERTH_MAINTENANCE_INTERVAL_MS: "1000" });
    await addServer(berth, evilHttpDefinition("ht4-http"));
    await addServer(berth, evilHttpDefinition("ht4-http-net", { network: true }));
    await addServer(berth, {
      slug: "ht4-dense",
      title: "Dense answers",
      start_command: `node -e "eval(process.env.CODE)" ${MARK}`,
      env: { CODE: DENSE_STDIO },
    });
    a = await newAccount(berth, "attacker");
    b = await newAccount(berth, "victim");
    victimConnection = await runningEvil(berth, b, "ht4-http", { WHO: VICTIM_SECRET });
  }, 120_000);

  afterAll(async () => {
    await berth?.stop();
    if (berth) fs.rmSync(berth.dataDir, { recursive: true, force: true });
  });

  async function deleteAllOf(acct: Acct) {
    const c = api(berth.url, acct.api_key);
    for (const conn of (await c("GET", "/api/mcp-connections")).body.data)
      await c("DELETE", `/api/mcp-connections/${conn.id}`);
  }

  it("another tenant's server on the same port, the host's ports and Berth are out of reach", async () => {
    const rec = await recorder();
    try {
      const port = Number(new URL(berth.url).port);
      const targets: [string, number][] = [
        ["127.0.0.1", 8000],
        ["127.0.0.1", 8001],
        ["127.0.0.1", port],
        ["127.0.0.1", rec.port],
        ["::1", port],
        ["::1", 8000],
        ["0.0.0.0", 8000],
      ];
      for (const ip of hostAddresses()) targets.push([ip, 8000], [ip, port], [ip, rec.port]);
      for (const server of ["ht4-http", "ht4-http-net"]) {
        const id = await runningEvil(berth, a, server, { WHO: `attacker-${server}` });
        const out = (await evalOn(berth, a, id, reachCode(targets))).text;
        expect(out, server).not.toContain(VICTIM_SECRET);
        expect(out, server).not.toContain("host-secret");
        const open = out.split("\n").filter((l) => l.includes(" OPEN"));
        // Only its own port on its own loopback answers, as itself.
        for (const line of open) expect(line, `${server}: ${out}`).toMatch(/ 8000 OPEN .*who=attacker-ht4-http/);
      }
      expect(rec.hits).toEqual([]);
    } finally {
      rec.close();
      await deleteAllOf(a);
    }
  }, 90_000);

  it("the server sees neither its client's credentials nor Berth's environment nor other tenants'", async () => {
    const id = await runningEvil(berth, a, "ht4-http");
    try {
      // A real MCP client with the API key, so that the relay could pass it on.
      const init = await fetch(`${berth.url}/api/mcp/${id}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${a.api_key}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          cookie: "berth_session=client-cookie",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "c", version: "1" } },
        }),
      });
      await init.text();
      const seen = (await evalOn(berth, a, id, "return JSON.stringify({hits:ctx.state.hits,env:process.env})")).text;
      expect(seen).not.toContain(a.api_key);
      expect(seen).not.toContain(b.api_key);
      expect(seen).not.toContain("client-cookie");
      expect(seen).not.toContain(VICTIM_SECRET);
      expect(seen).not.toMatch(/authorization|BERTH_|E2B_|DATABASE_URL|SUPABASE|encryption/i);
    } finally {
      await deleteAllOf(a);
    }
  }, 60_000);

  it("huge answers and endless SSE lines do not grow Berth or stall another tenant", async () => {
    const id = await runningEvil(berth, a, "ht4-http");
    try {
      const growth = rssGrowth(berth.proc.pid as number);
      const attacks = [
        attackCall(berth, a, id, ATTACK.hugeJson(200), 60_000),
        sleep(4000).then(() => attackCall(berth, a, id, ATTACK.endlessSseLine(200), 15_000)),
      ];
      const p = await probe(victimCall(berth, b, victimConnection), 10_000);
      await Promise.all(attacks);
      const grown = growth.stop();
      console.log(`local: huge answers: Berth grew ${grown} MiB; victim median ${p.median} ms, p90 ${p.p90} ms`);
      expect(grown).toBeLessThan(150);
      expect(p.p90).toBeLessThan(1000);
    } finally {
      await deleteAllOf(a);
    }
  }, 90_000);

  it("a notification flood over the server's SSE does not stall another tenant", async () => {
    const id = await runningEvil(berth, a, "ht4-http");
    try {
      const growth = rssGrowth(berth.proc.pid as number);
      const flood = attackCall(berth, a, id, ATTACK.notificationFlood(8000), 30_000);
      await sleep(500);
      const p = await probe(victimCall(berth, b, victimConnection), 6000);
      await flood;
      const grown = growth.stop();
      console.log(`local: notification flood: Berth grew ${grown} MiB; victim median ${p.median} ms, p90 ${p.p90} ms`);
      expect(grown).toBeLessThan(150);
      expect(p.median).toBeLessThan(100);
      expect(p.p90).toBeLessThan(1000);
    } finally {
      await deleteAllOf(a);
    }
  }, 60_000);

  it("stray answers, server requests, Set-Cookie and redirects reach no one else", async () => {
    await strayAnswers(berth, a, b, "ht4-http", victimConnection);
    await deleteAllOf(a);
  }, 60_000);

  it("malformed answers (deep nesting, bad JSON or encoding, broken HTTP) do not take Berth down", async () => {
    await malformedAnswers(berth, a, b, "ht4-http", victimConnection);
    await deleteAllOf(a);
  }, 60_000);

  // FINDING. Every cap counts bytes (16 MiB a line, 8 MiB/s a server, 4 MiB a request), none what
  // the bytes become: 16 MiB of `{},` is ~5.6 million objects, parsed by ProcessTransport and
  // serialized again for the client on Berth's one event loop. Four such answers at once (from a
  // stdio server: the same ProcessTransport relays the HTTP bridge) grew Berth by ~1.8 GB and held
  // another tenant's REST call for ~7 s; one alone, ~2 s.
  it.skip("FINDING (open, F1): 16 MiB answers of tiny JSON objects do not stall another tenant or grow Berth", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await api(berth.url, a.api_key)("POST", "/api/mcp-connections/install", {
        account_id: a.account_id,
        server_id: "ht4-dense",
      });
      expect(r.body.data?.status, JSON.stringify(r.body)).toBe("running");
      ids.push(r.body.data.id);
    }
    try {
      const r = await denseAnswers(berth, a, ids, "", b, victimConnection);
      console.log(
        `local: 16 MiB dense answers on 4 connections (${r.outcomes.join(",")}): Berth grew ${r.grown} MiB; ` +
          `victim REST median ${r.median} ms, max ${r.max} ms`,
      );
      expect(r.max, `the victim's slowest REST call (ms); Berth grew ${r.grown} MiB`).toBeLessThan(1000);
      expect(r.grown, "Berth's growth (MiB)").toBeLessThan(300);
    } finally {
      await deleteAllOf(a);
    }
  }, 90_000);

  it("replies that never end or break mid-message hold nothing once the connection is deleted", async () => {
    const id = await runningEvil(berth, a, "ht4-http");
    // Five calls whose replies never come (a socket held open), one that breaks mid-message.
    const hanging = Array.from({ length: 5 }, () =>
      evalOn(berth, a, id, "await new Promise(()=>{})", AbortSignal.timeout(60_000)).then(
        (r) => r.status,
        () => "aborted",
      ),
    );
    const broken = await evalOn(
      berth,
      a,
      id,
      `ctx.res.writeHead(200,{'content-type':'application/json','content-length':'1000'});ctx.res.write('{"jsonrpc":"2.0","id":'+ctx.m.id+',"result":{"content":[{"ty');setTimeout(()=>ctx.res.socket.destroy(),100);`,
      AbortSignal.timeout(20_000),
    ).then(
      (r) => r.status,
      () => "no answer in 20 s",
    );
    expect(broken).not.toBe("no answer in 20 s");
    await victimCall(berth, b, victimConnection)();
    const t = Date.now();
    await api(berth.url, a.api_key)("DELETE", `/api/mcp-connections/${id}`);
    const settled = await Promise.all(hanging);
    expect(Date.now() - t).toBeLessThan(10_000);
    expect(settled.every((s) => s !== "aborted")).toBe(true);
    await sleep(2000);
    expect(processesWith(`WHO=${a.account_id}`)).toEqual([]);
  }, 90_000);

  it("a server that binds its port and forks leaves nothing behind, exiting or deleted", async () => {
    const spawnChild = (tag: string) =>
      `const cp=ctx.require('child_process');const c=cp.spawn(process.execPath,['-e','setInterval(()=>{},1e9)','${tag}'],{detached:true,stdio:'ignore'});c.unref();` +
      `const s=ctx.http.createServer(()=>{}).listen(8100);return 'forked '+c.pid`;
    // Forks, then the server exits: its sandbox goes with it.
    const exiting = `${MARK}-exit-${crypto.randomBytes(3).toString("hex")}`;
    const id1 = await runningEvil(berth, a, "ht4-http");
    expect((await evalOn(berth, a, id1, spawnChild(exiting))).text).toMatch(/^forked/);
    expect(processesWith(exiting).length).toBe(1);
    await evalOn(berth, a, id1, "setTimeout(()=>process.exit(0),100);return 'bye'");
    await sleep(3000);
    expect(processesWith(exiting)).toEqual([]);
    // Forks, and the connection is deleted.
    const deleted = `${MARK}-del-${crypto.randomBytes(3).toString("hex")}`;
    const id2 = await runningEvil(berth, a, "ht4-http");
    expect((await evalOn(berth, a, id2, spawnChild(deleted))).text).toMatch(/^forked/);
    await api(berth.url, a.api_key)("DELETE", `/api/mcp-connections/${id2}`);
    await sleep(3000);
    expect(processesWith(deleted)).toEqual([]);
    await deleteAllOf(a);
    await sleep(2000);
    expect(processesWith(exiting)).toEqual([]);
  }, 90_000);

  it("a server that listens late still serves; one that never listens fails in bounded time, leaving nothing", async () => {
    const late = await installEvil(berth, a, "ht4-http", { BOOT: "process.env.LISTEN_DELAY='3000'" });
    expect(late.body.data.status).toBe("running");
    const tag = `never-${crypto.randomBytes(4).toString("hex")}`;
    const t = Date.now();
    const never = await installEvil(berth, a, "ht4-http", {
      BOOT: "process.env.NOLISTEN='1';setInterval(()=>{},1e9)",
      WHO: tag,
    });
    const listed = (await api(berth.url, a.api_key)("GET", "/api/mcp-connections")).body.data as { id: string }[];
    const neverId = never.body?.data?.id ?? listed.find((c) => c.id !== late.body.data.id)?.id;
    // The install answers while it still deploys; the start times out (60 s) and the sandbox ends.
    let final: { status?: string; last_error?: string } | undefined;
    while (Date.now() - t < 80_000) {
      final = (await api(berth.url, a.api_key)("GET", `/api/mcp-connections/${neverId}`)).body?.data;
      if (final?.status !== "deploying") break;
      await sleep(1000);
    }
    const took = Date.now() - t;
    console.log(`local: a server that never listens: ${final?.status} after ${took} ms: ${final?.last_error}`);
    expect(final?.status).toBe("failed");
    expect(took).toBeLessThan(75_000);
    await sleep(2000);
    expect(processesWith(`WHO=${tag}`)).toEqual([]);
    await victimCall(berth, b, victimConnection)();
    await deleteAllOf(a);
  }, 150_000);
});

/**
 * A server answering one tools/call with a batch: answers to ids Berth never sent, sampling and
 * roots requests to a client that declared neither, a log notification, its own answer; with
 * Set-Cookie and Location headers; a second call redirected (307) to a listener on the host. The
 * victim's session on its own connection hears none of it; the attacker's client gets no cookie.
 */
async function strayAnswers(berth: BerthServer, a: Acct, b: Acct, server: string, victimConnection: string) {
  const rec = await recorder("127.0.0.1");
  try {
    const id = await runningEvil(berth, a, server);
    const mcpPost = async (key: string, conn: string, body: unknown, session?: string) => {
      const res = await fetch(`${berth.url}/api/mcp/${conn}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${key}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...(session ? { "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" } : {}),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(20_000),
      });
      return { res, text: await res.text() };
    };
    const initialize = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "c", version: "1" } },
    };
    const sa = (await mcpPost(a.api_key, id, initialize)).res.headers.get("mcp-session-id") as string;
    await mcpPost(a.api_key, id, { jsonrpc: "2.0", method: "notifications/initialized" }, sa);
    const sb = (await mcpPost(b.api_key, victimConnection, initialize)).res.headers.get("mcp-session-id") as string;
    await mcpPost(b.api_key, victimConnection, { jsonrpc: "2.0", method: "notifications/initialized" }, sb);
    // The victim listens on its session's GET stream meanwhile.
    const ac = new AbortController();
    let heard = "";
    const stream = fetch(`${berth.url}/api/mcp/${victimConnection}`, {
      headers: {
        authorization: `Bearer ${b.api_key}`,
        accept: "text/event-stream",
        "mcp-session-id": sb,
        "mcp-protocol-version": "2025-06-18",
      },
      signal: ac.signal,
    }).then(async (r) => {
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) heard += Buffer.from(chunk).toString();
    });
    stream.catch(() => {});
    const code =
      `const out=[];for(let i=1;i<=30;i++)out.push({jsonrpc:'2.0',id:i,result:{content:[{type:'text',text:'stray'+i}]}});` +
      `out.push({jsonrpc:'2.0',id:'s1',method:'sampling/createMessage',params:{messages:[],maxTokens:1}});` +
      `out.push({jsonrpc:'2.0',id:'s2',method:'roots/list'});` +
      `out.push({jsonrpc:'2.0',method:'notifications/message',params:{level:'emergency',data:'stray-note'}});` +
      `out.push({jsonrpc:'2.0',id:ctx.m.id,result:{content:[{type:'text',text:'own'}]}});` +
      `ctx.res.writeHead(200,{'content-type':'application/json','set-cookie':'berth_session=evil; Path=/','location':'http://127.0.0.1:${rec.port}/location'});` +
      `ctx.res.end(JSON.stringify(out));`;
    const call = (rid: number, c: string) =>
      mcpPost(
        a.api_key,
        id,
        { jsonrpc: "2.0", id: rid, method: "tools/call", params: { name: "eval", arguments: { code: c } } },
        sa,
      );
    const first = await call(7, code);
    expect(first.res.headers.get("set-cookie")).toBeNull();
    const redirected = await call(
      8,
      `ctx.res.writeHead(307,{location:'http://127.0.0.1:${rec.port}/redirected'});ctx.res.end();`,
    ).catch(() => undefined);
    expect(redirected?.res.headers.get("set-cookie") ?? null).toBeNull();
    await sleep(1500);
    ac.abort();
    expect(heard).not.toContain("stray");
    expect(heard).not.toContain("sampling");
    expect(heard).not.toContain("roots/list");
    expect(rec.hits).toEqual([]);
    // The victim's own calls still work.
    await victimCall(berth, b, victimConnection)();
  } finally {
    rec.close();
  }
}

/** Malformed answers, all at once, each bounded in time: Berth stays up and another tenant is served. */
async function malformedAnswers(berth: BerthServer, a: Acct, b: Acct, server: string, victimConnection: string) {
  const id = await runningEvil(berth, a, server);
  const outcomes = await Promise.all(
    ATTACK.malformed.map((code) => attackCall(berth, a, id, code, 20_000).then((r) => r.status || "no answer")),
  );
  console.log(`${server}: malformed answers → ${outcomes.join(", ")}`);
  expect(berth.proc.exitCode).toBeNull();
  expect((await api(berth.url)("GET", "/api/health")).status).toBe(200);
  await victimCall(berth, b, victimConnection)();
}

/**
 * `conns` of the attacker's connections each answer one tools/call, through the MCP endpoint as
 * an agent would, with a message of 16 MiB of empty objects; another tenant's REST call (Berth and
 * its database only) meanwhile. JSON that dense is ~20 times its size once parsed, and every
 * parse and serialization of it runs on the event loop all tenants share.
 */
async function denseAnswers(
  berth: BerthServer,
  attacker: Acct,
  ids: string[],
  code: string,
  victim: Acct,
  victimConnection: string,
) {
  const post = (id: string, body: unknown, session?: string) =>
    fetch(`${berth.url}/api/mcp/${id}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${attacker.api_key}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...(session ? { "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" } : {}),
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(40_000),
    });
  const sessions: string[] = [];
  for (const id of ids) {
    const r = await post(id, {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "c", version: "1" } },
    });
    sessions.push(r.headers.get("mcp-session-id") as string);
    await r.text();
  }
  const growth = rssGrowth(berth.proc.pid as number);
  let done = false;
  const attacks = Promise.all(
    ids.map(async (id, k) => {
      try {
        const r = await post(
          id,
          { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "eval", arguments: { code } } },
          sessions[k],
        );
        let bytes = 0;
        for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
        return `${r.status}/${bytes}`;
      } catch (err) {
        return String(err).slice(0, 40);
      }
    }),
  ).finally(() => {
    done = true;
  });
  const lat: number[] = [];
  const t = Date.now();
  while ((!done || Date.now() - t < 6000) && Date.now() - t < 45_000) {
    const t0 = Date.now();
    const r = await api(berth.url, victim.api_key)("GET", `/api/mcp-connections/${victimConnection}`);
    expect(r.status).toBe(200);
    lat.push(Date.now() - t0);
    await sleep(100);
  }
  const outcomes = await attacks;
  const grown = growth.stop();
  lat.sort((x, y) => x - y);
  return { outcomes, grown, median: lat[lat.length >> 1] ?? 0, max: lat.at(-1) ?? 0 };
}

// ================================================================================================
// Attacker 2 on E2B (the fake): the relay is the MCP SDK's HTTP client inside Berth's own process
// ================================================================================================

const e2bSupport = FakeE2B.supported();

describe.runIf(e2bSupport.ok)("hostile HTTP server, E2B (fake): the relay runs in Berth's own process", () => {
  let fake: FakeE2B;
  let berth: BerthServer;
  let a: Acct;
  let b: Acct;
  let victimConnection: string;
  const VICTIM_SECRET = `victim-secret-${crypto.randomBytes(6).toString("hex")}`;

  const e2bEnv = () => ({ ...fake.berthEnv(), BERTH_MAINTENANCE_INTERVAL_MS: "1000" });

  /** A Berth of its own on the same fake, with the attacker and a victim whose server runs (memory tests). */
  async function freshBerth() {
    const own = await startBerth(e2bEnv());
    await addServer(own, evilHttpDefinition("ht4-http"));
    const attacker = await newAccount(own, "attacker");
    const target = await newAccount(own, "victim");
    const targetConnection = await runningEvil(own, target, "ht4-http", { WHO: VICTIM_SECRET });
    return { own, attacker, target, targetConnection };
  }

  async function withFreshBerth(fn: (f: Awaited<ReturnType<typeof freshBerth>>) => Promise<void>) {
    const f = await freshBerth();
    try {
      await fn(f);
    } finally {
      await f.own.stop();
      fs.rmSync(f.own.dataDir, { recursive: true, force: true });
    }
  }

  async function deleteAllOf(server: BerthServer, acct: Acct) {
    const c = api(server.url, acct.api_key);
    for (const conn of (await c("GET", "/api/mcp-connections")).body.data)
      await c("DELETE", `/api/mcp-connections/${conn.id}`);
  }

  beforeAll(async () => {
    fake = await FakeE2B.start();
    berth = await startBerth(e2bEnv());
    await addServer(berth, evilHttpDefinition("ht4-http"));
    a = await newAccount(berth, "attacker");
    b = await newAccount(berth, "victim");
    victimConnection = await runningEvil(berth, b, "ht4-http", { WHO: VICTIM_SECRET });
  }, 120_000);

  afterAll(async () => {
    await berth?.stop();
    if (berth) fs.rmSync(berth.dataDir, { recursive: true, force: true });
    await fake?.close();
  });

  it("the server sees neither its client's credentials nor Berth's environment nor other tenants'", async () => {
    const id = await runningEvil(berth, a, "ht4-http");
    try {
      const init = await fetch(`${berth.url}/api/mcp/${id}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${a.api_key}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "c", version: "1" } },
        }),
      });
      await init.text();
      const seen = (await evalOn(berth, a, id, "return JSON.stringify({hits:ctx.state.hits,env:process.env})")).text;
      expect(seen).not.toContain(a.api_key);
      expect(seen).not.toContain(b.api_key);
      expect(seen).not.toContain(VICTIM_SECRET);
      expect(seen).not.toContain(fake.apiKey);
      expect(seen).not.toMatch(/authorization|BERTH_|E2B_API_KEY|DATABASE_URL|SUPABASE/i);
    } finally {
      await deleteAllOf(berth, a);
    }
  }, 60_000);

  it("from its sandbox, the server reaches neither another tenant's port, nor Berth, nor the E2B API", async () => {
    const rec = await recorder();
    try {
      const id = await runningEvil(berth, a, "ht4-http", { WHO: "attacker-e2b" });
      const targets: [string, number][] = [
        ["127.0.0.1", 8000],
        ["127.0.0.1", Number(new URL(berth.url).port)],
        ["127.0.0.1", Number(new URL(fake.url).port)],
        ["127.0.0.1", rec.port],
      ];
      for (const ip of hostAddresses()) targets.push([ip, 8000], [ip, rec.port], [ip, Number(new URL(fake.url).port)]);
      const out = (await evalOn(berth, a, id, reachCode(targets))).text;
      expect(out).not.toContain(VICTIM_SECRET);
      for (const line of out.split("\n").filter((l) => l.includes(" OPEN")))
        expect(line, out).toMatch(/ 8000 OPEN .*who=attacker-e2b/);
      expect(rec.hits).toEqual([]);
    } finally {
      rec.close();
      await deleteAllOf(berth, a);
    }
  }, 60_000);

  // FINDING. Berth polls a starting E2B server with a plain fetch, which follows redirects anywhere:
  // the server answers the readiness probe with 302 to any URL and Berth's own process GETs it,
  // from the host's network (loopback services, the LAN, cloud metadata), with the sandbox's traffic
  // token attached. The relay itself follows redirects only within the origin (next test). Fixed
  // while this review ran (`redirect: "manual"`).
  it("FINDING: the readiness probe does not follow the server's redirect to the host's network", async () => {
    const rec = await recorder("127.0.0.1");
    try {
      const BOOT = `state.onGet=(req,res)=>{res.writeHead(302,{location:'http://127.0.0.1:${rec.port}/ssrf-from-berth'});res.end()}`;
      const r = await installEvil(berth, a, "ht4-http", { BOOT });
      expect(r.status).toBe(201);
      expect(rec.hits).toEqual([]);
    } finally {
      rec.close();
      await deleteAllOf(berth, a);
    }
  }, 60_000);

  it("the relay follows no redirect of a POST, a GET stream or a DELETE to another origin", async () => {
    const rec = await recorder("127.0.0.1");
    try {
      // The probe (first GET) is answered properly; every later GET is redirected off-origin.
      const BOOT = `state.gets=0;state.onGet=(req,res)=>{if(++state.gets===1){res.writeHead(405).end();return}res.writeHead(302,{location:'http://127.0.0.1:${rec.port}/get'});res.end()};state.onRequest=(req,res)=>{if(req.method==='DELETE'){res.writeHead(307,{location:'http://127.0.0.1:${rec.port}/delete'});res.end();return true}}`;
      const id = await runningEvil(berth, a, "ht4-http", { BOOT });
      await evalOn(
        berth,
        a,
        id,
        `ctx.res.writeHead(307,{location:'http://127.0.0.1:${rec.port}/post'});ctx.res.end();`,
        AbortSignal.timeout(20_000),
      ).catch(() => {});
      await api(berth.url, a.api_key)("POST", `/api/mcp-connections/${id}/restart`);
      await sleep(2000);
      await api(berth.url, a.api_key)("DELETE", `/api/mcp-connections/${id}`);
      await sleep(1000);
      expect(rec.hits).toEqual([]);
    } finally {
      rec.close();
      await deleteAllOf(berth, a);
    }
  }, 60_000);

  it("stray answers, server requests, Set-Cookie and redirects reach no one else", async () => {
    await strayAnswers(berth, a, b, "ht4-http", victimConnection);
    await deleteAllOf(berth, a);
  }, 60_000);

  it("malformed answers (deep nesting, bad JSON or encoding, broken HTTP) do not take Berth down", async () => {
    await malformedAnswers(berth, a, b, "ht4-http", victimConnection);
    await deleteAllOf(berth, a);
  }, 60_000);

  // FINDING. As below, but gzip-encoded: fetch inflates it, so ~300 KiB on the wire become 300 MiB
  // in Berth (a cap on bytes received, or E2B's bandwidth, would not stop it): 1.7 GB grown. Fixed
  // while this review ran by the answer limits (answer-limits.ts, on decoded bytes); see the
  // bypasses below.
  it("FINDING: a gzip bomb answer does not grow Berth", async () => {
    await withFreshBerth(async ({ own, attacker, target, targetConnection }) => {
      const id = await runningEvil(own, attacker, "ht4-http");
      const growth = rssGrowth(own.proc.pid as number);
      const attack = attackCall(own, attacker, id, ATTACK.gzipBomb(300), 60_000);
      const p = await probe(victimCall(own, target, targetConnection), 8000);
      await attack;
      const grown = growth.stop();
      const wire = await evalOn(own, attacker, id, "return ctx.state.gzipBytes", AbortSignal.timeout(10_000)).then(
        (r) => r.text,
        () => "?",
      );
      console.log(
        `e2b: gzip bomb: ${wire} bytes on the wire, Berth grew ${grown} MiB; victim median ${p.median} ms, max ${p.max} ms`,
      );
      expect(grown, `Berth grew ${grown} MiB from ${wire} bytes on the wire`).toBeLessThan(150);
    });
  }, 120_000);

  // FINDING. The SDK's client transport reads a JSON answer whole (`response.json()`) inside Berth's
  // process, with no cap (the stdio relay drops lines over 16 MiB): one 300 MiB answer grows Berth by
  // gigabytes and blocks its event loop for seconds while it is parsed, stalling every tenant
  // (1.7 GB grown, another tenant's call held 4.7 s). Fixed while this review ran (16 MiB a line).
  it("FINDING: a huge JSON answer does not grow Berth or stall another tenant", async () => {
    await withFreshBerth(async ({ own, attacker, target, targetConnection }) => {
      const id = await runningEvil(own, attacker, "ht4-http");
      const growth = rssGrowth(own.proc.pid as number);
      const attack = attackCall(own, attacker, id, ATTACK.hugeJson(300), 60_000);
      const p = await probe(victimCall(own, target, targetConnection), 8000);
      await attack;
      const grown = growth.stop();
      console.log(
        `e2b: huge JSON answer: Berth grew ${grown} MiB; victim median ${p.median} ms, p90 ${p.p90} ms, max ${p.max} ms`,
      );
      expect(grown, `Berth grew ${grown} MiB (victim's slowest call ${p.max} ms)`).toBeLessThan(150);
      expect(p.max, "the victim's slowest call (ms)").toBeLessThan(1000);
    });
  }, 120_000);

  // FINDING. The SDK's SSE parser keeps a line until its newline: an SSE answer whose `data:` line
  // never ends grows Berth by as much as the server sends (here 400 MiB), up to V8's string limit.
  // Fixed while this review ran (16 MiB a line).
  it("FINDING: an endless SSE line does not grow Berth", async () => {
    await withFreshBerth(async ({ own, attacker, target, targetConnection }) => {
      const id = await runningEvil(own, attacker, "ht4-http");
      const growth = rssGrowth(own.proc.pid as number);
      const attack = attackCall(own, attacker, id, ATTACK.endlessSseLine(400), 40_000);
      const p = await probe(victimCall(own, target, targetConnection), 10_000);
      // Until the server has sent it all (or 30 s more).
      for (let i = 0; i < 60; i++) {
        if ((await evalOn(own, attacker, id, "return ctx.state.sentMiB")).text === "400") break;
        await sleep(500);
      }
      await sleep(2000);
      const sent = (await evalOn(own, attacker, id, "return ctx.state.sentMiB")).text;
      const grown = growth.stop();
      await attack;
      console.log(
        `e2b: endless SSE line: ${sent} MiB sent, Berth grew ${grown} MiB; victim median ${p.median} ms, p90 ${p.p90} ms`,
      );
      expect(grown).toBeLessThan(150);
    });
  }, 120_000);

  // FINDING. At first nothing paced what an HTTP server sends Berth on E2B: one server streaming log
  // notifications took another tenant's median call from 11 to 414 ms. The pacing added during this
  // review (8 MiB/s a sandbox, as the local stdout throttle) holds for one server (first case), not
  // for the account's several: each message is decoded, parsed and schema-checked by the SDK on
  // Berth's event loop, several times the local relay's cost per byte, and nothing bounds an
  // account's sandboxes together (it may have 20), nor their CPU, which is E2B's. Sixteen flooding
  // servers: the victim's REST call (Berth and its database only, no sandbox, no fake E2B) went from
  // a 5 ms to a ~230 ms median with Berth at 1.2 CPUs; its tool call from 10 to ~450-1800 ms.
  // Locally, the same sixteen: 5 ms and 9 ms, Berth at 0.4 CPUs. Account pacing then held both
  // cases in quiet runs (12 ms), but Berth stayed at a full core relaying ~33,000 messages a second
  // (8 MiB/s of them), and on CI's busy machine the victim's median went to 624 ms (one server)
  // and 265 ms (sixteen). Each message now costs 2 KiB of the rate besides its bytes: Berth at
  // 0.1-0.3 CPUs, the victim 9 ms and 7 ms (9 and 8 alone), p90 15 and 13 ms.
  it.each([1, 16])(
    "FINDING: a notification flood from %i E2B server(s) of one tenant does not stall another tenant",
    async (conns) => {
      await withFreshBerth(async ({ own, attacker, target, targetConnection }) => {
        const ids: string[] = [];
        for (let i = 0; i < conns; i++) ids.push(await runningEvil(own, attacker, "ht4-http"));
        const rest = async () => {
          const r = await api(own.url, target.api_key)("GET", `/api/mcp-connections/${targetConnection}`);
          if (r.status !== 200) throw new Error(`the victim's REST call failed: ${r.status}`);
        };
        const alone = await probe(rest, 3000);
        const growth = rssGrowth(own.proc.pid as number);
        const floods = Promise.all(
          ids.map((id) => attackCall(own, attacker, id, ATTACK.notificationFlood(12_000), 40_000)),
        );
        await sleep(1000);
        const restLatency = await probe(rest, 5000);
        const toolLatency = await probe(victimCall(own, target, targetConnection), 4000);
        await floods;
        const grown = growth.stop();
        console.log(
          `e2b: notification flood from ${conns}: Berth grew ${grown} MiB; victim REST median ${restLatency.median} ms ` +
            `(alone ${alone.median}), p90 ${restLatency.p90} ms; victim tool call median ${toolLatency.median} ms`,
        );
        // The fake E2B relays the flood on this same machine, so a busy machine (CI's other
        // worker) slows the victim more than the flood alone does: 76 ms was seen so; the attack
        // gave 414 ms (one server) and 96-231 ms (sixteen, paced per sandbox).
        expect(
          restLatency.median,
          `the victim's median REST call (ms), ${alone.median} ms without the flood`,
        ).toBeLessThan(Math.max(100, alone.median * 8));
        // Parsing small messages through the SDK's streams leaves garbage V8 collects lazily
        // (~70-290 MiB seen, one server or sixteen): what matters here is the other tenant's latency.
        expect(grown, "Berth's growth (MiB)").toBeLessThan(400);
      });
    },
    120_000,
  );

  // FINDING. As locally: the 16 MiB answer cap added during this review counts bytes, and 16 MiB of
  // `{},` parsed (and, on this path, schema-checked by the SDK) is gigabytes of objects. Four at
  // once grew Berth by ~1.4 GB and held another tenant's REST call for up to ~11 s.
  it.skip("FINDING (open, F1): 16 MiB answers of tiny JSON objects do not stall another tenant or grow Berth", async () => {
    await withFreshBerth(async ({ own, attacker, target, targetConnection }) => {
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push(await runningEvil(own, attacker, "ht4-http"));
      const r = await denseAnswers(own, attacker, ids, ATTACK.denseJson(), target, targetConnection);
      console.log(
        `e2b: 16 MiB dense answers on 4 connections (${r.outcomes.join(",")}): Berth grew ${r.grown} MiB; ` +
          `victim REST median ${r.median} ms, max ${r.max} ms`,
      );
      expect(r.max, `the victim's slowest REST call (ms); Berth grew ${r.grown} MiB`).toBeLessThan(1000);
      expect(r.grown, "Berth's growth (MiB)").toBeLessThan(300);
    });
  }, 150_000);

  /**
   * `payload` on `conns` of the attacker's connections at once (a tenant may have 20); the victim's
   * calls meanwhile. Bound: what four 16 MiB messages in flight could legitimately hold, and more.
   */
  async function memoryAttack(what: string, payload: string, conns: number) {
    await withFreshBerth(async ({ own, attacker, target, targetConnection }) => {
      const ids: string[] = [];
      for (let i = 0; i < conns; i++) ids.push(await runningEvil(own, attacker, "ht4-http"));
      const growth = rssGrowth(own.proc.pid as number);
      let done = false;
      const attacks = Promise.all(ids.map((id) => attackCall(own, attacker, id, payload, 40_000))).finally(() => {
        done = true;
      });
      const lat: number[] = [];
      const t = Date.now();
      while (!done && Date.now() - t < 60_000) {
        const t0 = Date.now();
        await victimCall(own, target, targetConnection)();
        lat.push(Date.now() - t0);
        await sleep(100);
      }
      const outcomes = await attacks;
      const grown = growth.stop();
      lat.sort((x, y) => x - y);
      console.log(
        `e2b: ${what} on ${conns} connections (${outcomes.map((o) => o.status).join(",")}) in ${Date.now() - t} ms: ` +
          `Berth grew ${grown} MiB; victim median ${lat[lat.length >> 1]} ms, max ${lat.at(-1)} ms`,
      );
      expect(grown, `Berth grew ${grown} MiB (the victim's slowest call: ${lat.at(-1)} ms)`).toBeLessThan(300);
    });
  }

  // FINDING (against the answer limits being added while this was written: 16 MiB a line, 8 MiB/s a
  // sandbox). A JSON answer need not be one line: 100 MiB in 1 MiB lines passes the line cap and is
  // still read whole by `response.json()`; four connections at once grew Berth by ~1.2 GB and
  // stalled another tenant's call for seconds while JSON.parse ran.
  it("FINDING: a JSON answer of many short lines does not grow Berth", async () => {
    await memoryAttack("100 MiB JSON answer in 1 MiB lines", ATTACK.multilineJson(100), 4);
  }, 150_000);

  // FINDING (same version). An SSE message may span many `data:` lines, which the parser joins:
  // 100 MiB as 1 MiB data lines passes the line cap; four at once grew Berth by ~1 GB.
  it("FINDING: an SSE message of many data lines does not grow Berth", async () => {
    await memoryAttack("100 MiB SSE message in 1 MiB data lines", ATTACK.multilineSse(100), 4);
  }, 150_000);

  // FINDING (same version). The transport's fetch looks into every 404 and 502 for E2B's "sandbox was
  // not found" with `res.clone().json()`, before any limit: a server answering 404 with a gzip body
  // that inflates to 300 MiB (~300 KiB on the wire) is read whole, twice (the clone's tee keeps the
  // other branch); four at once grew Berth by ~4 GB.
  it("FINDING: a 404 whose gzip body inflates to 300 MiB does not grow Berth", async () => {
    await memoryAttack("404 with a 300 MiB gzip body", ATTACK.gzipBomb404(300), 4);
  }, 150_000);

  // An SSE stream that ends at once with `retry: 0`: the SDK reconnects at once, for ever (a few
  // hundred GETs a second from Berth); it must at least not hurt another tenant.
  it("a GET stream that reconnects at once, for ever, does not stall another tenant", async () => {
    const BOOT = `state.gets=0;state.onGet=(req,res)=>{if(++state.gets===1){res.writeHead(405).end();return}res.writeHead(200,{'content-type':'text/event-stream'});res.end('retry: 0\\nid: 1\\n\\n')}`;
    const id = await runningEvil(berth, a, "ht4-http", { BOOT });
    try {
      const p = await probe(victimCall(berth, b, victimConnection), 5000);
      const gets = Number((await evalOn(berth, a, id, "return ctx.state.gets")).text);
      console.log(`e2b: reconnect loop: ${gets} GETs in ~5 s; victim median ${p.median} ms, p90 ${p.p90} ms`);
      expect(p.median).toBeLessThan(100);
      expect(p.p90).toBeLessThan(1000);
    } finally {
      await deleteAllOf(berth, a);
    }
  }, 60_000);

  const spawnChild = (tag: string) =>
    `const cp=ctx.require('child_process');const c=cp.spawn(process.execPath,['-e','setInterval(()=>{},1e9)','${tag}'],{detached:true,stdio:'ignore'});c.unref();return 'forked '+c.pid`;

  it("a deleted connection whose server forked leaves no sandbox and no process behind", async () => {
    const tag = `${MARK}-e2b-del-${crypto.randomBytes(3).toString("hex")}`;
    const before = new Set(fake.sandboxIds());
    const id = await runningEvil(berth, a, "ht4-http");
    expect((await evalOn(berth, a, id, spawnChild(tag))).text).toMatch(/^forked/);
    expect(processesWith(tag).length).toBe(1);
    await api(berth.url, a.api_key)("DELETE", `/api/mcp-connections/${id}`);
    await sleep(3000);
    expect(processesWith(tag)).toEqual([]);
    expect(fake.sandboxIds().filter((s) => !before.has(s))).toEqual([]);
  }, 60_000);

  // FINDING. On E2B a server's exit is not its sandbox's end: the VM lives on. Berth reports the
  // crash and restarts the connection in a new sandbox, but never kills the old one, not even when
  // the connection is deleted: it runs on, with whatever the server left running in it, until its
  // E2B timeout (the connection's lifetime, up to E2B_MAX_LIFETIME_SECONDS). Each exit leaves one
  // more such sandbox, outside BERTH_ACCOUNT_MAX_SANDBOXES, on the operator's E2B account. Fixed
  // while this review ran (the runtime kills a sandbox that outlives its server).
  it("FINDING: a server that forks and exits leaves no sandbox running", async () => {
    const tag = `${MARK}-e2b-exit-${crypto.randomBytes(3).toString("hex")}`;
    const before = new Set(fake.sandboxIds());
    const installed = await installEvil(berth, a, "ht4-http");
    expect(installed.body.data.status).toBe("running");
    const { id, sandbox_id: first } = installed.body.data as { id: string; sandbox_id: string };
    try {
      expect((await evalOn(berth, a, id, spawnChild(tag))).text).toMatch(/^forked/);
      await evalOn(berth, a, id, "setTimeout(()=>process.exit(0),100);return 'bye'");
      // The crash is seen and the connection restarted in a new sandbox.
      let now: { status?: string; sandbox_id?: string } | undefined;
      for (let i = 0; i < 30; i++) {
        await sleep(500);
        now = (await api(berth.url, a.api_key)("GET", `/api/mcp-connections/${id}`)).body?.data;
        if (now?.status === "running" && now.sandbox_id && now.sandbox_id !== first) break;
      }
      await sleep(3000);
      const orphan = fake.sandbox(first);
      console.log(
        `e2b: after the server exited: connection ${now?.status} on ${now?.sandbox_id}; old sandbox ${first} ` +
          (orphan
            ? `still running, ${Math.round((orphan.endAt.getTime() - Date.now()) / 1000)} s of life left`
            : "gone") +
          `; processes the server left: ${processesWith(tag).length}`,
      );
      await api(berth.url, a.api_key)("DELETE", `/api/mcp-connections/${id}`);
      await sleep(3000);
      expect({
        leftSandboxes: fake.sandboxIds().filter((s) => !before.has(s)),
        leftProcesses: processesWith(tag).length,
      }).toEqual({ leftSandboxes: [], leftProcesses: 0 });
    } finally {
      for (const s of fake.sandboxIds()) if (!before.has(s)) await fake.crash(s);
      await deleteAllOf(berth, a);
    }
  }, 90_000);
});
