import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { ProcessTransport } from "./process-transport";
import type {
  ExecResult,
  ExecSpec,
  Sandbox,
  SandboxExit,
  SandboxInfo,
  SandboxOwner,
  SandboxProvider,
  SandboxSpec,
} from "./provider";
import { resolvePreparedCommand } from "./start-command";

const STDERR_TAIL_BYTES = 4096;
const SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin";

/**
 * How a local sandbox is confined: `plainProcess` (no isolation, only when asked for) or
 * bubblewrap (bubblewrap.ts). It turns the server's argv into what Berth actually spawns.
 */
export interface Confinement {
  readonly name: "local" | "process";
  readonly isolated: boolean;
  describe(): Record<string, unknown>;
  /** Makes the sandbox's directories ready and says how to start `argv` inside it. */
  prepare(box: LocalBox): Promise<Confined>;
  /** Cleans up after a sandbox of an earlier run of Berth (beyond its dir, which Berth removes). */
  reap?(sandboxId: string): Promise<void>;
}

/** One local sandbox: `dir` holds its `home` (the server's writable home and cwd). */
export type LocalBox = { id: string; dir: string; home: string; owner: SandboxOwner; network: boolean };

export type Confined = {
  /** The command Berth spawns to run `argv` inside the sandbox. */
  command(argv: string[]): string[];
  /** The home directory as the server sees it. */
  home: string;
  /** Base environment the sandbox needs (PATH, TMPDIR… as seen inside); the server's env wins. */
  env?: Record<string, string>;
  uid?: number;
  gid?: number;
  /** Kills whatever of the sandbox is still running once its main process is gone (its cgroup). */
  kill?(): Promise<void>;
  /** Undoes what prepare did beyond the sandbox dir (network, cgroups…). */
  release(): Promise<void>;
};

type Live = { child: ChildProcessWithoutNullStreams; box: LocalBox; confined: Confined; exited: Promise<SandboxExit> };

/**
 * Local sandboxes: one confined process per server in its own process group, with its own home
 * under `<root>/<id>`, an environment built from scratch (nothing of Berth's own leaks in) and
 * an `owner.json` so leftovers of a crashed Berth can be listed and reaped.
 */
export class LocalProvider implements SandboxProvider {
  private readonly live = new Map<string, Live>();
  readonly outlivesBerth = false;

  constructor(
    private readonly root: string,
    private readonly confinement: Confinement,
  ) {
    fs.mkdirSync(root, { recursive: true, mode: 0o711 });
  }

  get name() {
    return this.confinement.name;
  }

  get isolated() {
    return this.confinement.isolated;
  }

  describe() {
    return { provider: this.name, ...this.confinement.describe() };
  }

  async create(spec: SandboxSpec): Promise<Sandbox> {
    if (!spec.argv.length) throw new Error("empty start command");
    const { box, confined } = await this.newBox(spec.owner, spec.network);
    const [command, ...args] = confined.command(resolvePreparedCommand(spec.argv));
    const child = spawn(command as string, args, {
      cwd: box.home,
      env: sandboxEnv(spec.env, confined.home, spec.network, confined.env) as NodeJS.ProcessEnv,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true, // own process group: kill() reaches every process of the sandbox
      uid: confined.uid,
      gid: confined.gid,
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
      // Nothing of the sandbox outlives its main process (which holds its stdio open otherwise).
      child.once("exit", () => void confined.kill?.().catch(() => {}));
      child.once("close", (code, signal) => {
        this.live.delete(box.id);
        // Settles once its files and cgroups are gone too, so kill() leaves nothing behind.
        void this.remove(box, confined).finally(() => resolve({ code, signal }));
      });
    });
    this.live.set(box.id, { child, box, confined, exited });
    return {
      id: box.id,
      startedAt: new Date(),
      transport: new ProcessTransport(child),
      exited,
      stderrTail: () => tail.trim(),
    };
  }

  /** Local sandboxes die with Berth, so there is never one to reattach to. */
  async attach() {
    return undefined;
  }

  async kill(sandboxId: string) {
    const sb = this.live.get(sandboxId);
    if (!sb) {
      // A leftover of an earlier run (its processes died with that Berth): remove its files.
      if (/^lcl-[0-9a-f-]{36}$/.test(sandboxId)) {
        await this.confinement.reap?.(sandboxId).catch(() => {});
        fs.rmSync(path.join(this.root, sandboxId), { recursive: true, force: true });
      }
      return;
    }
    signalGroup(sb.child, "SIGTERM");
    const forced = setTimeout(() => signalGroup(sb.child, "SIGKILL"), 2000);
    await sb.exited;
    clearTimeout(forced);
  }

  /** Local sandboxes have no lifetime of their own: the maintenance loop stops them at expiry. */
  async setTimeout() {}

  async list(installation: string): Promise<SandboxInfo[]> {
    return fs
      .readdirSync(this.root)
      .filter((id) => id.startsWith("lcl-"))
      .flatMap((id) => {
        try {
          const owner = JSON.parse(fs.readFileSync(path.join(this.root, id, "owner.json"), "utf8")) as SandboxOwner;
          return owner.installation === installation ? [{ id, owner }] : [];
        } catch {
          return [{ id, owner: {} }]; // half-made by a Berth that died: reap it
        }
      });
  }

  async exec(spec: ExecSpec): Promise<ExecResult> {
    const started = Date.now();
    const { box, confined } = await this.newBox(spec.owner, false);
    const [command, ...args] = confined.command(resolvePreparedCommand(spec.argv));
    const child = spawn(command as string, args, {
      cwd: box.home,
      env: sandboxEnv(spec.env ?? {}, confined.home, false, confined.env) as NodeJS.ProcessEnv,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
      uid: confined.uid,
      gid: confined.gid,
    });
    const out = capture(child.stdout, spec.maxOutputBytes);
    const err = capture(child.stderr, spec.maxOutputBytes);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup(child, "SIGKILL");
    }, spec.timeoutSeconds * 1000);
    child.stdin.on("error", () => {}); // a command that ignores its input closes the pipe early
    child.stdin.end(spec.stdin ?? "");
    const exit = await new Promise<number | null>((resolve) => {
      child.once("error", (e) => {
        err.push(`${e.message}\n`);
      });
      child.once("exit", () => void confined.kill?.().catch(() => {}));
      child.once("close", (code) => resolve(code));
    });
    clearTimeout(timer);
    signalGroup(child, "SIGKILL"); // anything it left running in the background
    await this.remove(box, confined);
    return {
      stdout: out.text(),
      stderr: err.text(),
      exit_code: exit,
      duration_ms: Date.now() - started,
      truncated: out.truncated || err.truncated,
      timed_out: timedOut,
    };
  }

  async shutdown() {
    await Promise.all([...this.live.keys()].map((id) => this.kill(id)));
  }

  private async newBox(owner: SandboxOwner, network: boolean) {
    const id = `lcl-${randomUUID()}`;
    const dir = path.join(this.root, id);
    const box: LocalBox = { id, dir, home: path.join(dir, "home"), owner, network };
    fs.mkdirSync(box.home, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(dir, "owner.json"), JSON.stringify(owner), { mode: 0o600 });
    try {
      return { box, confined: await this.confinement.prepare(box) };
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  private async remove(box: LocalBox, confined: Confined) {
    await confined.release().catch(() => {});
    try {
      fs.rmSync(box.dir, { recursive: true, force: true });
    } catch {
      // listed as a leftover and reaped later
    }
  }
}

/** No isolation: the server runs as Berth's user. Only with SANDBOX_PROVIDER=process. */
export const plainProcess: Confinement = {
  name: "process",
  isolated: false,
  describe: () => ({ isolated: false, protections: HAS_SETPRIV ? ["dies with Berth (pdeathsig)"] : [] }),
  async prepare(box) {
    fs.mkdirSync(path.join(box.home, "tmp"), { recursive: true, mode: 0o700 });
    return {
      // pdeathsig: should Berth die without cleaning up (SIGKILL), the server dies with it.
      command: (argv) => (HAS_SETPRIV ? ["setpriv", "--pdeathsig", "KILL", "--", ...argv] : argv),
      home: box.home,
      release: async () => {},
    };
  },
};

const HAS_SETPRIV = fs.existsSync("/usr/bin/setpriv");

function signalGroup(child: ChildProcessWithoutNullStreams, signal: NodeJS.Signals) {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function capture(stream: NodeJS.ReadableStream, max: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  stream.on("data", (d: Buffer) => {
    if (size >= max) {
      truncated = true;
      return;
    }
    const part = d.subarray(0, max - size);
    if (part.length < d.length) truncated = true;
    chunks.push(part);
    size += part.length;
  });
  return {
    push: (s: string) => chunks.push(Buffer.from(s)),
    text: () => Buffer.concat(chunks).toString("utf8"),
    get truncated() {
      return truncated;
    },
  };
}

/** The server's whole environment: a fixed base, the definition's env, the credentials. */
export function sandboxEnv(
  env: Record<string, string>,
  home: string,
  network: boolean,
  base: Record<string, string> = {},
): Record<string, string> {
  const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replaceAll("{home}", home)]));
  return {
    PATH: `${path.dirname(process.execPath)}:${SYSTEM_PATH}`,
    HOME: home,
    TMPDIR: path.join(home, "tmp"),
    LANG: "C.UTF-8",
    NODE_ENV: "production",
    npm_config_cache: path.join(home, ".npm"),
    npm_config_update_notifier: "false",
    // HTTPS may go through an intercepting proxy; loading the bundle costs Node ~30 ms at start,
    // so only servers with network get it.
    ...(network ? { NODE_EXTRA_CA_CERTS: "/etc/ssl/certs/ca-certificates.crt" } : {}),
    ...base,
    ...resolved,
  };
}
