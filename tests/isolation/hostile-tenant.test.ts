/**
 * The hostile-tenant review of the sandbox hardening, kept as tests: written black box (REST, MCP,
 * sandbox-runs, definitions; no knowledge of Berth's design) by a reviewer briefed only as a
 * hostile tenant. "FINDING" marks an attack that succeeded against the first hardened version and
 * was fixed after. Not kept: a lock on a shared read-only file is visible to another sandbox (a
 * covert channel between two cooperating sandboxes; docs/SECURITY.md says what remains).
 *
 * Hostile-tenant suite (black box). Tenant A attacks, tenant B is the victim (it runs a server holding a
 * secret credential). Every test replays an attack and asserts that it FAILS: a green test means Berth
 * held, a red one is a live finding. Each test is bounded (< ~30 s) and cleans up after itself.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import dgram from "node:dgram";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  api,
  type BerthServer,
  descendantsOf,
  freePort,
  mcpInitialize,
  processesIn,
  startBerth,
} from "../support/berth-server";
import { tempDir } from "../support/temp-dirs";

const ROOT = path.resolve(import.meta.dirname, "../..");
const execFileP = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SECRET = `victim-secret-${Math.random().toString(36).slice(2)}`;

// A tiny stdio MCP server whose one tool ("sh") runs a shell command inside its own sandbox.
const MINI = [
  "const rl=require('readline').createInterface({input:process.stdin});",
  "const send=o=>process.stdout.write(JSON.stringify(o)+'\\n');",
  "rl.on('line',l=>{let m;try{m=JSON.parse(l)}catch{return}",
  " if(m.method==='initialize')send({jsonrpc:'2.0',id:m.id,result:{protocolVersion:m.params.protocolVersion,capabilities:{tools:{}},serverInfo:{name:'mini',version:'1'}}});",
  " else if(m.method==='tools/list')send({jsonrpc:'2.0',id:m.id,result:{tools:[{name:'sh',description:'run',inputSchema:{type:'object',properties:{cmd:{type:'string'}}}}]}});",
  " else if(m.method==='tools/call'){let out;try{out=require('child_process').execSync(m.params.arguments.cmd,{encoding:'utf8',timeout:25000,maxBuffer:1<<22})}catch(e){out='ERR '+e.message+(e.stdout||'')}",
  "  send({jsonrpc:'2.0',id:m.id,result:{content:[{type:'text',text:out}]}})}",
  " else if(m.id!==undefined)send({jsonrpc:'2.0',id:m.id,result:{}});",
  "});",
].join(" ");
const MINI_CMD = `node -e ${JSON.stringify(MINI)}`;

type Tenant = { id: string; key: string; call: ReturnType<typeof api> };
let berth: BerthServer;
let A: Tenant;
let B: Tenant;
let victimConn: string;

async function addServer(def: Record<string, unknown>) {
  const file = path.join(tempDir("hostile-def-"), `${def.slug}.json`);
  fs.writeFileSync(file, JSON.stringify(def));
  return berth.cli(["servers", "add", "--file", file]);
}

async function tenant(name: string): Promise<Tenant> {
  const r = (await berth.cli(["accounts", "create", "--name", name])) as { account_id: string; api_key: string };
  return { id: r.account_id, key: r.api_key, call: api(berth.url, r.api_key) };
}

async function run(t: Tenant, command: string[] | string, timeout = 30, stdin?: string) {
  const r = await t.call("POST", "/api/sandbox-runs", {
    account_id: t.id,
    command,
    timeout,
    ...(stdin ? { stdin } : {}),
  });
  return r;
}
const sh = (t: Tenant, script: string, timeout = 30, stdin?: string) =>
  run(t, ["/bin/sh", "-c", script], timeout, stdin);

async function install(t: Tenant, server: string, credentials?: Record<string, string>) {
  const r = await t.call("POST", "/api/mcp-connections/install", {
    account_id: t.id,
    server_id: server,
    ...(credentials ? { credentials } : {}),
  });
  expect(r.status, r.text).toBe(201);
  const id = r.body.data.id as string;
  for (let i = 0; i < 100; i++) {
    const g = await t.call("GET", `/api/mcp-connections/${id}`);
    if (g.body?.data?.status === "running") return id;
    if (g.body?.data?.status === "failed") throw new Error(`install failed: ${g.body.data.last_error}`);
    await sleep(200);
  }
  throw new Error("server did not start");
}

async function tool(t: Tenant, conn: string, cmd: string): Promise<string> {
  const r = await t.call("POST", `/api/mcp-connections/${conn}/tools/call`, { name: "sh", arguments: { cmd } });
  return r.body?.data?.content?.[0]?.text ?? r.text;
}

/** Distinct sandbox directories of live sandbox processes on this host (operator view, to confirm effects). */
function liveSandboxes(): Set<string> {
  const dir = path.join(berth.dataDir, "sandboxes");
  const out = new Set<string>();
  for (const pid of processesIn(dir)) {
    try {
      const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
      out.add(cwd.slice(dir.length + 1).split("/")[0] as string);
    } catch {}
  }
  return out;
}
const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);

beforeAll(async () => {
  berth = await startBerth({ BERTH_ACCOUNT_MAX_SANDBOXES: "8" });
  A = await tenant("attacker");
  B = await tenant("victim");
  await addServer({
    slug: "victim-tok",
    title: "victim",
    start_command: MINI_CMD,
    credential_schema: {
      type: "object",
      properties: { API_TOKEN: { type: "string", writeOnly: true } },
      required: ["API_TOKEN"],
    },
  });
  await addServer({ slug: "att", title: "att", start_command: MINI_CMD });
  await addServer({ slug: "att-net", title: "att net", start_command: MINI_CMD, network: true });
  victimConn = await install(B, "victim-tok", { API_TOKEN: SECRET });
}, 180_000);

afterAll(async () => {
  await berth?.stop();
});

describe("hostile tenant", () => {
  // Privileges: the sandbox runs unprivileged, without capabilities, with no_new_privs and a seccomp filter.
  it("sandbox has no root, no capabilities, no new privileges, seccomp on", async () => {
    const r = await sh(
      A,
      "id -u; grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; su -c id root </dev/null 2>&1; echo su=$?",
    );
    const out = r.body.data.stdout as string;
    expect(out.split("\n")[0]).not.toBe("0");
    expect(out).toMatch(/CapEff:\s+0000000000000000/);
    expect(out).toMatch(/CapBnd:\s+0000000000000000/);
    expect(out).toMatch(/NoNewPrivs:\s+1/);
    expect(out).toMatch(/Seccomp:\s+2/);
    expect(out).not.toMatch(/uid=0/);
  });

  // Seccomp: dangerous syscalls (keyrings, io_uring, bpf, perf, ptrace, userfaultfd, user namespaces,
  // mount, personality, vsock) and the i386 / x32 ABIs must all be refused.
  it("seccomp blocks keyrings, io_uring, bpf, perf, ptrace, userns, mount and the 32-bit ABIs", async () => {
    const c = `#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/socket.h>
static long i386sys(long nr,long a,long b,long c){long r;__asm__ volatile("int $0x80":"=a"(r):"a"(nr),"b"(a),"c"(b),"d"(c):"memory");return r;}
int main(int argc,char**argv){setvbuf(stdout,NULL,_IONBF,0);int m=atoi(argv[1]);long r=-1;
switch(m){
case 0: r=syscall(SYS_add_key,"user","x","y",1,-3);break;
case 1: r=syscall(SYS_keyctl,0,-4,0);break;
case 2: r=syscall(425,8,NULL);break;
case 3: r=syscall(SYS_bpf,0,NULL,0);break;
case 4: r=syscall(SYS_perf_event_open,NULL,0,-1,-1,0);break;
case 5: r=syscall(SYS_ptrace,0,0,0,0);break;
case 6: r=syscall(SYS_userfaultfd,0);break;
case 7: r=unshare(CLONE_NEWUSER);break;
case 8: r=syscall(SYS_mount,"none","/tmp","tmpfs",0,0);break;
case 9: r=syscall(SYS_personality,0x0040000);break;
case 10: r=socket(40,SOCK_STREAM,0);break;
case 11: r=i386sys(288,0,-4,0);break;
case 12: r=i386sys(286,0,0,0);break;
case 13: r=syscall(0x40000000|SYS_keyctl,0,-4,0);break;
case 14: r=syscall(SYS_unshare,CLONE_NEWNS);break;
case 15: r=syscall(SYS_setns,0,0);break;
}
printf("%d:%ld\\n",m,r);return 0;}`;
    const r = await sh(
      A,
      'cat > /tmp/p.c && gcc -w -o /tmp/p /tmp/p.c && for i in $(seq 0 15); do /tmp/p $i || echo "$i:killed"; done',
      60,
      c,
    );
    const out = r.body.data.stdout as string;
    for (let i = 0; i <= 15; i++) {
      const m = new RegExp(`^${i}:(.*)$`, "m").exec(out);
      expect(m, `case ${i} in ${out}`).not.toBeNull();
      expect(m?.[1] === "killed" || Number(m?.[1]) < 0, `syscall case ${i} succeeded: ${m?.[1]}`).toBe(true);
    }
  }, 60_000);

  // Host view: no data dir, no host processes, no other tenant's secret anywhere the sandbox can read.
  it("sandbox sees no host processes, no Berth data dir and no trace of the victim's secret", async () => {
    // The secret is fed on stdin into a pattern file, so no command line of the probe itself contains it.
    const r = await sh(
      A,
      `ps -e -o pid= | wc -l; ls ${berth.dataDir} 2>&1; cat ${berth.dataDir}/encryption-keys 2>&1; cat > /tmp/.pat; ` +
        "grep -rlsF -f /tmp/.pat --exclude=.pat /proc/[0-9]*/environ /proc/[0-9]*/cmdline /tmp /dev/shm /home /opt 2>/dev/null; echo end",
      30,
      SECRET,
    );
    const out = r.body.data.stdout as string;
    expect(Number(out.split("\n")[0])).toBeLessThan(10);
    expect(out).not.toContain(SECRET);
    expect(out.trim().split("\n").at(-1)).toBe("end");
    expect(out).not.toMatch(/^\/(proc|tmp|dev|home|opt)\//m);
    expect(out).not.toMatch(/^[A-Za-z0-9_-]+:[A-Za-z0-9+/=]{40,}/m);
    expect(r.body.data.stderr + out).toMatch(/No such file|cannot access/);
  });

  // REST authorization: every route on B's connection, and B's account id in A's requests, is a 404.
  it("A cannot read, steer or delete B's connection or act for B's account", async () => {
    const tries: Array<[string, string, unknown?]> = [
      ["GET", `/api/mcp-connections/${victimConn}`],
      ["GET", `/api/mcp-connections/${victimConn}/events`],
      ["GET", `/api/mcp-connections/${victimConn}/tools`],
      ["GET", `/api/mcp-connections/${victimConn}/client-config`],
      ["POST", `/api/mcp-connections/${victimConn}/tools/call`, { name: "sh", arguments: { cmd: "env" } }],
      ["POST", `/api/mcp-connections/${victimConn}/restart`],
      ["POST", `/api/mcp-connections/${victimConn}/extend`, { seconds: 10 }],
      ["PUT", `/api/mcp-connections/${victimConn}/credentials`, { credentials: { API_TOKEN: "x" } }],
      ["DELETE", `/api/mcp-connections/${victimConn}`],
      ["GET", `/api/mcp-connections?account_id=${B.id}`],
      ["POST", "/api/sandbox-runs", { account_id: B.id, command: ["env"] }],
      ["POST", "/api/mcp-connections/install", { account_id: B.id, server_id: "att" }],
    ];
    for (const [m, p, body] of tries) {
      const r = await A.call(m, p, body);
      expect(r.status, `${m} ${p}`).toBe(404);
      expect(r.text).not.toContain(SECRET);
    }
    const still = await B.call("GET", `/api/mcp-connections/${victimConn}`);
    expect(still.body.data.status).toBe("running");
  });

  // MCP gateway: A can neither open B's endpoint nor ride B's session id on its own connection.
  it("A cannot use B's MCP endpoint or B's MCP session id", async () => {
    const accept = { accept: "application/json, text/event-stream" };
    const b = await mcpInitialize(B.call, victimConn);
    const sid = b.headers.get("mcp-session-id") as string;
    expect(sid).toBeTruthy();
    const own = await install(A, "att");
    const callEnv = { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "sh", arguments: { cmd: "env" } } };
    const hdr = { ...accept, "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" };
    expect((await mcpInitialize(A.call, victimConn)).status).toBe(404);
    for (const c of [victimConn, own]) {
      const r = await A.call("POST", `/api/mcp/${c}`, callEnv, hdr);
      expect(r.status).toBe(404);
      expect(r.text).not.toContain(SECRET);
    }
    expect((await A.call("DELETE", `/api/mcp/${own}`, undefined, { "mcp-session-id": sid })).status).toBe(404);
    const after = await B.call("POST", `/api/mcp/${victimConn}`, { jsonrpc: "2.0", id: 3, method: "tools/list" }, hdr);
    expect(after.status).toBe(200);
    await A.call("DELETE", `/api/mcp-connections/${own}`);
  });

  // Start chain: loader / interpreter variables, names with '=', unknown credential names and NUL bytes are refused.
  it("refuses LD_PRELOAD & co. in definitions, unknown credential names and NUL bytes", async () => {
    for (const env of [
      { LD_PRELOAD: "/x.so" },
      { ld_preload: "/x.so" },
      { NODE_OPTIONS: "--require /x" },
      { GCONV_PATH: "/tmp" },
      { BASH_ENV: "/x" },
      { LD_AUDIT: "/x" },
    ]) {
      await expect(
        addServer({ slug: `env-${Object.keys(env)[0]?.toLowerCase()}`, title: "e", start_command: "true", env }),
      ).rejects.toThrow();
    }
    await expect(
      addServer({
        slug: "bad-cred-name",
        title: "e",
        start_command: "true",
        credential_schema: { type: "object", properties: { "A=B": { type: "string" } } },
      }),
    ).rejects.toThrow();
    const extra = await A.call("POST", "/api/mcp-connections/install", {
      account_id: A.id,
      server_id: "victim-tok",
      credentials: { API_TOKEN: "x", LD_PRELOAD: "/x.so", NODE_OPTIONS: "--require /x" },
    });
    expect(extra.status).toBe(400);
    const nul = await A.call("POST", "/api/mcp-connections/install", {
      account_id: A.id,
      server_id: "victim-tok",
      credentials: { API_TOKEN: "a\u0000--bind\u0000/\u0000/host" },
    });
    expect(nul.status).toBe(400);
  });

  // FINDING (low): a NUL byte in a sandbox-run argv is bad input, yet it answers 502 with Node's internal
  // message (argv index of the bwrap command line) instead of a 400.
  it("answers a NUL byte in a sandbox-run argv with 400, not 502", async () => {
    const nulArgv = await run(A, ["/bin/ls", "/x\u0000--bind\u0000/\u0000/x"]);
    expect(nulArgv.status, nulArgv.text).toBe(400);
  });

  // FINDING (low): a 1M-deep JSON body on the MCP endpoint answers 500 internal_error (contract: never 500 for bad input).
  it("answers 1M-deep JSON on the MCP endpoint with a 4xx, not 500", async () => {
    const own = await install(A, "att");
    const accept = { accept: "application/json, text/event-stream" };
    const sid = (await mcpInitialize(A.call, own)).headers.get("mcp-session-id") as string;
    const n = 1_000_000;
    const deep = `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"sh","arguments":{"cmd":"true","x":${"[".repeat(n)}${"]".repeat(n)}}}}`;
    const r = await A.call("POST", `/api/mcp/${own}`, deep, {
      ...accept,
      "content-type": "application/json",
      "mcp-session-id": sid,
      "mcp-protocol-version": "2025-06-18",
    });
    expect(r.status, r.text).toBeLessThan(500);
    expect((await fetch(`${berth.url}/api/health`)).status).toBe(200);
    await A.call("DELETE", `/api/mcp-connections/${own}`);
  });

  // Network: a network:true server must not reach any TCP/UDP service of this host (loopback, the host's own
  // addresses, IPv4-mapped IPv6, broadcast, multicast).
  it("network sandbox cannot reach host TCP services, nor host UDP via multicast/broadcast", async () => {
    const port = await freePort();
    const hits: string[] = [];
    const tcp4 = net.createServer((s) => {
      hits.push(`tcp ${s.remoteAddress}`);
      s.destroy();
    });
    await new Promise<void>((r) => tcp4.listen(port, "0.0.0.0", r));
    const tcp6 = net.createServer((s) => {
      hits.push(`tcp6 ${s.remoteAddress}`);
      s.destroy();
    });
    await new Promise<void>((r) => tcp6.listen({ port, host: "::", ipv6Only: true }, r));
    const udp = dgram.createSocket({ type: "udp4", reuseAddr: true });
    udp.on("message", (m, rinfo) => hits.push(`udp ${m} ${rinfo.address}`));
    await new Promise<void>((r) => udp.bind(port, "0.0.0.0", r));
    udp.addMembership("239.7.7.7");
    const hostAddrs = Object.entries(os.networkInterfaces()).flatMap(([ifname, list]) =>
      (list ?? [])
        .filter((a) => !a.internal)
        .map((a) => (a.family === "IPv6" && a.address.startsWith("fe80") ? `${a.address}%${ifname}` : a.address)),
    );
    const targets = ["127.0.0.1", "::1", "::ffff:127.0.0.1", "0.0.0.0", ...hostAddrs];
    const py = [
      "import socket",
      `P=${port}`,
      `for h in ${JSON.stringify(targets)}:`,
      "  fam=socket.AF_INET6 if ':' in h else socket.AF_INET",
      "  s=socket.socket(fam); s.settimeout(2)",
      "  try:",
      "    s.connect(socket.getaddrinfo(h,P,fam)[0][4]); print('CONNECTED',h)",
      "  except Exception as e: print('fail',h,e)",
      "for h in ['239.7.7.7','255.255.255.255','224.0.0.1']:",
      "  u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); u.setsockopt(socket.SOL_SOCKET,socket.SO_BROADCAST,1)",
      "  try: u.sendto(b'mc-'+h.encode(),(h,P))",
      "  except Exception as e: print('udp fail',h,e)",
    ].join("\n");
    const conn = await install(A, "att-net");
    const out = await tool(A, conn, `echo ${Buffer.from(py).toString("base64")} | base64 -d | python3`);
    await sleep(1500);
    tcp4.close();
    tcp6.close();
    udp.close();
    await A.call("DELETE", `/api/mcp-connections/${conn}`);
    expect(hits, out).toEqual([]);
    // Connections to the sandbox's own loopback are local to its namespace (refused), never the host's listener.
  }, 45_000);

  // Persistence: detached, re-parented and setsid'd processes must die with the sandbox-run and with DELETE.
  it("no process survives a sandbox-run or a deleted connection", async () => {
    const tag = `${Date.now() % 100000}`;
    await sh(A, `setsid sh -c "sleep 91${tag} & exec sleep 92${tag}" </dev/null >/dev/null 2>&1 & echo ok`);
    const conn = await install(A, "att");
    await tool(
      A,
      conn,
      `(setsid sh -c "exec sleep 93${tag}" </dev/null >/dev/null 2>&1 &); (nohup sleep 94${tag} >/dev/null 2>&1 &); echo ok`,
    );
    await A.call("DELETE", `/api/mcp-connections/${conn}`);
    await sleep(2000);
    const { stdout } = await execFileP("ps", ["-eo", "cmd"]);
    expect(stdout).not.toMatch(new RegExp(`sleep 9[1-4]${tag}`));
  });

  // FINDING: concurrent restarts of one connection start several sandboxes; only one is tracked and the
  // others keep running after the connection is deleted (outliving DELETE and escaping the per-account cap).
  it("concurrent restarts leave no orphan sandbox behind a deleted connection", async () => {
    const before = liveSandboxes();
    const conn = await install(A, "att");
    await Promise.all(Array.from({ length: 30 }, () => A.call("POST", `/api/mcp-connections/${conn}/restart`)));
    await sleep(8000);
    await A.call("DELETE", `/api/mcp-connections/${conn}`);
    await sleep(3000);
    const leftover = [...liveSandboxes()].filter((s) => !before.has(s));
    expect(leftover, `orphan sandboxes still running after DELETE: ${leftover.join(", ")}`).toEqual([]);
  }, 40_000);

  // FINDING: a restart in flight while DELETE runs brings the deleted connection back (status "failed"),
  // although DELETE answered "deleted" and the contract says GET is 404 afterwards.
  it("a restart racing DELETE does not resurrect the deleted connection", async () => {
    const conn = await install(A, "att");
    const restarts = Promise.all(
      Array.from({ length: 10 }, () => A.call("POST", `/api/mcp-connections/${conn}/restart`)),
    );
    await sleep(300);
    const del = await A.call("DELETE", `/api/mcp-connections/${conn}`);
    expect(del.body?.data?.status).toBe("deleted");
    await restarts;
    await sleep(5000);
    const after = await A.call("GET", `/api/mcp-connections/${conn}`);
    expect(after.status, `deleted connection came back as ${after.text}`).toBe(404);
  }, 30_000);

  // FINDING: CPU is not isolated (no cpu cgroup); a tenant's setsid'd busy loops (one autogroup each)
  // starve every other tenant and Berth itself.
  // Open finding F5 (docs/SECURITY.md): after a full `npm test`, now and then one of B's calls under
  // this attack took 5.6-15 s while python's own time (21 ms) and Berth's health answers (18 ms)
  // stayed normal: not CPU share; never seen when this suite runs alone. Hence the median of three
  // calls below, with everything printed, and the CPU share asserted on python's own time.
  it("A's busy loops do not starve B's server", async () => {
    // The command stamps the host clock when its shell starts and ends, and python its own time:
    // a slow answer then shows where the time went (reaching the server, python, coming back),
    // and Berth's health answers show its event loop meanwhile.
    const bench =
      'date +%s%3N; python3 -c "import time;t=time.time();sum(range(3*10**6));print(round((time.time()-t)*1000))"; date +%s%3N';
    // Meanwhile B's sandbox processes are sampled (state, kernel wait channel) to show where they waited.
    const box = path.join(
      berth.dataDir,
      "sandboxes",
      (await B.call("GET", `/api/mcp-connections/${victimConn}`)).body.data.sandbox_id,
    );
    const timed = async () => {
      const waits = new Map<string, number>();
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          for (const pid of descendantsOf(processesIn(box))) {
            try {
              const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
              const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
              const wchan = fs.readFileSync(`/proc/${pid}/wchan`, "utf8");
              if (
                state === "S" &&
                /^(ep_poll|do_epoll_wait|do_wait|do_select|pipe_read|wait_woken|poll_schedule)/.test(wchan)
              )
                continue;
              const what = `${stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))}:${state}:${wchan}`;
              waits.set(what, (waits.get(what) ?? 0) + 1);
            } catch {}
          }
          await sleep(100);
        }
      })();
      const t0 = Date.now();
      const said = (await tool(B, victimConn, bench)).trim().split("\n");
      const t1 = Date.now();
      sampling = false;
      await sampler;
      const [start, python, end] = said.map(Number) as [number, number, number];
      const ms = t1 - t0;
      const sampled = [...waits].map(([w, n]) => `${w}×${n}`).join(" ") || "nothing unusual";
      return {
        ms,
        python,
        seen: `${ms} ms (to the shell ${start - t0}, shell ${end - start} of which python ${python}, back ${t1 - end}; B's processes: ${sampled})`,
      };
    };
    const baseline = await timed();
    const spin = 'for i in $(seq 1 200); do setsid sh -c "while :; do :; done" & done; sleep 14; kill -9 -1';
    const attacks = Array.from({ length: 4 }, () => sh(A, spin, 20));
    const health: number[] = [];
    let attacking = true;
    const probe = (async () => {
      while (attacking) {
        const t = Date.now();
        await fetch(`${berth.url}/api/health`).then((r) => r.text());
        health.push(Date.now() - t);
        await sleep(250);
      }
    })();
    await sleep(5000);
    const underAttack = [await timed(), await timed(), await timed()];
    attacking = false;
    await Promise.all([...attacks, probe]);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1] as number;
    const seen =
      `B's call: ${baseline.seen} alone; under attack ${underAttack.map((c) => c.seen).join("; ")}; ` +
      `Berth's health answers: slowest ${Math.max(...health)} ms of ${health.length}`;
    console.log(seen);
    // B's CPU-bound work gets its share; Berth's event loop is not starved; B's calls are served.
    expect(median(underAttack.map((c) => c.python)), seen).toBeLessThan(Math.max(10 * baseline.python, 1000));
    expect(Math.max(...health), seen).toBeLessThan(1000);
    expect(median(underAttack.map((c) => c.ms)), seen).toBeLessThan(Math.max(10 * baseline.ms, 3000));
  }, 60_000);

  // FINDING: a server that stops reading stdin makes Berth buffer every request sent to it; one connection
  // with 64 × 4 MiB requests grows Berth's own memory by ~0.5-0.8 GiB (outside any sandbox/account memory cap),
  // and it stays after the clients leave. 20 such connections per account can exhaust the host.
  it("a server that never reads stdin cannot make Berth buffer unbounded request bodies", async () => {
    const conn = await install(A, "att");
    await tool(A, conn, "(sleep 1; kill -STOP $PPID) >/dev/null 2>&1 & echo ok");
    await sleep(2000);
    const accept = { accept: "application/json, text/event-stream" };
    const sid = (await mcpInitialize(A.call, conn)).headers.get("mcp-session-id") as string;
    const big = JSON.stringify({
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: { name: "sh", arguments: { cmd: "true", pad: "A".repeat(4 * 1024 * 1024 - 300) } },
    });
    const pid = berth.proc.pid as number;
    const before = rssKiB(pid);
    const ctl = new AbortController();
    const reqs = Array.from({ length: 64 }, (_, i) =>
      fetch(`${berth.url}/api/mcp/${conn}`, {
        method: "POST",
        signal: ctl.signal,
        headers: {
          authorization: `Bearer ${A.key}`,
          "content-type": "application/json",
          ...accept,
          "mcp-session-id": sid,
          "mcp-protocol-version": "2025-06-18",
        },
        body: big.replace('"id":7', `"id":${100 + i}`),
      }).catch(() => undefined),
    );
    await sleep(12_000);
    const peak = rssKiB(pid);
    ctl.abort();
    await Promise.all(reqs);
    await A.call("DELETE", `/api/mcp-connections/${conn}`);
    expect((peak - before) / 1024, `Berth RSS ${before} -> ${peak} KiB`).toBeLessThan(300);
  }, 45_000);

  // Output flood: 400 MB on one stdout line and a sandbox-run flood must not grow Berth nor pass the 1 MiB cap.
  it("output floods are capped and do not grow Berth", async () => {
    const pid = berth.proc.pid as number;
    const before = rssKiB(pid);
    const conn = await install(A, "att");
    await tool(A, conn, '(head -c 200000000 /dev/zero | tr "\\0" "a" > /proc/$PPID/fd/1 &) ; echo bg');
    const r = await sh(
      A,
      "head -c 50000000 /dev/zero | tr '\\0' 'b'; head -c 50000000 /dev/zero | tr '\\0' 'c' >&2",
      30,
    );
    expect(r.status).toBe(200);
    expect((r.body.data.stdout as string).length + (r.body.data.stderr as string).length).toBeLessThanOrEqual(
      2 * 1024 * 1024 + 1024,
    );
    await sleep(8000);
    expect((rssKiB(pid) - before) / 1024).toBeLessThan(200);
    expect((await tool(A, conn, "echo alive")).trim()).toBe("alive");
    await A.call("DELETE", `/api/mcp-connections/${conn}`);
  }, 45_000);

  // Caps: processes and memory of one sandbox are bounded.
  it("fork and memory caps hold inside a sandbox", async () => {
    const r = await sh(
      A,
      `python3 -c "
import os,time
n=0
try:
  for i in range(3000):
    if os.fork()==0:
      time.sleep(4); os._exit(0)
    n+=1
except Exception: pass
print(n)"`,
      30,
    );
    expect(Number((r.body.data.stdout as string).trim())).toBeLessThanOrEqual(256);
    const m = await sh(A, 'python3 -c "b=[bytearray(1<<20) for i in range(3000)]; print(len(b))"', 30);
    expect(m.body.data.stdout).not.toMatch(/^3000/);
  }, 45_000);

  // Secrets in stored errors: a crashing server's stderr with its credential (raw, JSON, URL-encoded, base64,
  // hex) must be scrubbed from last_error and dry-run details.
  it("scrubs the credential from last_error and dry-run stderr in common encodings", async () => {
    const tok = "ab+/cd=ef/gh+ij==Z9";
    await addServer({
      slug: "leaky",
      title: "leaky",
      start_command:
        'node -e "const t=process.env.API_TOKEN;console.error(t,JSON.stringify(t),encodeURIComponent(t),Buffer.from(t).toString(\\"base64\\"),Buffer.from(t).toString(\\"hex\\"));process.exit(1)"',
      credential_schema: {
        type: "object",
        properties: { API_TOKEN: { type: "string", writeOnly: true } },
        required: ["API_TOKEN"],
      },
    });
    const dry = await A.call("POST", "/api/mcp-connections/install", {
      account_id: A.id,
      server_id: "leaky",
      dry_run: true,
      credentials: { API_TOKEN: tok },
    });
    const inst = await A.call("POST", "/api/mcp-connections/install", {
      account_id: A.id,
      server_id: "leaky",
      credentials: { API_TOKEN: tok },
    });
    await sleep(1500);
    const list = await A.call("GET", `/api/mcp-connections?account_id=${A.id}`);
    const ev = await A.call("GET", `/api/mcp-connections/${inst.body.data.id}/events`);
    for (const text of [dry.text, inst.text, list.text, ev.text]) {
      for (const enc of [
        tok,
        JSON.stringify(tok).slice(1, -1),
        encodeURIComponent(tok),
        Buffer.from(tok).toString("base64"),
        Buffer.from(tok).toString("hex"),
      ]) {
        expect(text).not.toContain(enc);
      }
    }
    await A.call("DELETE", `/api/mcp-connections/${inst.body.data.id}`);
  });

  // FINDING (low): inotify on the shared read-only files lets A watch which servers and programs B (and
  // Berth's start chain) run, in real time.
  it("A cannot watch B's activity through inotify on shared files", async () => {
    const watcher = `
import ctypes,os,struct,select,time
libc=ctypes.CDLL(None)
fd=libc.inotify_init1(0)
wd={}
for p in ["/opt/berth/node_modules/@modelcontextprotocol/sdk","/usr/bin"]:
  wd[libc.inotify_add_watch(fd,p.encode(),0x20)]=p
end=time.time()+9
seen=set()
while time.time()<end:
  r,_,_=select.select([fd],[],[],0.5)
  if not r: continue
  buf=os.read(fd,65536); i=0
  while i<len(buf):
    w,mask,c,ln=struct.unpack_from("iIII",buf,i); n=buf[i+16:i+16+ln].rstrip(b"\\0").decode(); i+=16+ln
    seen.add(wd.get(w,"?")+"/"+n)
print("\\n".join(sorted(seen)))`;
    const watch = run(A, ["python3", "-c", watcher], 20);
    await sleep(3000);
    await tool(B, victimConn, "uname -a; /usr/bin/base32 </dev/null");
    const out = (await watch).body.data.stdout as string;
    expect(out).not.toContain("/usr/bin/base32");
  }, 30_000);
});

// FINDING: file descriptors Berth inherits from whatever started it (supervisor pipes, socket-activation
// listeners, log files) are passed into every tenant's sandbox; a tenant reads a root-only file through one.
describe("inherited file descriptors", () => {
  let proc: ChildProcess | undefined;
  let dataDir = "";
  afterAll(async () => {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc?.once("exit", r));
      proc.kill("SIGTERM");
      await exited;
    }
  });

  it("a root-only file open in Berth's parent is not readable from a sandbox", async () => {
    const secretFile = path.join(os.tmpdir(), `hostile-rootonly-${process.pid}`);
    const hostSecret = `HOST-ONLY-${Math.random().toString(36).slice(2)}`;
    fs.writeFileSync(secretFile, hostSecret, { mode: 0o600 });
    const fd = fs.openSync(secretFile, "r");
    dataDir = tempDir("berth-test-fd-");
    const port = await freePort();
    const env = {
      ...process.env,
      NODE_ENV: "production",
      PORT: String(port),
      BERTH_DATA_DIR: dataDir,
      LOG_LEVEL: "warn",
    } as NodeJS.ProcessEnv;
    // The supervisor leaves fd 40 open (no close-on-exec), as systemd socket activation or a log pipe would.
    const stdio: Array<"ignore" | "pipe" | number> = ["ignore", "pipe", "pipe", ...Array(37).fill("ignore"), fd];
    proc = spawn(process.execPath, ["--import", "tsx", "server.ts"], { cwd: ROOT, env, stdio });
    fs.closeSync(fd);
    let out = "";
    proc.stdout?.on("data", (d) => (out += d));
    proc.stderr?.on("data", (d) => (out += d));
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      if (i > 450) throw new Error(`Berth not ready: ${out}`);
      if (
        await fetch(`${url}/api/health`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await sleep(200);
    }
    const { stdout } = await execFileP(
      process.execPath,
      [path.join(ROOT, "bin/berth.mjs"), "accounts", "create", "--name", "X", "--json"],
      { cwd: ROOT, env },
    );
    const x = JSON.parse(stdout) as { account_id: string; api_key: string };
    const r = await api(url, x.api_key)("POST", "/api/sandbox-runs", {
      account_id: x.account_id,
      command: [
        "python3",
        "-c",
        "import os\nfor fd in sorted(int(f) for f in os.listdir('/proc/self/fd')):\n  try:\n    os.lseek(fd,0,0); print(fd, os.read(fd,200))\n  except OSError: pass",
      ],
    });
    fs.rmSync(secretFile, { force: true });
    expect(r.status).toBe(200);
    expect(r.body.data.stdout, r.body.data.stdout).not.toContain(hostSecret);
  }, 120_000);
});
