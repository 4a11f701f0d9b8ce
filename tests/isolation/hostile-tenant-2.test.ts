// Hostile tenant, round 2: a second reviewer, briefed only as a hostile tenant, attacked the
// hardened version black box; its attacks, kept as tests, each asserting that the attack FAILS.
// The first two succeeded against that version and were fixed after it (a crashed connection
// keeps its slot; the start chain's bash reads no dotfiles). Not kept: a server printing its own
// secret in encodings the scrubber does not know (base32, ROT13, spaced out), which
// docs/SECURITY.md says cannot be promised.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type BerthServer, startBerth } from "../support/berth-server";
import { tempDir } from "../support/temp-dirs";

// A tiny stdio MCP server (python) with one tool, `sh`, that runs a shell command in its sandbox.
// With MODE=fail in its environment it exits at start (to park a connection in `failed`).
const MCP_SH = String.raw`import os, sys, json, subprocess
if os.environ.get("MODE") == "fail":
    sys.stderr.write("exiting on purpose\n"); sys.exit(1)
def send(o):
    sys.stdout.write(json.dumps(o) + "\n"); sys.stdout.flush()
for line in sys.stdin:
    try: m = json.loads(line)
    except Exception: continue
    mid = m.get("id"); meth = m.get("method")
    if meth == "initialize":
        send({"jsonrpc": "2.0", "id": mid, "result": {"protocolVersion": m["params"].get("protocolVersion", "2025-06-18"), "capabilities": {"tools": {}}, "serverInfo": {"name": "sh", "version": "1"}}})
    elif meth == "tools/list":
        send({"jsonrpc": "2.0", "id": mid, "result": {"tools": [{"name": "sh", "description": "run", "inputSchema": {"type": "object", "properties": {"cmd": {"type": "string"}}}}]}})
    elif meth == "tools/call":
        p = subprocess.run(["/bin/sh", "-c", m["params"]["arguments"]["cmd"]], capture_output=True, timeout=20)
        send({"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": (p.stdout + p.stderr).decode(errors="replace")}]}})
    elif mid is not None:
        send({"jsonrpc": "2.0", "id": mid, "result": {}})
`;

const PY = `/usr/bin/python3 -c "exec(__import__('os').environ['S'])"`;

const CAP = 2;
let berth: BerthServer;
let tmp: string;
let A: { account_id: string; api_key: string };
let B: { account_id: string; api_key: string };

async function addServer(def: Record<string, unknown>) {
  const file = path.join(tmp, `${def.slug}.json`);
  fs.writeFileSync(file, JSON.stringify(def));
  await berth.cli(["servers", "add", "--file", file]);
}

/** Pids of every process below the Berth process (its sandboxes, their start chains, pasta). */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length) {
    for (const c of children.get(todo.pop() as number) ?? []) {
      out.push(c);
      todo.push(c);
    }
  }
  return out;
}
const sandboxServers = () =>
  descendants(berth.proc.pid as number).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").startsWith("/usr/bin/python3\0-c\0exec(");
    } catch {
      return false;
    }
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  tmp = tempDir("rt2-hostile-");
  berth = await startBerth({
    BERTH_ACCOUNT_MAX_SANDBOXES: String(CAP),
    // a comfortable window between a crash and its automatic restart
    BERTH_RESTART_BACKOFF_MS: "3000",
    BERTH_MAINTENANCE_INTERVAL_MS: "1000",
  });
  A = (await berth.cli(["accounts", "create", "--name", "rt2-A"])) as typeof A;
  B = (await berth.cli(["accounts", "create", "--name", "rt2-B"])) as typeof B;
  const schema = { type: "object", properties: { MODE: { type: "string" } } };
  await addServer({
    slug: "rt2-sh",
    title: "rt2 sh",
    start_command: PY,
    env: { S: MCP_SH },
    credential_schema: schema,
  });
}, 120_000);

afterAll(async () => {
  await berth?.stop();
  if (berth) fs.rmSync(berth.dataDir, { recursive: true, force: true });
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("hostile tenant, round 2", () => {
  // Attacks BERTH_ACCOUNT_MAX_SANDBOXES: crash your running servers, fill the freed slots with new
  // deploys, and let the maintenance loop's crash restart bring the crashed ones back on top (cap+N sandboxes).
  it("the per-account sandbox cap holds across crash restarts", { timeout: 45_000 }, async () => {
    const a = api(berth.url, A.api_key);
    const install = async (mode: string) => {
      const r = await a("POST", "/api/mcp-connections/install", {
        account_id: A.account_id,
        server_id: "rt2-sh",
        credentials: { MODE: mode },
        keep_alive: mode === "ok",
      });
      expect(r.status, r.text).toBe(201);
      return r.body.data.id as string;
    };
    // park two connections in `failed` (they hold no slot), then fill the cap with two running ones
    const parked = [await install("fail"), await install("fail")];
    const running = [await install("ok"), await install("ok")];
    for (const id of running) {
      const deadline = Date.now() + 15_000;
      while ((await a("GET", `/api/mcp-connections/${id}`)).body.data.status !== "running" && Date.now() < deadline)
        await sleep(200);
    }
    // crash both running servers (the tool kills its own server process)
    await Promise.all(
      running.map((id) =>
        a("POST", `/api/mcp-connections/${id}/tools/call`, { name: "sh", arguments: { cmd: "kill -KILL $PPID" } }),
      ),
    );
    await sleep(300);
    // take the two freed slots with the parked connections
    for (const id of parked) await a("PUT", `/api/mcp-connections/${id}/credentials`, { credentials: { MODE: "ok" } });
    // now let the maintenance loop restart the crashed ones
    let peak = 0;
    const until = Date.now() + 12_000;
    while (Date.now() < until) {
      const list = await a("GET", `/api/mcp-connections?account_id=${A.account_id}`);
      const live = list.body.data.filter((c: any) => c.status === "running" || c.status === "deploying").length;
      peak = Math.max(peak, live, sandboxServers().length);
      await sleep(500);
    }
    for (const id of [...running, ...parked]) await a("DELETE", `/api/mcp-connections/${id}`);
    expect(peak).toBeLessThanOrEqual(CAP);
  });

  // Attacks the start chain: the root bash that prepares each sandbox must not run the operator's dotfiles
  // (bash sources ~/.bashrc when its stdin is a socket) nor leak their output into the tenant's stderr.
  it("a sandbox's stderr carries nothing from the host's start chain", { timeout: 30_000 }, async () => {
    const a = api(berth.url, A.api_key);
    const r = await a("POST", "/api/sandbox-runs", { account_id: A.account_id, command: ["/usr/bin/true"] });
    expect(r.status, r.text).toBe(200);
    expect(r.body.data.exit_code).toBe(0);
    expect(r.body.data.stderr).not.toMatch(/bashrc|\.profile|\.cargo|pyenv/);
    expect(r.body.data.stderr).toBe("");
  });

  // Attacks the seccomp filter through other syscall ABIs: i386 `int 0x80` and x32 numbers for keyctl,
  // add_key, io_uring_setup, bpf, perf_event_open, unshare, ptrace, userfaultfd, mount, setns.
  it("blocked syscalls stay blocked through the i386 and x32 ABIs", { timeout: 45_000 }, async () => {
    const a = api(berth.url, A.api_key);
    const prog = String.raw`#include <stdio.h>
#include <errno.h>
#include <unistd.h>
#include <sys/wait.h>
#include <sys/syscall.h>
static long i386sc(long nr,long a){ long r; __asm__ volatile("int $0x80":"=a"(r):"a"(nr),"b"(a),"c"(0),"d"(0):"memory"); return r;}
int main(void){
  long t[][3]={{250,288,-4},{248,286,0},{425,425,0},{321,357,0},{298,336,0},{272,310,0x10000000},{101,26,0},{323,374,0},{165,21,0},{308,346,0}};
  for(unsigned i=0;i<sizeof t/sizeof t[0];i++) for(int m=1;m<3;m++){
    pid_t p=fork(); if(!p){ long r = m==1 ? i386sc(t[i][1],t[i][2]) : syscall(t[i][0]|0x40000000,t[i][2],0,0,0,0);
      if(r>=0) { printf("ALLOWED %ld abi %d\n",t[i][0],m); fflush(stdout); } _exit(0);}
    int st; waitpid(p,&st,0);
  }
  printf("done\n"); return 0;
}`;
    const r = await a("POST", "/api/sandbox-runs", {
      account_id: A.account_id,
      command: ["/bin/sh", "-c", 'cd /tmp && printf "%s" "$0" > s.c && gcc -o s s.c && ./s', prog],
      timeout: 40,
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body.data.stdout).toContain("done");
    expect(r.body.data.stdout).not.toContain("ALLOWED");
  });

  // Attacks delete racing the crash restart: crash a keep-alive server and delete the connection at several
  // delays around the restart backoff; no sandbox may outlive its deleted connection.
  it("deleting a crashed connection leaves no sandbox behind", { timeout: 45_000 }, async () => {
    const a = api(berth.url, B.api_key);
    const ids: string[] = [];
    for (let i = 0; i < CAP; i++) {
      const r = await a("POST", "/api/mcp-connections/install", {
        account_id: B.account_id,
        server_id: "rt2-sh",
        credentials: { MODE: "ok" },
      });
      expect(r.status, r.text).toBe(201);
      ids.push(r.body.data.id);
    }
    await sleep(1500);
    await Promise.all(
      ids.map(async (id, i) => {
        await a("POST", `/api/mcp-connections/${id}/tools/call`, {
          name: "sh",
          arguments: { cmd: "kill -KILL $PPID" },
        });
        await sleep(i === 0 ? 0 : 3000); // before, and at, the restart backoff
        await a("DELETE", `/api/mcp-connections/${id}`);
      }),
    );
    await sleep(6000);
    for (const id of ids) expect((await a("GET", `/api/mcp-connections/${id}`)).status).toBe(404);
    expect(sandboxServers()).toEqual([]);
  });
});
