import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { ProcessTransport } from "./process-transport";
import type { Sandbox, SandboxExit, SandboxProvider, SandboxSpec } from "./provider";

const STDERR_TAIL_BYTES = 4096;
const SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin";
const HAS_SETPRIV = fs.existsSync("/usr/bin/setpriv");

/**
 * Local sandboxes: one child process per server, in its own process group, with its own home
 * and tmp under `<dataDir>/sandboxes/<id>` and an environment built from scratch (nothing of
 * Berth's own environment leaks in). This first cut does not isolate the process from the host.
 */
export class LocalProcessProvider implements SandboxProvider {
  readonly name = "local";
  readonly isolated = false;
  private readonly live = new Map<
    string,
    { child: ChildProcessWithoutNullStreams; dir: string; exited: Promise<SandboxExit> }
  >();

  constructor(private readonly root: string) {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  describe() {
    return { provider: this.name, isolated: false, protections: HAS_SETPRIV ? ["dies with Berth (pdeathsig)"] : [] };
  }

  async create(spec: SandboxSpec): Promise<Sandbox> {
    const id = `lcl-${randomUUID()}`;
    const dir = path.join(this.root, id);
    const home = path.join(dir, "home");
    fs.mkdirSync(path.join(home, "tmp"), { recursive: true, mode: 0o700 });
    // pdeathsig: should Berth die without cleaning up (SIGKILL), the server dies with it.
    const [command, ...args] = HAS_SETPRIV ? ["setpriv", "--pdeathsig", "KILL", "--", ...spec.argv] : spec.argv;
    if (!command || !spec.argv.length) throw new Error("empty start command");
    const child = spawn(command, args, {
      cwd: home,
      env: sandboxEnv(spec.env, home) as NodeJS.ProcessEnv,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true, // own process group: kill() reaches npx's grandchildren too
    });
    let tail = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      tail = (tail + d).slice(-STDERR_TAIL_BYTES);
    });
    const exited = new Promise<SandboxExit>((resolve) => {
      child.once("error", (err) => {
        tail += `\n${err.message}`;
      });
      child.once("close", (code, signal) => {
        this.live.delete(id);
        fs.rm(dir, { recursive: true, force: true }, () => {});
        resolve({ code, signal });
      });
    });
    this.live.set(id, { child, dir, exited });
    return { id, startedAt: new Date(), transport: new ProcessTransport(child), exited, stderrTail: () => tail.trim() };
  }

  async kill(sandboxId: string) {
    const sb = this.live.get(sandboxId);
    if (!sb) return;
    signalGroup(sb.child, "SIGTERM");
    const forced = setTimeout(() => signalGroup(sb.child, "SIGKILL"), 2000);
    await sb.exited;
    clearTimeout(forced);
  }

  /** Local sandboxes have no lifetime of their own: the maintenance loop stops them at expiry. */
  async setTimeout() {}

  async killAll() {
    await Promise.all([...this.live.keys()].map((id) => this.kill(id)));
  }
}

function signalGroup(child: ChildProcessWithoutNullStreams, signal: NodeJS.Signals) {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** The server's whole environment: a fixed base, the definition's env, the credentials. */
export function sandboxEnv(env: Record<string, string>, home: string): Record<string, string> {
  const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replaceAll("{home}", home)]));
  return {
    PATH: `${path.dirname(process.execPath)}:${SYSTEM_PATH}`,
    HOME: home,
    TMPDIR: path.join(home, "tmp"),
    LANG: "C.UTF-8",
    NODE_ENV: "production",
    npm_config_cache: path.join(home, ".npm"),
    npm_config_update_notifier: "false",
    NODE_EXTRA_CA_CERTS: "/etc/ssl/certs/ca-certificates.crt",
    ...resolved,
  };
}
