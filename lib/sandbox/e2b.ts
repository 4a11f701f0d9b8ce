import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  ALL_TRAFFIC,
  AuthenticationError,
  CommandExitError,
  type CommandHandle,
  type ConnectionOpts,
  Sandbox as E2BSandbox,
  InvalidArgumentError,
  NotFoundError,
  type ProcessInfo,
  RateLimitError,
  SandboxError,
  type SandboxOpts,
  ServiceBusyError,
  TemplateError,
  TimeoutError,
} from "e2b";
import { withRetries } from "@/lib/core/retry";
import { answerLimits, type LimitAnswer } from "./answer-limits";
import { lastLines, OutputTail } from "./output-tail";
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
import { UndeliveredError } from "./provider";

/**
 * E2B cloud sandboxes (Firecracker microVMs), driven only through the `e2b` SDK.
 *
 * One sandbox per connection. The server's stdio is bridged to a stateful Streamable HTTP
 * endpoint inside the sandbox by supergateway (one MCP session = one server process; Berth opens
 * exactly one session per connection), reached through E2B's port URL with the sandbox's
 * traffic token; a server that serves Streamable HTTP itself is reached the same way on its own
 * port, without the bridge. Credentials are the sandbox's envVars, never part of a command line. Sandboxes
 * outlive a restart of Berth and are reattached (`attach`), so `shutdown` leaves them running.
 */

export type E2BProviderOptions = {
  apiKey?: string;
  domain?: string;
  apiUrl?: string;
  sandboxUrl?: string;
  /** `{port}`, `{sandboxId}` and `{domain}` are replaced; default `https://{port}-{sandboxId}.{domain}`. */
  portUrlTemplate?: string;
  /** Template to create sandboxes from; default E2B's base template. */
  template?: string;
  /** The plan's longest sandbox lifetime (Hobby 1 h, Pro 24 h); default 1 h. */
  maxLifetimeSeconds?: number;
  /** How long the bridge may take to answer after the sandbox is up; default 120 s. */
  bridgeStartTimeoutMs?: number;
  /** The SDK keeps a command's whole stderr; past this much the stream is reopened. Default 1 MiB. */
  stderrRotateChars?: number;
  /** How often the live sandboxes are looked for on E2B (one list call for all); default 10 s. */
  goneCheckIntervalMs?: number;
  /** How fast Berth reads one sandbox's answers, bytes a second (BERTH_SANDBOX_OUTPUT_BYTES_PER_SECOND). */
  outputBytesPerSecond?: number;
};

/** The sandbox user's home: the server's cwd and where `{home}` points. */
export const E2B_HOME = "/home/user";
/** Where the bridge listens inside the sandbox. */
export const BRIDGE_PORT = 8080;
const BRIDGE_PACKAGE = "supergateway@4.0.0";
const HEALTH_PATH = "/healthz";
const MCP_PATH = "/mcp";
/** setTimeout's limit, so supergateway never reaps Berth's idle session (≈ 24.8 days). */
const SESSION_TIMEOUT_MS = 2_147_483_647;
const TRAFFIC_HEADER = "e2b-traffic-access-token";
/** Outbound hosts a server without network access still needs: npx fetches it from there. */
const PACKAGE_HOSTS = ["registry.npmjs.org"];
const STDERR_TAIL_CHARS = 4096;
const DEFAULT_OUTPUT_BYTES_PER_SECOND = 8 * 1024 * 1024;
/** How long a kill waits for a bridge whose server already died to flush its stderr. */
const BRIDGE_DRAIN_MS = 1500;
/** The exec sandbox outlives its command by this much at most, should Berth die meanwhile. */
const EXEC_LIFETIME_MARGIN_S = 60;
const EXEC_STDIN_PATH = `${E2B_HOME}/.berth-exec-stdin`;

/** What a connection whose sandbox vanished (killed through E2B, or timed out) is told. */
const SANDBOX_GONE = "The E2B sandbox is gone (killed outside Berth, or past its timeout).";

type Live = {
  installation: string;
  sandbox: E2BSandbox;
  tail: StderrTail;
  exited: Promise<SandboxExit>;
  settle: (exit: SandboxExit) => void;
  release: () => void;
};

export class E2BProvider implements SandboxProvider {
  readonly name = "e2b";
  readonly outlivesBerth = true;
  readonly isolated = true;
  readonly maxLifetimeSeconds: number;
  private readonly template: string;
  private readonly portUrlTemplate: string;
  private readonly bridgeStartTimeoutMs: number;
  private readonly live = new Map<string, Live>();
  private goneChecks: ReturnType<typeof setInterval> | undefined;
  /**
   * Each account's pace for reading its sandboxes' answers, all of them together: unlike local
   * servers, whose CPU their cgroups cap, an account's twenty E2B servers could otherwise each
   * send at the full rate into the one event loop every tenant shares.
   */
  private readonly paces = new Map<string, LimitAnswer>();

  constructor(private readonly opts: E2BProviderOptions) {
    if (!opts.apiKey) {
      throw new Error("SANDBOX_PROVIDER=e2b needs E2B_API_KEY (https://e2b.dev/dashboard?tab=keys).");
    }
    this.template = opts.template || "base";
    this.portUrlTemplate = opts.portUrlTemplate || "https://{port}-{sandboxId}.{domain}";
    this.maxLifetimeSeconds = opts.maxLifetimeSeconds ?? 3600;
    this.bridgeStartTimeoutMs = opts.bridgeStartTimeoutMs ?? 120_000;
  }

  describe() {
    return {
      provider: this.name,
      isolated: true,
      template: this.template,
      api: this.opts.apiUrl ?? `https://api.${this.domain}`,
      max_lifetime_seconds: this.maxLifetimeSeconds,
      protections: [
        "one E2B Firecracker microVM per connection",
        "credentials only as the sandbox's environment",
        "sandbox URL needs the sandbox's traffic token",
        "servers without network reach only the npm registry",
      ],
    };
  }

  async create(spec: SandboxSpec): Promise<Sandbox> {
    const argv = spec.argv;
    if (!argv.length) throw new Error("empty start command");
    const startedAt = new Date();
    const sandbox = await this.newSandbox(spec.owner, spec.env, spec.timeoutSeconds, {
      network: {
        allowPublicTraffic: false,
        ...(spec.network ? {} : { allowOut: PACKAGE_HOSTS, denyOut: [ALL_TRAFFIC] }),
      },
    });
    try {
      return await this.serve(sandbox, served(spec), spec.owner, startedAt, undefined);
    } catch (err) {
      await this.killQuietly(sandbox.sandboxId);
      throw err;
    }
  }

  async attach(sandboxId: string, spec: SandboxSpec): Promise<Sandbox | undefined> {
    const info = await withRetries(() => E2BSandbox.getInfo(sandboxId, this.connection()), transient).catch((err) => {
      if (err instanceof NotFoundError) return undefined;
      throw e2bError("look up the sandbox", err);
    });
    if (!info) return undefined;
    // Only a sandbox this installation made for this very connection.
    const owner = ownerOf(info.metadata);
    if (owner.installation !== spec.owner.installation || owner.connectionId !== spec.owner.connectionId) {
      return undefined;
    }
    // Connecting resumes a paused sandbox (a wake), and gives it at least the connection's timeout
    // in the same call (E2B only ever extends it).
    const timeoutMs = this.lifetimeSeconds(spec.timeoutSeconds) * 1000;
    const sandbox = await withRetries(
      () => E2BSandbox.connect(sandboxId, { ...this.connection(), timeoutMs }),
      transient,
    ).catch((err) => {
      if (err instanceof NotFoundError) return undefined;
      throw e2bError("reconnect to the sandbox", err);
    });
    if (!sandbox) return undefined;
    const what = served(spec);
    const processes = await this.call("list the sandbox's processes", () => sandbox.commands.list());
    const pid = processes.find((p) => what.is(p))?.pid;
    return this.serve(sandbox, what, spec.owner, info.startedAt, pid);
  }

  async kill(sandboxId: string) {
    const live = this.live.get(sandboxId);
    live?.settle({ code: null, signal: "SIGKILL" });
    live?.release();
    await this.call("kill the sandbox", () => E2BSandbox.kill(sandboxId, this.connection()));
  }

  /**
   * Pauses the sandbox (memory and disk kept; E2B bills nothing for it but storage); attach()
   * resumes it. Where E2B refuses to pause (the plan, say), the sandbox is killed instead.
   */
  async sleep(sandboxId: string): Promise<"paused" | "stopped"> {
    const live = this.live.get(sandboxId);
    // Berth stops listening first: the pause cuts its streams, which must not read as the server's end.
    live?.release();
    live?.settle({ code: null, signal: null, reason: "The connection went to sleep." });
    try {
      await this.call("pause the sandbox", () => E2BSandbox.pause(sandboxId, this.connection()));
      return "paused";
    } catch {
      // Not paused: killed instead; should that fail too, the runtime keeps it named on the row.
      await this.call("kill the sandbox", () => E2BSandbox.kill(sandboxId, this.connection()));
      return "stopped";
    }
  }

  detach(sandboxId: string) {
    const live = this.live.get(sandboxId);
    live?.release();
    live?.settle({ code: null, signal: null, reason: "Another Berth instance took the connection over." });
  }

  /** A paused sandbox is killed with its connection (`kill`); nothing else is kept. */
  async forget() {}

  async setTimeout(sandboxId: string, seconds: number) {
    await this.call("set the sandbox timeout", () =>
      E2BSandbox.setTimeout(sandboxId, this.lifetimeSeconds(seconds) * 1000, this.connection()),
    );
  }

  async list(installation: string): Promise<SandboxInfo[]> {
    const paginator = E2BSandbox.list({
      ...this.connection(),
      query: { metadata: { berth_installation: installation } },
      limit: 100,
    });
    const out: SandboxInfo[] = [];
    while (paginator.hasNext) {
      const page = await this.call("list sandboxes", () => paginator.nextItems());
      for (const s of page) out.push({ id: s.sandboxId, owner: ownerOf(s.metadata) });
    }
    return out;
  }

  async exec(spec: ExecSpec): Promise<ExecResult> {
    const started = Date.now();
    if (!spec.argv.length) throw new Error("empty command");
    const sandbox = await this.newSandbox(spec.owner, spec.env ?? {}, spec.timeoutSeconds + EXEC_LIFETIME_MARGIN_S, {
      allowInternetAccess: false,
      network: { allowPublicTraffic: false },
    });
    try {
      if (spec.stdin !== undefined) {
        await this.call("upload stdin", () => sandbox.files.write(EXEC_STDIN_PATH, spec.stdin as string));
      }
      const out = new Capture(spec.maxOutputBytes);
      const err = new Capture(spec.maxOutputBytes);
      const script = cappedScript(
        spec.argv,
        spec.stdin !== undefined ? EXEC_STDIN_PATH : "/dev/null",
        spec.maxOutputBytes,
      );
      let exitCode: number | null = null;
      let timedOut = false;
      const timeoutMs = spec.timeoutSeconds * 1000;
      const runStarted = Date.now();
      try {
        const result = await sandbox.commands.run(script, {
          cwd: E2B_HOME,
          timeoutMs,
          onStdout: (d) => out.push(d),
          onStderr: (d) => err.push(d),
        });
        exitCode = result.exitCode;
      } catch (e) {
        if (e instanceof CommandExitError) {
          exitCode = e.exitCode < 0 ? null : e.exitCode;
          // envd kills the command at its deadline; the end event may beat the client's deadline.
          timedOut = exitCode === null && Date.now() - runStarted >= timeoutMs - 250;
        } else if (e instanceof TimeoutError) timedOut = true;
        else throw e2bError("run the command", e);
      }
      return {
        stdout: out.text(),
        stderr: err.text(),
        exit_code: exitCode,
        duration_ms: Date.now() - started,
        truncated: out.truncated || err.truncated,
        timed_out: timedOut,
      };
    } finally {
      await this.killQuietly(sandbox.sandboxId);
    }
  }

  private answerLimitsOf(accountId: string): LimitAnswer {
    let pace = this.paces.get(accountId);
    if (!pace) {
      pace = answerLimits(this.opts.outputBytesPerSecond ?? DEFAULT_OUTPUT_BYTES_PER_SECOND);
      this.paces.set(accountId, pace);
    }
    return pace;
  }

  /** E2B sandboxes outlive Berth: stop listening to them, leave them running for `attach`. */
  async shutdown() {
    for (const live of this.live.values()) live.release();
    this.live.clear();
    clearInterval(this.goneChecks);
    this.goneChecks = undefined;
  }

  /**
   * Looks every few seconds for live sandboxes E2B no longer has: one killed through E2B's API or
   * past its timeout may leave its streams open and silent for a while, so that alone would not
   * tell. One list call for all of them; a missing one is confirmed before it counts as gone.
   */
  private checkGone() {
    if (this.goneChecks) return;
    this.goneChecks = setInterval(async () => {
      if (!this.live.size) {
        clearInterval(this.goneChecks);
        this.goneChecks = undefined;
        return;
      }
      for (const installation of new Set([...this.live.values()].map((l) => l.installation))) {
        const present = await this.list(installation).then(
          (all) => new Set(all.map((s) => s.id)),
          () => undefined, // E2B unreachable: nothing is known, nothing is ended
        );
        if (!present) continue;
        for (const [id, l] of this.live) {
          if (l.installation !== installation || present.has(id)) continue;
          const gone = await E2BSandbox.getInfo(id, this.connection()).then(
            () => false,
            (err) => err instanceof NotFoundError,
          );
          if (gone) l.settle({ code: null, signal: "SIGKILL", reason: SANDBOX_GONE });
        }
      }
    }, this.opts.goneCheckIntervalMs ?? 10_000);
    this.goneChecks.unref();
  }

  /** Starts the server's command (or adopts the running one, `pid`) and waits until it answers. */
  private async serve(
    sandbox: E2BSandbox,
    what: Served,
    owner: SandboxOwner,
    startedAt: Date,
    pid: number | undefined,
  ): Promise<Sandbox> {
    const { installation } = owner;
    const id = sandbox.sandboxId;
    const tail = new StderrTail();
    const watcher = new BridgeWatcher(sandbox, tail, this.opts.stderrRotateChars ?? 1 << 20);
    let handle: CommandHandle | undefined;
    if (pid !== undefined) {
      handle = await sandbox.commands.connect(pid, { timeoutMs: 0, onStderr: watcher.onStderr }).catch(() => undefined);
    }
    handle ??= await this.call("start the MCP server", () =>
      sandbox.commands.run(what.command, {
        background: true,
        timeoutMs: 0,
        cwd: E2B_HOME,
        onStderr: watcher.onStderr,
      }),
    );
    let settled: SandboxExit | undefined;
    let settle: (exit: SandboxExit) => void = () => {};
    const exited = new Promise<SandboxExit>((resolve) => {
      settle = (exit) => {
        if (settled) return;
        settled = exit;
        if (this.live.get(id)?.sandbox === sandbox) this.live.delete(id);
        resolve(exit);
      };
    });
    this.live.set(id, { installation, sandbox, tail, exited, settle, release: () => watcher.release() });
    this.checkGone();
    void watcher.watch(handle).then((exit) => {
      if (exit) settle(exit);
    });

    const url = this.portUrl(sandbox, what.port);
    const headers: Record<string, string> = sandbox.trafficAccessToken
      ? { [TRAFFIC_HEADER]: sandbox.trafficAccessToken }
      : {};
    try {
      await waitForServer(`${url}${what.probe}`, what.up, headers, () => settled, tail, this.bridgeStartTimeoutMs);
    } catch (err) {
      watcher.release();
      if (this.live.get(id)?.sandbox === sandbox) this.live.delete(id);
      throw err;
    }
    return {
      id,
      startedAt,
      transport: new StreamableHTTPClientTransport(new URL(`${url}${what.path}`), {
        requestInit: { headers },
        fetch: sandboxFetch(
          id,
          () => settle({ code: null, signal: "SIGKILL", reason: SANDBOX_GONE }),
          this.answerLimitsOf(owner.accountId),
        ),
      }),
      exited,
      stderrTail: () => tail.text(),
      // The bridge's answer (an initialize failing, say) can come before the server's stderr,
      // which arrives over another stream; the bridge exits right after its server (see
      // bridgeCommand), and its stream ends after the last of its stderr.
      stderrSettled: async () => {
        await Promise.race([exited, sleep(BRIDGE_DRAIN_MS)]);
      },
    };
  }

  private get domain() {
    return this.opts.domain || process.env.E2B_DOMAIN || "e2b.app";
  }

  private portUrl(sandbox: E2BSandbox, port: number) {
    return this.portUrlTemplate
      .replaceAll("{port}", String(port))
      .replaceAll("{sandboxId}", sandbox.sandboxId)
      .replaceAll("{domain}", sandbox.sandboxDomain || this.domain)
      .replace(/\/$/, "");
  }

  private connection(): ConnectionOpts {
    const { apiKey, domain, apiUrl, sandboxUrl } = this.opts;
    return { apiKey, domain, apiUrl, sandboxUrl };
  }

  /** E2B refuses a timeout past the plan's maximum; Berth replaces sandboxes before then. */
  private lifetimeSeconds(seconds: number) {
    return Math.max(1, Math.min(Math.ceil(seconds), this.maxLifetimeSeconds));
  }

  /**
   * A new sandbox of this installation for `owner`. Tried again only when E2B refused (429, 503):
   * after a 5xx the sandbox may exist, and a second try would make another.
   */
  private newSandbox(
    owner: SandboxOwner,
    env: Record<string, string>,
    lifetimeSeconds: number,
    network: Pick<SandboxOpts, "network" | "allowInternetAccess">,
  ) {
    const opts = {
      ...this.connection(),
      metadata: metadataOf(owner),
      envs: withHome(env),
      timeoutMs: this.lifetimeSeconds(lifetimeSeconds) * 1000,
      ...network,
    };
    return this.call("create a sandbox", () => E2BSandbox.create(this.template, opts), refusedForNow);
  }

  /** One call to E2B, tried again while it fails for a moment (`retryable`); its error in Berth's words. */
  private async call<T>(what: string, fn: () => Promise<T>, retryable = transient): Promise<T> {
    try {
      return await withRetries(fn, retryable);
    } catch (err) {
      throw e2bError(what, err);
    }
  }

  /** Kills a sandbox whose start or run failed or ended; the failure being reported is the first one. */
  private async killQuietly(sandboxId: string) {
    await withRetries(() => E2BSandbox.kill(sandboxId, this.connection()), transient).catch(() => {});
  }
}

/**
 * Follows the bridge command until it ends. The SDK's stream to envd can drop while the
 * process lives on (a proxy hiccup), and it buffers all stderr; both are handled by
 * reconnecting to the same pid. Resolves undefined once released (Berth stopping).
 */
class BridgeWatcher {
  private released = false;
  private rotating = false;
  private sinceConnect = 0;
  private handle: CommandHandle | undefined;

  constructor(
    private readonly sandbox: E2BSandbox,
    private readonly tail: StderrTail,
    private readonly rotateChars: number,
  ) {}

  readonly onStderr = (d: string) => {
    this.tail.push(d);
    this.sinceConnect += d.length;
    if (this.sinceConnect > this.rotateChars && !this.rotating && this.handle) {
      this.rotating = true;
      void this.handle.disconnect();
    }
  };

  release() {
    this.released = true;
    void this.handle?.disconnect();
  }

  async watch(first: CommandHandle): Promise<SandboxExit | undefined> {
    let handle = first;
    this.handle = handle;
    const pid = handle.pid;
    let failures = 0;
    for (;;) {
      const end = await handle.wait().then(
        (r) => ({ code: r.exitCode, error: r.error }),
        (err: unknown) => (err instanceof CommandExitError ? { code: err.exitCode, error: err.error } : undefined),
      );
      if (this.released) return undefined;
      if (end) return exitOf(end.code, end.error);
      if (!this.rotating) {
        // The stream broke: is the sandbox, and the bridge in it, still there?
        const running = await this.sandbox.isRunning().catch(() => undefined);
        const alive =
          running === false
            ? false
            : await this.sandbox.commands.list().then(
                (ps) => ps.some((p) => p.pid === pid),
                () => undefined,
              );
        if (this.released) return undefined;
        if (alive === false || (alive === undefined && ++failures > 3)) return { code: null, signal: "SIGKILL" };
        if (alive === undefined) {
          await sleep(1000 * failures);
          continue;
        }
      }
      this.rotating = false;
      this.sinceConnect = 0;
      const next = await this.sandbox.commands
        .connect(pid, { timeoutMs: 0, onStderr: this.onStderr })
        .catch(() => undefined);
      if (this.released) {
        void next?.disconnect();
        return undefined;
      }
      if (!next) {
        if (++failures > 3) return { code: null, signal: "SIGKILL" };
        await sleep(1000 * failures);
        continue;
      }
      failures = 0;
      handle = next;
      this.handle = next;
    }
  }
}

/**
 * The bridge, as one shell line for envd: supergateway serves the server's stdio as stateful
 * Streamable HTTP (one server per MCP session, never one per request). When the server exits
 * the bridge is stopped too, so its end is the server's end. Its info log (which quotes every
 * message) goes to /dev/null; its error log, where the server's stderr lands, reaches Berth.
 */
export function bridgeCommand(argv: string[]): string {
  // supergateway runs this with `sh -c` in its own process group; $PPID is supergateway. The
  // trap covers supergateway stopping the server itself (after a failed write to it, say).
  const server = [
    "trap 'kill -TERM $PPID 2>/dev/null; exit 143' TERM INT HUP",
    argv.map(shellQuote).join(" "),
    "s=$?",
    "kill -TERM $PPID 2>/dev/null",
    "exit $s",
  ].join("; ");
  return [
    "exec npx -y",
    BRIDGE_PACKAGE,
    "--stdio",
    shellQuote(server),
    "--outputTransport streamableHttp --stateful",
    `--port ${BRIDGE_PORT}`,
    `--streamableHttpPath ${MCP_PATH}`,
    `--healthEndpoint ${HEALTH_PATH}`,
    `--sessionTimeout ${SESSION_TIMEOUT_MS}`,
    "--logLevel info </dev/null >/dev/null",
  ].join(" ");
}

/**
 * fetch for the transport to a sandbox. Its answers are read within the sandbox's limits
 * (answer-limits.ts), and redirects are answers, never followed. E2B's proxy answering that the
 * sandbox does not exist means the request reached no server: the sandbox is then over at once
 * (`gone`), and the send fails as undelivered, so the runtime may send it to the connection's
 * next server.
 */
function sandboxFetch(sandboxId: string, gone: () => void, limit: LimitAnswer): typeof fetch {
  return async (url, init) => {
    const res = await fetch(url, { ...init, redirect: "manual" });
    const type = res.headers.get("content-type") ?? "";
    const kind = !res.ok ? "other" : type.startsWith("text/event-stream") ? "events" : "message";
    const limited = new Response(res.body && limit(res.body, kind), {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
    if (res.status !== 502 && res.status !== 404) return limited;
    const text = await limited.text().catch(() => "");
    const said = (() => {
      try {
        return JSON.parse(text) as { sandboxId?: string; message?: string };
      } catch {
        return undefined;
      }
    })();
    if (said?.sandboxId === sandboxId && /sandbox was not found/i.test(said.message ?? "")) {
      gone();
      throw new UndeliveredError(SANDBOX_GONE);
    }
    return new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

/**
 * What runs in a connection's sandbox and where Berth reaches it: supergateway around a stdio
 * server, or a server that serves Streamable HTTP itself on its port (the sandbox's port URL needs
 * its traffic token, like the bridge's). `is` finds it among the sandbox's processes (`attach`).
 */
type Served = {
  command: string;
  port: number;
  path: string;
  /** Polled until `up` says it answers. */
  probe: string;
  up(res: Response): boolean;
  is(p: ProcessInfo): boolean;
};

/** Marks the shell line of a server serving HTTP, so a restarted Berth finds it again. */
const HTTP_SERVER_MARK = "# berth: mcp server";

function served(spec: SandboxSpec): Served {
  const line = (p: ProcessInfo) => [p.cmd, ...p.args].join(" ");
  if (!spec.http) {
    return {
      command: bridgeCommand(spec.argv),
      port: BRIDGE_PORT,
      path: MCP_PATH,
      probe: HEALTH_PATH,
      up: (res) => res.ok,
      is: (p) => line(p).includes(BRIDGE_PACKAGE) && line(p).includes(`--port ${BRIDGE_PORT}`),
    };
  }
  return {
    // Its stdout is only a log here (MCP goes over HTTP): both streams reach Berth as stderr.
    command: `exec ${spec.argv.map(shellQuote).join(" ")} </dev/null 1>&2 ${HTTP_SERVER_MARK}`,
    port: spec.http.port,
    path: spec.http.path,
    probe: spec.http.path,
    // Any answer of the server's own (405, 400…): only E2B's proxy says 502 while the port is closed.
    up: (res) => res.status !== 502,
    is: (p) => line(p).includes(HTTP_SERVER_MARK),
  };
}

/**
 * The command for a one-off run: stdin from a file, stdout and stderr each cut after `max` bytes
 * inside the sandbox (the rest is drained, so the command neither blocks nor dies of SIGPIPE),
 * and the command's own exit status.
 */
export function cappedScript(argv: string[], stdinPath: string, max: number): string {
  const cmd = argv.map(shellQuote).join(" ");
  return [
    `cap() { head -c ${max + 1}; cat >/dev/null; }`,
    `{ { ${cmd} <${shellQuote(stdinPath)} 2>&1 1>&3 3>&- | cap 1>&2; exit "\${PIPESTATUS[0]}"; } 3>&1 | cap; exit "\${PIPESTATUS[0]}"; }`,
  ].join("\n");
}

/** POSIX single quotes: the word reaches the program exactly as given. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

function withHome(env: Record<string, string>) {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replaceAll("{home}", E2B_HOME)]));
}

function metadataOf(owner: SandboxOwner): Record<string, string> {
  return {
    berth_installation: owner.installation,
    berth_account_id: owner.accountId,
    ...(owner.connectionId ? { berth_connection_id: owner.connectionId } : {}),
  };
}

function ownerOf(metadata: Record<string, string> | undefined): Partial<SandboxOwner> {
  return {
    installation: metadata?.berth_installation,
    accountId: metadata?.berth_account_id,
    connectionId: metadata?.berth_connection_id,
  };
}

/** envd reports -1 and "signal: killed" for a process ended by a signal. */
function exitOf(code: number, error: string | undefined): SandboxExit {
  if (code >= 0) return { code, signal: null };
  const name = /signal: (\w+)/.exec(error ?? "")?.[1] ?? "killed";
  const known: Record<string, string> = { killed: "SIGKILL", terminated: "SIGTERM", interrupt: "SIGINT" };
  return { code: null, signal: known[name] ?? name };
}

async function waitForServer(
  url: string,
  up: (res: Response) => boolean,
  headers: Record<string, string>,
  ended: () => SandboxExit | undefined,
  tail: StderrTail,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 250)) {
    const exit = ended();
    if (exit) {
      const how = exit.signal ?? `code ${exit.code}`;
      throw new Error(`The MCP server exited before it answered (${how}).${tailNote(tail)}`);
    }
    // A redirect is an answer: never followed, a server must not send Berth's host elsewhere.
    const ok = await fetch(url, { headers, redirect: "manual", signal: AbortSignal.timeout(10_000) }).then(
      async (r) => {
        await r.body?.cancel().catch(() => {});
        return up(r);
      },
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) {
      throw new Error(`The MCP server did not answer within ${Math.round(timeoutMs / 1000)} s.${tailNote(tail)}`);
    }
    await sleep(delay);
  }
}

function tailNote(tail: StderrTail) {
  const t = lastLines(tail.text(), STDERR_TAIL_CHARS);
  return t ? `\n${t}` : "";
}

/**
 * The end of the bridge's stderr (whole lines: the runtime scrubs credentials before it cuts
 * further), with supergateway's prefix taken off the server's lines.
 */
class StderrTail {
  private readonly tail = new OutputTail();
  push(d: string) {
    this.tail.push(d);
  }
  text() {
    return this.tail
      .text()
      .replaceAll("[supergateway] Child stderr: ", "")
      .replace(/\n{2,}/g, "\n")
      .trim();
  }
}

/** Collects a stream's text up to `max` bytes; anything beyond only marks it truncated. */
class Capture {
  private chunks: string[] = [];
  private bytes = 0;
  truncated = false;
  constructor(private readonly max: number) {}
  push(d: string) {
    if (this.bytes > this.max) {
      this.truncated = true;
      return;
    }
    this.chunks.push(d);
    this.bytes += Buffer.byteLength(d);
  }
  text() {
    const all = Buffer.from(this.chunks.join(""));
    if (all.length <= this.max) return all.toString("utf8");
    this.truncated = true;
    return all.subarray(0, this.max).toString("utf8");
  }
}

/** E2B declined for the moment, having done nothing: too many requests (429), or busy (503). */
function refusedForNow(err: unknown): boolean {
  return err instanceof RateLimitError || err instanceof ServiceBusyError;
}

/**
 * A failure worth trying again where doing the call twice is harmless (look up, connect, kill,
 * set a timeout, list): a refusal, or E2B's own 500, 502 or 504. Not for creating a sandbox:
 * after a 5xx it may exist, and a second try would make another.
 */
function transient(err: unknown): boolean {
  return refusedForNow(err) || (err instanceof SandboxError && [500, 502, 504].includes(err.statusCode ?? 0));
}

/** SDK errors as plain Errors that say what failed; the caller turns them into 502 / failed. */
export function e2bError(what: string, err: unknown): Error {
  const msg = err instanceof Error ? err.message : String(err);
  let detail: string;
  if (err instanceof AuthenticationError) detail = `E2B rejected the API key (E2B_API_KEY): ${msg}`;
  else if (err instanceof RateLimitError) detail = `E2B rate limit reached, try again later: ${msg}`;
  else if (err instanceof ServiceBusyError) detail = `E2B is temporarily unavailable: ${msg}`;
  else if (err instanceof NotFoundError) detail = `not found on E2B: ${msg}`;
  else if (err instanceof TemplateError) detail = `E2B template problem: ${msg}`;
  else if (err instanceof InvalidArgumentError) detail = `E2B refused the request: ${msg}`;
  else if (err instanceof TimeoutError) detail = `E2B timed out: ${msg}`;
  else if (err instanceof TypeError && /fetch failed/.test(msg)) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    detail = `E2B is unreachable: ${cause ?? msg}`;
  } else detail = `E2B error: ${msg}`;
  return new Error(`Could not ${what}: ${detail}`, { cause: err });
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
