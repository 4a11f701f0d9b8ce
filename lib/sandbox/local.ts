import { type ChildProcessWithoutNullStreams, execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { HttpEndpoint } from "@/lib/core/runtime";
import { findBinary } from "./host-probe";
import { OutputTail } from "./output-tail";
import { throttle } from "./output-throttle";
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
import { restoreStage, SleepingHomes, TAR_CREATE, TAR_EXTRACT } from "./sleeping-homes";
import { bridgedCommand, HTTP_BRIDGE, PROJECT_MODULES, resolvePreparedCommand } from "./start-command";

const SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin";
/** How often live sandboxes are checked for being stuck (Confined.stuck). */
const WATCH_MS = 2000;

/**
 * How a local sandbox is confined: `plainProcess` (no isolation, only when asked for) or
 * bubblewrap (bubblewrap.ts). It turns the server's argv into what Berth actually spawns.
 */
export interface Confinement {
  readonly name: "local" | "process";
  readonly isolated: boolean;
  /** Where `npx -y pkg@version` start commands find their prepared package (start-command.ts). */
  readonly preparedRoot: string;
  /** The HTTP bridge (http-bridge.mjs) as Berth names it: servers that serve HTTP start under it. */
  readonly httpBridge: string;
  describe(): Record<string, unknown>;
  /** Makes the sandbox's directories ready and says how to start a server inside it. */
  prepare(box: LocalBox): Promise<Confined>;
  /** Cleans up after a sandbox of an earlier run of Berth (beyond its dir, which Berth removes). */
  reap?(sandboxId: string): Promise<void>;
  /**
   * The most a sleeping home's archive may take on Berth's disk: the home's size cap, plus 1 KiB
   * for each file it may hold (tar's header and padding; sleeping-homes.ts compresses the rest).
   */
  readonly archiveBytes: number;
  /** Whether a sleeping sandbox's home is kept (archiveHome, and launch's restore, work). */
  readonly keepsHomes: boolean;
}

/** One local sandbox: `dir` on the host holds what the confinement needs (and owner.json). */
export type LocalBox = { id: string; dir: string; owner: SandboxOwner; network: boolean };

export type Confined = {
  /**
   * What Berth spawns to run `argv` with the whole environment `env` inside the sandbox; with
   * `restore`, the chain first unpacks the archive it gets on the fd after the inputs into the
   * home and writes tar's exit status to the next fd (sleeping-homes.ts, restoreStage).
   */
  launch(argv: string[], env: Record<string, string>, restore?: boolean): Launch;
  /**
   * tar writing the home's archive on its stdout, with the sandbox's own confinement, while the
   * chain started as process `pid` lives; `done` once it ran. Undefined: homes are not kept.
   */
  archiveHome?(pid: number): { argv: string[]; env: Record<string, string>; done(): void };
  /** The home directory as the server sees it. */
  home: string;
  /** Base environment the sandbox needs (PATH, TMPDIR… as seen inside); the server's env wins. */
  env?: Record<string, string>;
  /** Kills whatever of the sandbox is still running once its main process is gone (its cgroup). */
  kill?(): Promise<void>;
  /**
   * Why the sandbox whose chain started as process `pid` can never end by itself, though its
   * processes live (its init stopped, say); undefined while it is well.
   */
  stuck?(pid: number): string | undefined;
  /** Undoes what prepare did beyond the sandbox dir (network, cgroups…). */
  release(): Promise<void>;
};

export type Launch = {
  argv: string[];
  /** The environment of the spawned process itself (not necessarily the server's). */
  env: Record<string, string>;
  cwd: string;
  /** Written to the spawned process's file descriptors 3, 4…, then closed. */
  inputs: Buffer[];
};

export type LocalProviderOptions = {
  /** How fast a server's stdout and stderr are read, bytes a second each; unset: unlimited. */
  outputBytesPerSecond?: number;
  /** Something of a sandbox could not be removed (a bug or a host problem: said loudly). */
  onLeftover?: (dir: string, reason: string) => void;
  /** A sleeping sandbox's home could not be kept: the connection wakes with an empty one (said loudly). */
  onHomeLost?: (connectionId: string, reason: string) => void;
  /** What one account's kept sleeping homes may take on Berth's disk; past it its idle sandboxes stay awake. */
  sleepingHomeBytesPerAccount?: number;
};

type Live = {
  child: ChildProcessWithoutNullStreams;
  box: LocalBox;
  confined: Confined;
  exited: Promise<SandboxExit>;
  /** Ends the sandbox from outside, saying why on its stderr. */
  end(reason: string): void;
};

/**
 * Local sandboxes: one confined process per server in its own process group, with its own dir
 * under `<root>/<id>`, an environment built from scratch (nothing of Berth's own leaks in) and
 * an `owner.json` so leftovers of a crashed Berth can be listed and reaped.
 */
export class LocalProvider implements SandboxProvider {
  private readonly live = new Map<string, Live>();
  private readonly homes: SleepingHomes;
  private watcher: ReturnType<typeof setInterval> | undefined;
  readonly outlivesBerth = false;

  constructor(
    private readonly root: string,
    private readonly confinement: Confinement,
    private readonly options: LocalProviderOptions = {},
  ) {
    fs.mkdirSync(root, { recursive: true, mode: 0o711 });
    // In the sandboxes' dir (0711: entries must be known to be reached), never listed as one.
    this.homes = new SleepingHomes(path.join(root, "sleeping-homes"));
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
    const archive = this.confinement.keepsHomes ? this.homes.open(spec.owner.connectionId) : undefined;
    let made: Awaited<ReturnType<typeof this.newBox>>;
    try {
      made = await this.newBox(spec.owner, spec.network);
    } catch (err) {
      if (archive !== undefined) fs.closeSync(archive);
      throw err;
    }
    const { box, confined } = made;
    const env = sandboxEnv(spec.env, confined.home, spec.network, confined.env);
    const child = this.spawnIn(confined, spec.argv, env, spec.http, archive);
    const tail = new OutputTail();
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => tail.push(d));
    this.limitRate(child.stderr);
    const end = (reason: string) => {
      tail.push(`\n[berth] ${reason}: the sandbox was ended.\n`);
      signalGroup(child, "SIGKILL");
      void confined.kill?.().catch(() => {});
    };
    const exited = new Promise<SandboxExit>((resolve) => {
      child.once("error", (err) => tail.push(`\n${err.message}`));
      // Nothing of the sandbox outlives its main process (which holds its stdio open otherwise).
      child.once("exit", () => void confined.kill?.().catch(() => {}));
      child.once("close", (code, signal) => {
        this.live.delete(box.id);
        // Settles once its files and cgroups are gone too, so kill() leaves nothing behind.
        void this.remove(box, confined).finally(() => resolve({ code, signal }));
      });
    });
    this.live.set(box.id, { child, box, confined, exited, end });
    this.watch();
    if (archive !== undefined) await this.restored(child, box, exited, tail);
    return {
      id: box.id,
      startedAt: new Date(),
      transport: new ProcessTransport(child, { maxBytesPerSecond: this.options.outputBytesPerSecond }),
      exited,
      stderrTail: () => tail.text(),
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
        await this.removeDir(path.join(this.root, sandboxId));
      }
      return;
    }
    signalGroup(sb.child, "SIGTERM");
    const forced = setTimeout(() => signalGroup(sb.child, "SIGKILL"), 2000);
    await sb.exited;
    clearTimeout(forced);
  }

  /**
   * Stops the sandbox, its home kept first for its connection's next sandbox. A home that
   * cannot be kept is reported, and the sandbox stopped all the same (the error says why).
   */
  async sleep(sandboxId: string): Promise<"stopped"> {
    const sb = this.live.get(sandboxId);
    const connectionId = sb?.box.owner.connectionId;
    let tool: ReturnType<NonNullable<Confined["archiveHome"]>> | undefined;
    try {
      tool = sb?.child.pid ? sb.confined.archiveHome?.(sb.child.pid) : undefined;
      if (tool && connectionId)
        await this.homes.save(
          connectionId,
          tool.argv,
          tool.env,
          this.confinement.archiveBytes,
          sb?.box.owner.accountId,
        );
    } catch (err) {
      const reason = (err as Error).message;
      (this.options.onHomeLost ?? ((c, r) => console.error(`the home of ${c} was not kept: ${r}`)))(
        connectionId as string,
        reason,
      );
      throw new Error(`the sandbox's home could not be kept: ${reason}`);
    } finally {
      tool?.done();
      await this.kill(sandboxId);
    }
    return "stopped";
  }

  async forget(connectionId: string) {
    this.homes.drop(connectionId);
  }

  /**
   * Whether the sandbox may go to sleep: its home is kept on Berth's disk, so not when the disk is
   * nearly full, nor when its account's kept homes already take `sleepingHomeBytesPerAccount`
   * (then it stays running, within its account's sandbox cap): one account's sleeping homes never
   * leave another's without room.
   */
  sleepable(sandboxId: string) {
    const sb = this.live.get(sandboxId);
    if (!sb || !this.confinement.keepsHomes) return true;
    const max = this.options.sleepingHomeBytesPerAccount ?? Number.POSITIVE_INFINITY;
    return this.homes.bytesOf(sb.box.owner.accountId) < max && this.homes.roomFor(this.confinement.archiveBytes);
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
    const child = this.spawnIn(confined, spec.argv, sandboxEnv(spec.env ?? {}, confined.home, false, confined.env));
    const out = capture(child.stdout, spec.maxOutputBytes);
    const err = capture(child.stderr, spec.maxOutputBytes);
    this.limitRate(child.stdout);
    this.limitRate(child.stderr);
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
    const box: LocalBox = { id, dir, owner, network };
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.writeFileSync(path.join(dir, "owner.json"), JSON.stringify(owner), { mode: 0o600 });
    try {
      return { box, confined: await this.confinement.prepare(box) };
    } catch (err) {
      await this.removeDir(dir);
      throw err;
    }
  }

  /**
   * Starts `argv` in the sandbox: the prepared start command, its environment, its inputs; under
   * the HTTP bridge for a server that serves Streamable HTTP itself (reached only from inside).
   */
  private spawnIn(
    confined: Confined,
    argv: string[],
    env: Record<string, string>,
    http?: HttpEndpoint,
    archive?: number,
  ) {
    const server = resolvePreparedCommand(argv, this.confinement.preparedRoot);
    const command_ = http ? bridgedCommand(this.confinement.httpBridge, http, server) : server;
    const launch = confined.launch(command_, env, archive !== undefined);
    const [command, ...args] = launch.argv;
    // A home to restore: its archive and the pipe for tar's status follow the inputs.
    const restore = archive !== undefined ? [archive, "pipe" as const] : [];
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(command as string, args, {
        cwd: launch.cwd,
        env: launch.env as NodeJS.ProcessEnv,
        stdio: ["pipe", "pipe", "pipe", ...launch.inputs.map(() => "pipe" as const), ...restore],
        detached: true, // own process group: kill() reaches every process of the sandbox
      }) as ChildProcessWithoutNullStreams;
    } finally {
      if (archive !== undefined) fs.closeSync(archive); // the chain has its own copy
    }
    launch.inputs.forEach((data, i) => {
      const fd = child.stdio[3 + i] as NodeJS.WritableStream & { on(e: "error", f: () => void): void };
      fd.on("error", () => {}); // a chain that failed early never reads it: its own exit says why
      fd.end(data);
    });
    return child;
  }

  /**
   * Waits for the restore stage's status: the home restored, the connection's archive is
   * dropped; else the sandbox is ended, the archive kept (a later wake tries again, deleting the
   * connection drops it) and create() fails with tar's reason, never a server with an empty home.
   */
  private async restored(
    child: ChildProcessWithoutNullStreams,
    box: LocalBox,
    exited: Promise<SandboxExit>,
    tail: OutputTail,
  ) {
    const status = child.stdio[child.stdio.length - 1] as NodeJS.ReadableStream;
    let said = "";
    status.setEncoding("utf8");
    status.on("data", (d: string) => {
      said += d.slice(0, 16);
    });
    await new Promise<void>((resolve) => {
      status.once("end", resolve);
      status.once("error", () => resolve());
      status.once("close", () => resolve());
    });
    if (said.trim() === "0") {
      this.homes.drop(box.owner.connectionId);
      return;
    }
    await this.kill(box.id);
    await exited;
    const why = tail.text().trim().split("\n").slice(-5).join("; ");
    throw new Error(`the sleeping home could not be restored (tar ${said.trim() || "did not run"}): ${why}`);
  }

  /**
   * While servers run, looks every few seconds for one that is stuck: alive, but unable ever to
   * end or answer (a stopped init cannot reap its server: calls would hang on it for good).
   */
  private watch() {
    if (this.watcher) return;
    this.watcher = setInterval(() => {
      if (!this.live.size) {
        clearInterval(this.watcher);
        this.watcher = undefined;
        return;
      }
      for (const l of this.live.values()) {
        const why = l.child.pid ? l.confined.stuck?.(l.child.pid) : undefined;
        if (why) l.end(why);
      }
    }, WATCH_MS);
    this.watcher.unref();
  }

  private limitRate(stream: NodeJS.ReadableStream) {
    const rate = this.options.outputBytesPerSecond;
    if (rate) throttle(stream, rate, rate);
  }

  private async remove(box: LocalBox, confined: Confined) {
    await confined.release().catch(() => {});
    await this.removeDir(box.dir);
  }

  /**
   * Removes a sandbox's dir off the event loop with rm(1), which no depth of tree defeats (it
   * walks by file descriptor, not by ever longer paths) and which stays on this filesystem. A
   * dir that could not be removed is reported (and listed and reaped at the next start).
   */
  private removeDir(dir: string): Promise<void> {
    return new Promise((resolve) => {
      const env = {} as NodeJS.ProcessEnv;
      execFile("/usr/bin/rm", ["-rf", "--one-file-system", "--", dir], { env }, (err, _out, stderr) => {
        if (fs.existsSync(dir)) {
          const reason = (stderr || err?.message || "unknown").trim().split("\n").slice(-3).join("; ");
          (this.options.onLeftover ?? ((d, r) => console.error(`could not remove ${d}: ${r}`)))(dir, reason);
        }
        resolve();
      });
    });
  }
}

const TAR = findBinary("tar");
const BASH = findBinary("bash");
const ZSTD = findBinary("zstd"); // tar --zstd runs it
/** A plain process's home has no cap of its own; its sleeping archive has this one. */
const PLAIN_ARCHIVE_BYTES = 320 * 1024 * 1024;

/** No isolation: the server runs as Berth's user. Only with SANDBOX_PROVIDER=process. */
export const plainProcess: Confinement = {
  name: "process",
  isolated: false,
  preparedRoot: PROJECT_MODULES,
  httpBridge: HTTP_BRIDGE.source,
  describe: () => ({ isolated: false, protections: HAS_SETPRIV ? ["dies with Berth (pdeathsig)"] : [] }),
  archiveBytes: PLAIN_ARCHIVE_BYTES,
  keepsHomes: Boolean(TAR && BASH && ZSTD),
  async prepare(box) {
    const home = path.join(box.dir, "home");
    fs.mkdirSync(path.join(home, "tmp"), { recursive: true, mode: 0o700 });
    // Not isolated: tar runs as Berth's user, like the server itself.
    const tar = (args: string[]) => [TAR as string, "--directory", home, ...args];
    return {
      // pdeathsig: should Berth die without cleaning up (SIGKILL), the server dies with it.
      launch: (argv, env, restore) => ({
        argv: [
          ...(restore ? restoreStage(BASH as string, 3, tar(TAR_EXTRACT)) : []),
          ...(HAS_SETPRIV ? ["setpriv", "--pdeathsig", "KILL", "--"] : []),
          ...argv,
        ],
        env,
        cwd: home,
        inputs: [],
      }),
      archiveHome:
        TAR && BASH && ZSTD ? () => ({ argv: tar(TAR_CREATE), env: { PATH: SYSTEM_PATH }, done() {} }) : undefined,
      home,
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
