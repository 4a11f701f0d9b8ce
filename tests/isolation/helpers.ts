import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { CATALOGUE } from "@/lib/catalogue/catalogue";
import { BubblewrapConfinement, type BubblewrapOptions } from "@/lib/sandbox/bubblewrap";
import { type HostReport, probeHost } from "@/lib/sandbox/host-probe";
import { LocalProvider, type LocalProviderOptions } from "@/lib/sandbox/local";
import { prepareServerPackages } from "@/lib/sandbox/prepared-packages";
import type { Sandbox, SandboxOwner } from "@/lib/sandbox/provider";
import { NodeSandboxRuntime } from "@/lib/sandbox/runtime";
import { tempDir } from "../support/temp-dirs";

export const PROJECT = path.resolve(import.meta.dirname, "../..");

type Feature =
  | "bwrap"
  | "setpriv"
  | "bridge"
  | "disableUserns"
  | "seccomp"
  | "cgroups"
  | "tun"
  | "pasta"
  | "nft"
  | "network";

/**
 * The host report, after making sure the features a suite needs are there. A missing one fails
 * the suite loudly with the reason (`npm test` installs the Debian packages; the isolation
 * suites need root, as Berth does for per-account uids).
 */
export function requireHost(...features: Feature[]): HostReport {
  if (process.getuid?.() !== 0) {
    throw new Error("The isolation tests need root (Berth gives each account its own uid): run them as root.");
  }
  const report = probeHost();
  const missing = features.filter((f) => !report[f].ok).map((f) => `${f}: ${report[f].detail}`);
  if (missing.length) {
    throw new Error(
      `This host lacks what the isolation tests check:\n  ${missing.join("\n  ")}\n` +
        "Install: apt-get install bubblewrap passt nftables util-linux",
    );
  }
  return report;
}

/**
 * A data dir laid out like Berth's (0700, keys 0600, pgdata 0700, a live Unix socket), with the
 * sandboxes under it, as the real server has them.
 */
export async function fakeDataDir() {
  const dir = tempDir("berth-isolation-");
  fs.chmodSync(dir, 0o700);
  fs.writeFileSync(path.join(dir, "encryption-keys"), "k1:SECRET-ENCRYPTION-KEY\n", { mode: 0o600 });
  fs.writeFileSync(path.join(dir, "session-secret"), "SECRET-SESSION\n", { mode: 0o600 });
  fs.mkdirSync(path.join(dir, "pgdata"), { mode: 0o700 });
  fs.writeFileSync(path.join(dir, "pgdata", "PG_VERSION"), "17\n", { mode: 0o600 });
  const sock = path.join(dir, "cli.sock");
  const hits = { count: 0 };
  const server = net.createServer((c) => {
    hits.count++;
    c.on("error", () => {});
    c.end("hello from the data dir\n");
  });
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  fs.chmodSync(sock, 0o666); // as permissive as a socket gets: only the mount namespace stops it
  return {
    dir,
    sock,
    hits,
    async cleanup() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A suite's sandboxes: before it, the host checked for `features`, a data dir like Berth's, a
 * provider on it and a runtime over that; after it, all gone. Read `data`, `provider` and
 * `runtime` inside the suite's tests.
 */
export function useSandboxes(features: Feature[], opts: Partial<BubblewrapOptions> = {}) {
  const suite = {} as {
    data: Awaited<ReturnType<typeof fakeDataDir>>;
    provider: LocalProvider;
    runtime: NodeSandboxRuntime;
  };
  beforeAll(async () => {
    requireHost(...features);
    suite.data = await fakeDataDir();
    suite.provider = bubblewrapProvider(suite.data.dir, opts);
    suite.runtime = new NodeSandboxRuntime(suite.provider, "isolation-tests");
  });
  afterAll(async () => {
    await suite.runtime?.shutdown(); // and its provider's sandboxes
    await suite.data?.cleanup();
  });
  return suite;
}

/** A provider as Berth makes one: the catalogue's packages prepared in the data dir, nothing else of node_modules. */
export function bubblewrapProvider(
  dataDir: string,
  opts: Partial<BubblewrapOptions> = {},
  providerOptions: LocalProviderOptions = {},
) {
  const preparedRoot = opts.preparedRoot ?? prepareServerPackages(dataDir, CATALOGUE);
  return new LocalProvider(
    path.join(dataDir, "sandboxes"),
    new BubblewrapConfinement(probeHost(), { ...opts, preparedRoot }),
    providerOptions,
  );
}

export const owner = (accountId: string): SandboxOwner => ({ installation: "isolation-tests", accountId });

/**
 * Helpers every attacker script starts with: each probe answers what happened ("READ",
 * "CONNECTED", an errno code…), never throws, and network probes give up after 1.5 s.
 */
const PRELUDE = `
const fs = require("fs"), net = require("net"), cp = require("child_process");
const code = (e) => e.code || String(e.message).slice(0, 60);
const read = (p) => { try { fs.readFileSync(p); return "READ"; } catch (e) { return code(e); } };
const list = (p) => { try { return "LISTED:" + fs.readdirSync(p).join(","); } catch (e) { return code(e); } };
const write = (p) => { try { fs.writeFileSync(p, "x"); return "WROTE"; } catch (e) { return code(e); } };
const connect = (opts) => new Promise((resolve) => {
  const s = net.connect(opts);
  const t = setTimeout(() => { s.destroy(); resolve("TIMEOUT"); }, 1500);
  s.once("connect", () => { clearTimeout(t); s.destroy(); resolve("CONNECTED"); });
  s.once("error", (e) => { clearTimeout(t); resolve(code(e)); });
});
const run = (cmd, args) => {
  const r = cp.spawnSync(cmd, args, { encoding: "utf8", timeout: 5000 });
  return { status: r.status, signal: r.signal, out: ((r.stdout || "") + (r.stderr || "") + (r.error ? r.error.message : "")).trim().slice(0, 2000) };
};
const input = JSON.parse(process.env.ATTACK_INPUT || "{}");
`;

/** Runs `body` (which must `return` a JSON-able result) as a one-off command in a fresh sandbox. */
export async function attack(
  provider: LocalProvider,
  accountId: string,
  body: string,
  input: unknown = {},
): Promise<any> {
  const script = `${PRELUDE}\n(async () => { ${body} })().then((r) => process.stdout.write(JSON.stringify(r)));`;
  const r = await provider.exec({
    argv: ["node", "-e", script],
    env: { ATTACK_INPUT: JSON.stringify(input) },
    timeoutSeconds: 30,
    maxOutputBytes: 1 << 20,
    owner: owner(accountId),
  });
  if (r.exit_code !== 0) throw new Error(`attacker script failed (${r.exit_code}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/**
 * The same through `create`, as a long-running server would be started (with or without
 * network). The result comes back on stderr (create's stdout is the MCP channel).
 */
export async function attackAsServer(
  provider: LocalProvider,
  accountId: string,
  body: string,
  input: unknown = {},
  network = false,
): Promise<any> {
  const script = `${PRELUDE}\n(async () => { ${body} })().then((r) => process.stderr.write("RESULT " + JSON.stringify(r) + "\\n"));`;
  const sandbox = await provider.create({
    argv: ["node", "-e", script],
    env: { ATTACK_INPUT: JSON.stringify(input) },
    network,
    timeoutSeconds: 60,
    owner: owner(accountId),
  });
  const exit = await withTimeout(sandbox.exited, 30_000, "the attacker server to finish");
  const line = sandbox
    .stderrTail()
    .split("\n")
    .find((l) => l.startsWith("RESULT "));
  if (!line) throw new Error(`attacker server gave no result (${JSON.stringify(exit)}): ${sandbox.stderrTail()}`);
  return JSON.parse(line.slice("RESULT ".length));
}

/** A long-running sandbox whose processes carry `marker` in their command line. */
export async function sleeper(
  provider: LocalProvider,
  accountId: string,
  marker: string,
  setup = "",
  network = false,
): Promise<Sandbox> {
  return provider.create({
    argv: ["node", "-e", `${setup};setInterval(() => {}, 1000)`, marker],
    env: {},
    network,
    timeoutSeconds: 60,
    owner: owner(accountId),
  });
}

/** Live (not zombie) host processes whose command line contains `text`. */
export function hostProcessesWith(text: string): { pid: number; uid: number; capEff: string; cmd: string }[] {
  const found: { pid: number; uid: number; capEff: string; cmd: string }[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
      if (!cmd.includes(text)) continue;
      const status = fs.readFileSync(`/proc/${entry}/status`, "utf8");
      if (/^State:\s+Z/m.test(status)) continue;
      found.push({
        pid: Number(entry),
        uid: Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]),
        capEff: /^CapEff:\s+(\w+)/m.exec(status)?.[1] ?? "",
        cmd,
      });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** The sandboxed program itself (not the bwrap processes around it) whose command line holds `text`. */
export function serverProcess(text: string, sandboxId?: string) {
  return hostProcessesWith(text).find((p) => !p.cmd.includes("bwrap") && (!sandboxId || inSandbox(p.pid, sandboxId)));
}

/** Whether a process is in sandbox `sandboxId`'s cgroup (other suites run the same servers meanwhile). */
function inSandbox(pid: number, sandboxId: string) {
  try {
    return fs.readFileSync(`/proc/${pid}/cgroup`, "utf8").includes(`/${sandboxId}\n`);
  } catch {
    return false;
  }
}

/**
 * A sandboxed process's home, seen from the host: a tmpfs of the sandbox's own mount namespace,
 * reachable only through the process's root (root only).
 */
export function homeOf(pid: number) {
  return `/proc/${pid}/root/home/sandbox`;
}

export async function waitFor<T>(what: string, fn: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Errors that mean "not there / not allowed"; anything else (READ, LISTED…) is a breach. */
export const DENIED = ["ENOENT", "EACCES", "EPERM", "EROFS", "ENOTDIR"];
