import { type ChildProcess, execFile, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { tempDir } from "./temp-dirs";

const ROOT = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

export type BerthServer = {
  url: string;
  dataDir: string;
  proc: ChildProcess;
  output(): string;
  cli(args: string[]): Promise<unknown>;
  stop(signal?: NodeJS.Signals): Promise<void>;
};

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Starts the real Berth server (production build, tsx) on a fresh data dir and waits until healthy. */
export async function startBerth(env: Record<string, string> = {}): Promise<BerthServer> {
  const dataDir = env.BERTH_DATA_DIR ?? tempDir("berth-test-");
  const port = await freePort();
  const fullEnv = {
    ...process.env,
    NODE_ENV: "production",
    PORT: String(port),
    BERTH_DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
    ...env,
  } as NodeJS.ProcessEnv;
  const proc = spawn(process.execPath, ["--import", "tsx", "server.ts"], {
    cwd: ROOT,
    env: fullEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const url = `http://127.0.0.1:${port}`;
  const { output, stop } = await waitUntilServing(proc, `${url}/api/health`, "Berth");
  return {
    url,
    dataDir,
    proc,
    output,
    async cli(args) {
      const { stdout } = await run(process.execPath, [path.join(ROOT, "bin/berth.mjs"), ...args, "--json"], {
        cwd: ROOT,
        env: fullEnv,
      });
      return JSON.parse(stdout);
    },
    stop,
  };
}

/**
 * Collects a started server's output and waits until `healthUrl` answers (90 s at most); throws
 * with the output if it exits or never answers. `stop` signals it and waits for its exit.
 */
export async function waitUntilServing(proc: ChildProcess, healthUrl: string, what: string) {
  let out = "";
  proc.stdout?.on("data", (d) => {
    out += d;
  });
  proc.stderr?.on("data", (d) => {
    out += d;
  });
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${what} exited (${proc.exitCode}) before it was ready:\n${out}`);
    if (Date.now() > deadline) throw new Error(`${what} was not ready in 90 s:\n${out}`);
    const ok = await fetch(healthUrl).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  return {
    output: () => out,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}

/** A fetch that speaks JSON to the API with an optional API key. */
export function api(base: string, key?: string) {
  return async (method: string, p: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${p}`, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, body: json, text, headers: res.headers };
  };
}

/** A new account (through the CLI): its id, API key and a REST caller with that key. */
export async function newAccount(berth: BerthServer, name: string) {
  const account = (await berth.cli(["accounts", "create", "--name", name])) as { account_id: string; api_key: string };
  return { accountId: account.account_id, key: account.api_key, call: api(berth.url, account.api_key) };
}

/**
 * A new account (through the CLI) with one running `memory` connection: the fixture of suites
 * that need a live server to aim at. Throws, with Berth's answer, if the install did not run.
 */
export async function accountWithMemory(berth: BerthServer, name: string) {
  const account = (await berth.cli(["accounts", "create", "--name", name])) as { account_id: string; api_key: string };
  const res = await api(berth.url, account.api_key)("POST", "/api/mcp-connections/install", {
    account_id: account.account_id,
    server_id: "memory",
  });
  if (res.status !== 201 || res.body.data.status !== "running") throw new Error(`memory did not install: ${res.text}`);
  return { account, connection: res.body.data as { id: string; mcp_url: string } };
}

/** Pids of processes whose working directory is inside `dir` (a local sandbox's home). */
export function processesIn(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readlinkSync(`/proc/${entry}/cwd`).startsWith(dir)) pids.push(Number(entry));
    } catch {
      // gone or not ours
    }
  }
  return pids;
}

/** The processes below these (their children, theirs…), these included. */
export function descendantsOf(roots: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {}
  }
  const out: number[] = [];
  for (const queue = [...roots]; queue.length; ) {
    const pid = queue.shift() as number;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** A raw MCP `initialize` POST to a connection's endpoint, for asserting HTTP-level answers. */
export function mcpInitialize(call: ReturnType<typeof api>, connectionId: string) {
  const body = {
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
  };
  return call("POST", `/api/mcp/${connectionId}`, body, { accept: "application/json, text/event-stream" });
}
