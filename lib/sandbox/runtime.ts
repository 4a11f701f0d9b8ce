import { splitCommand } from "@/lib/core/command-line";
import { assertSafeEnv } from "@/lib/core/env-names";
import {
  CapacityError,
  CheckFailedError,
  DeployError,
  type DeploySpec,
  type DryRunSpec,
  type RunResult,
  type RunSpec,
  type SandboxRuntime,
  type ToolCheck,
  type ToolSummary,
} from "@/lib/core/runtime";
import type { ToolPolicy } from "@/lib/core/schemas/tool-policy";
import { scrubSecrets, scrubTail } from "@/lib/core/services/connections/credentials";
import { inSpan } from "@/lib/core/tracing";
import type { ToolCallRecord } from "@/lib/db/queries/tool-calls";
import { type ApprovalAsk, type ApprovalOutcome, UpstreamSession } from "@/lib/mcp/upstream-session";
import { CHECK_TIMEOUT_MS, checkFailure, quotedFailure } from "./credential-check";
import type { Sandbox, SandboxProvider } from "./provider";

const START_TIMEOUT_MS = 60_000;
const RUN_OUTPUT_BYTES = 1024 * 1024;
const INSPECTOR_TIMEOUT_MS = 60_000;
/** How long a sandbox may outlive its MCP session before it is ended (an exiting one is gone well before). */
const SESSION_GONE_GRACE_MS = 2000;
/** Going to sleep, calls that arrived just before get this long to be answered (new ones wait for the wake). */
const SLEEP_DRAIN_MS = 10_000;

type Live = { sandbox: Sandbox; upstream: UpstreamSession; accountId: string; serverSlug: string };

/** How a sandbox went to sleep (NodeSandboxRuntime.sleep). */
export type SleepOutcome = { kept: boolean; problem?: string };

/** A connection deployed without its definition's slug (none today): how metrics and traces name its server. */
const UNNAMED_SERVER = "unknown";

export type RuntimeOptions = {
  /** One-off sandboxes (sandbox-runs and dry runs) one account may have at once in this process. */
  maxRunsPerAccount?: number;
};

export type CrashReport = {
  connectionId: string;
  accountId: string;
  sandboxId: string;
  reason: string;
  stderrTail: string;
};

/**
 * The long-lived owner of this process's sandboxes: starts a server through the provider,
 * holds Berth's MCP session with it, notices when it dies on its own, and stops it.
 */
export class NodeSandboxRuntime implements SandboxRuntime {
  private readonly live = new Map<string, Live>();
  /** Deploys under way, so a stop during a deploy kills the half-started sandbox. */
  private readonly starting = new Map<string, Sandbox>();
  /** Each connection's deploys, one after the other: two at once would leave one sandbox untracked. */
  private readonly deploys = new Map<string, Promise<unknown>>();
  /** Bumped by every stop while a deploy is under way: a deploy that sees it change gives up its sandbox. */
  private readonly stops = new Map<string, number>();
  /** One-off sandboxes in flight per account. */
  private readonly oneOffs = new Map<string, number>();
  /** A server died on its own: the supervisor records it (a promise it returns is awaited by crashRecorded). */
  onCrash?: (report: CrashReport) => unknown;
  /** Crashes being recorded, so a request that brings the connection back comes after the record. */
  private readonly crashes = new Map<string, Promise<void>>();
  /** Every answered tools/call of a connection (the audit log), with its server's slug (metrics). */
  onToolCall?: (record: ToolCallRecord, serverSlug: string) => void;
  /** A call of a tool under `approval` waits for the account's decision (lib/core/services/tool-approvals.ts). */
  onApproval?: (
    call: ApprovalAsk & { accountId: string; connectionId: string },
    signal: AbortSignal,
  ) => Promise<ApprovalOutcome>;
  /** A connection was deleted (the gateway ends its clients' sessions). */
  onDeleted?: (connectionId: string) => void;
  /** When each live connection last had an MCP request (Date.now()): idle ones are put to sleep. */
  private readonly lastRequest = new Map<string, number>();

  constructor(
    private readonly impl: SandboxProvider,
    private readonly installation: string,
    private readonly options: RuntimeOptions = {},
  ) {}

  get provider() {
    return this.impl.name;
  }

  get isolated() {
    return this.impl.isolated;
  }

  describe() {
    return this.impl.describe();
  }

  session(connectionId: string): UpstreamSession | undefined {
    const l = this.live.get(connectionId);
    return l?.upstream.isOpen ? l.upstream : undefined;
  }

  isLive(connectionId: string) {
    return this.session(connectionId) !== undefined;
  }

  /** The definition slug of a live connection's server (for traces), if it is live here. */
  serverSlugOf(connectionId: string) {
    return this.live.get(connectionId)?.serverSlug;
  }

  /** Settles once a crash of this connection's server being recorded now is (at once if none is). */
  async crashRecorded(connectionId: string) {
    await this.crashes.get(connectionId);
  }

  /** An MCP request for this connection (an agent's, the inspector's): it is not idle. */
  touch(connectionId: string) {
    this.lastRequest.set(connectionId, Date.now());
  }

  /** This process's live connections with no request for `ms` and none in flight. */
  idleSandboxes(ms: number) {
    const before = Date.now() - ms;
    const idle: { connectionId: string; sandboxId: string; accountId: string }[] = [];
    for (const [connectionId, l] of this.live) {
      if ((this.lastRequest.get(connectionId) ?? 0) > before || l.upstream.busy) continue;
      if (this.impl.sleepable && !this.impl.sleepable(l.sandbox.id)) continue;
      idle.push({ connectionId, sandboxId: l.sandbox.id, accountId: l.accountId });
    }
    return idle;
  }

  mcpRequest(connectionId: string, method: string, params: Record<string, unknown>, options?: { approved?: boolean }) {
    this.touch(connectionId);
    const upstream = this.session(connectionId);
    if (!upstream) return Promise.reject(new Error("The connection's MCP server is not running."));
    return withTimeout(upstream.requestAsClient(method, params, options), INSPECTOR_TIMEOUT_MS, method);
  }

  setToolPolicy(connectionId: string, policy: ToolPolicy | undefined) {
    this.live.get(connectionId)?.upstream.setToolPolicy(policy);
  }

  serverTools(connectionId: string) {
    const upstream = this.session(connectionId);
    if (!upstream) return Promise.reject(new Error("The connection's MCP server is not running."));
    return withTimeout(upstream.serverToolList(), INSPECTOR_TIMEOUT_MS, "tools/list");
  }

  async run(spec: RunSpec): Promise<RunResult> {
    return this.oneOff(spec.accountId, () =>
      this.impl.exec({
        argv: spec.argv,
        stdin: spec.stdin,
        timeoutSeconds: spec.timeoutSeconds,
        maxOutputBytes: RUN_OUTPUT_BYTES,
        owner: { installation: this.installation, accountId: spec.accountId },
      }),
    );
  }

  /** Counts a one-off sandbox against its account's cap for as long as it runs. */
  private async oneOff<T>(accountId: string, fn: () => Promise<T>): Promise<T> {
    const max = this.options.maxRunsPerAccount ?? Number.POSITIVE_INFINITY;
    const now = this.oneOffs.get(accountId) ?? 0;
    if (now >= max) {
      throw new CapacityError(`This account already has ${now} one-off sandboxes running (runs and dry runs).`, 5);
    }
    this.oneOffs.set(accountId, now + 1);
    try {
      return await fn();
    } finally {
      const left = (this.oneOffs.get(accountId) ?? 1) - 1;
      if (left) this.oneOffs.set(accountId, left);
      else this.oneOffs.delete(accountId);
    }
  }

  /** The sandboxes this process holds a session with. */
  liveSandboxes() {
    return [...this.live].map(([connectionId, l]) => ({ connectionId, sandboxId: l.sandbox.id }));
  }

  /** How long the provider lets a sandbox live at most (E2B's plan limit); undefined = no limit. */
  get maxLifetimeSeconds() {
    return this.impl.maxLifetimeSeconds;
  }

  get sandboxesOutliveBerth() {
    return this.impl.outlivesBerth;
  }

  listSandboxes() {
    return this.impl.list(this.installation);
  }

  killSandbox(sandboxId: string) {
    return this.impl.kill(sandboxId);
  }

  deploy(spec: DeploySpec) {
    return this.serially(spec.connectionId, () => this.deployNow(spec));
  }

  /**
   * Puts a live connection's sandbox to sleep (its row says `sleeping` already). Calls that
   * arrived just before are answered first; new ones are held, and once the sandbox is paused or
   * stopped they go on to the woken server. In the queue of the connection's deploys, so a wake
   * never overtakes the sleep. `asleep` records the outcome before those requests go on: whether
   * the sandbox is `kept` (paused, for the wake to resume; or one that could not be stopped, for the
   * wake or a delete to deal with) and what went wrong, if anything (a home that was not kept).
   */
  sleep(connectionId: string, sandboxId: string, asleep: (outcome: SleepOutcome) => Promise<void>) {
    return this.serially(connectionId, async () => {
      const l = this.live.get(connectionId);
      if (l?.sandbox.id !== sandboxId) {
        await this.impl.kill(sandboxId); // not this process's any more: nothing of it is kept
        return;
      }
      await l.upstream.drain(SLEEP_DRAIN_MS);
      this.live.delete(connectionId);
      this.lastRequest.delete(connectionId);
      let outcome: SleepOutcome;
      try {
        outcome = { kept: (await this.impl.sleep(sandboxId)) === "paused" };
      } catch (err) {
        const problem = (err as Error).message;
        // Stopped after all, or, if even that fails, kept on the row: never a sandbox no row names.
        outcome = await this.impl.kill(sandboxId).then(
          () => ({ kept: false, problem }),
          (killErr: Error) => ({ kept: true, problem: `${problem}; ${killErr.message}` }),
        );
      }
      try {
        await asleep(outcome);
      } finally {
        await l.upstream.close(); // hands the held requests on: they wake the connection
      }
    });
  }

  /** Runs `fn` after the connection's deploys and sleeps under way: two at once would leave one sandbox untracked. */
  private serially<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const before = this.deploys.get(id);
    const mine = (async () => {
      await before?.catch(() => {});
      return fn();
    })();
    this.deploys.set(id, mine);
    const forget = () => {
      if (this.deploys.get(id) !== mine) return;
      this.deploys.delete(id);
      this.stops.delete(id);
    };
    mine.then(forget, forget);
    return mine;
  }

  private async deployNow(spec: DeploySpec) {
    await this.stop(spec.connectionId, null);
    const { sandbox, upstream } = await this.start(spec, spec.connectionId);
    const live: Live = { sandbox, upstream, accountId: spec.accountId, serverSlug: spec.serverSlug ?? UNNAMED_SERVER };
    this.live.set(spec.connectionId, live);
    this.touch(spec.connectionId);
    // A session that ended while its sandbox lives (the server stopped reading its input, say)
    // can serve no one again: the sandbox is ended too, and reported as the crash it is.
    upstream.onclose = () => {
      const lingering = new Promise<boolean>((r) => setTimeout(() => r(true), SESSION_GONE_GRACE_MS).unref());
      void Promise.race([sandbox.exited.then(() => false), lingering]).then((alive) => {
        if (alive && this.live.get(spec.connectionId) === live) void this.impl.kill(sandbox.id).catch(() => {});
      });
    };
    sandbox.exited.then((exit) => {
      // Over HTTP (E2B) nothing else tells the session its server is gone: fail what is in flight now.
      void upstream.end(exit.reason ?? "The MCP server exited.");
      if (this.live.get(spec.connectionId) !== live) return; // stopped on purpose
      this.live.delete(spec.connectionId);
      // A sandbox that outlives its server (E2B's, whose command ended) would run on, with
      // whatever the server left behind, until its own timeout: it is ended with its server.
      if (this.impl.outlivesBerth) void this.impl.kill(sandbox.id).catch(() => {});
      const recorded = Promise.resolve(
        this.onCrash?.({
          connectionId: spec.connectionId,
          accountId: spec.accountId,
          sandboxId: sandbox.id,
          reason: exit.reason ?? "The MCP server exited.",
          stderrTail: scrubTail(sandbox.stderrTail(), spec.env),
        }),
      )
        .then(
          () => {},
          () => {},
        )
        .finally(() => {
          if (this.crashes.get(spec.connectionId) === recorded) this.crashes.delete(spec.connectionId);
        });
      this.crashes.set(spec.connectionId, recorded);
    });
    return { sandboxId: sandbox.id, startedAt: sandbox.startedAt, reattached: sandbox.id === spec.reattachSandboxId };
  }

  dryRun(spec: DryRunSpec): Promise<ToolSummary[]> {
    return this.oneOff(spec.accountId, async () => {
      const { sandbox, upstream } = await this.start(spec);
      try {
        let tools: ToolSummary[];
        try {
          const result = (await withTimeout(upstream.request("tools/list", {}), START_TIMEOUT_MS, "tools/list")) as {
            tools?: { name: string; description?: string }[];
          };
          tools = (result.tools ?? []).map((t) => ({ name: t.name, description: t.description ?? "" }));
        } catch (err) {
          await sandbox.stderrSettled?.();
          throw deployError(err, sandbox, spec.env);
        }
        if (spec.check) {
          const failure = await checkCall(upstream, tools, spec.check);
          if (failure !== undefined) {
            throw new CheckFailedError(
              spec.check.tool,
              quotedFailure(failure, spec.env),
              scrubTail(sandbox.stderrTail(), spec.env),
            );
          }
        }
        return tools;
      } finally {
        await upstream.close();
        await this.impl.kill(sandbox.id);
      }
    });
  }

  async deleted(connectionId: string) {
    this.onDeleted?.(connectionId);
    await this.impl.forget(connectionId);
  }

  async stop(connectionId: string, sandboxId: string | null, { drainMs = 0 } = {}) {
    if (drainMs) await this.live.get(connectionId)?.upstream.drain(drainMs);
    if (this.deploys.has(connectionId)) this.stops.set(connectionId, (this.stops.get(connectionId) ?? 0) + 1);
    const pending = this.starting.get(connectionId);
    if (pending) await this.impl.kill(pending.id);
    const l = this.live.get(connectionId);
    this.live.delete(connectionId);
    this.lastRequest.delete(connectionId);
    if (l) {
      await l.upstream.close();
      await this.impl.kill(l.sandbox.id);
    }
    if (sandboxId && sandboxId !== l?.sandbox.id) await this.impl.kill(sandboxId);
  }

  /** Another instance took the connection over (E2B): this process lets its session go, the sandbox left running. */
  async release(connectionId: string) {
    const l = this.live.get(connectionId);
    if (!l) return;
    this.live.delete(connectionId);
    this.lastRequest.delete(connectionId);
    this.impl.detach?.(l.sandbox.id);
    await l.upstream.close();
  }

  async setExpiry(_connectionId: string, sandboxId: string, expiresAt: Date) {
    await this.impl.setTimeout(sandboxId, Math.max(1, Math.ceil((expiresAt.getTime() - Date.now()) / 1000)));
  }

  async shutdown() {
    const all = [...this.live.values()];
    this.live.clear();
    await Promise.all(all.map((l) => l.upstream.close()));
    await this.impl.shutdown();
  }

  /** Creates the sandbox and waits for `initialize`; on any failure nothing is left running. */
  private async start(spec: Omit<DeploySpec, "connectionId">, connectionId?: string) {
    let argv: string[];
    try {
      argv = splitCommand(spec.startCommand);
      assertSafeEnv(spec.env); // definitions stored before names were checked, say
    } catch (err) {
      throw new DeployError((err as Error).message, "");
    }
    const sandboxSpec = {
      argv,
      // Servers that serve HTTP mostly take their port from PORT; the definition's env may differ.
      env: spec.http ? { PORT: String(spec.http.port), ...spec.env } : spec.env,
      network: spec.network,
      http: spec.http,
      timeoutSeconds: spec.timeoutSeconds,
      owner: { installation: this.installation, accountId: spec.accountId, connectionId },
    };
    const stopsBefore = connectionId ? this.stops.get(connectionId) : undefined;
    let sandbox: Sandbox | undefined;
    if (spec.reattachSandboxId) {
      sandbox = await this.impl.attach(spec.reattachSandboxId, sandboxSpec).catch(async () => {
        await this.impl.kill(spec.reattachSandboxId as string).catch(() => {});
        return undefined;
      });
    }
    try {
      sandbox ??= await inSpan("berth.sandbox.create", { "berth.provider": this.impl.name }, () =>
        this.impl.create(sandboxSpec),
      );
    } catch (err) {
      // A provider's message may quote the server's output (E2B's bridge), so it is scrubbed too.
      const message = scrubSecrets(`The sandbox could not be created: ${(err as Error).message}`, spec.env);
      throw new DeployError(message, "");
    }
    if (connectionId && this.stops.get(connectionId) !== stopsBefore) {
      // Stopped (deleted, say) while its sandbox was being made: not one to keep.
      await this.impl.kill(sandbox.id);
      throw new DeployError("The connection was stopped while its sandbox started.", "");
    }
    if (connectionId) this.starting.set(connectionId, sandbox);
    const upstream = new UpstreamSession(sandbox.transport);
    upstream.setToolPolicy(spec.toolPolicy);
    if (connectionId) {
      const slug = spec.serverSlug ?? UNNAMED_SERVER;
      upstream.onToolCall = (call) => this.onToolCall?.({ ...call, connectionId, accountId: spec.accountId }, slug);
      upstream.onApproval = (call, signal) =>
        this.onApproval
          ? this.onApproval({ ...call, connectionId, accountId: spec.accountId }, signal)
          : Promise.resolve("expired" as const);
    }
    try {
      const exited = sandbox.exited.then((e) => {
        throw new Error(`The MCP server exited before answering initialize (${e.signal ?? `code ${e.code}`}).`);
      });
      exited.catch(() => {}); // it also settles, unobserved, when a healthy server stops later
      await inSpan("initialize", { "mcp.method.name": "initialize" }, () =>
        Promise.race([withTimeout(upstream.connect(), START_TIMEOUT_MS, "initialize"), exited]),
      );
      return { sandbox, upstream };
    } catch (err) {
      const ended = !upstream.isOpen; // the server's side closed by itself, not by us
      await sandbox.stderrSettled?.();
      await upstream.close();
      await this.impl.kill(sandbox.id);
      const exit = await sandbox.exited; // settled by kill
      const why = ended
        ? new Error(`The MCP server exited before answering initialize (${exit.signal ?? `code ${exit.code}`}).`)
        : err;
      throw deployError(why, sandbox, spec.env);
    } finally {
      if (connectionId && this.starting.get(connectionId) === sandbox) this.starting.delete(connectionId);
    }
  }
}

/** A failed start, its message (a server's JSON-RPC error, say) and stderr scrubbed of the credentials. */
function deployError(err: unknown, sandbox: Sandbox, env: Record<string, string>) {
  return new DeployError(scrubSecrets((err as Error).message, env), scrubTail(sandbox.stderrTail(), env));
}

/**
 * Makes a dry run's check call: why it says the credentials do not work (unscrubbed), or undefined.
 * A tool the server does not list is refused before any call, so a definition's typo reads as one.
 */
async function checkCall(upstream: UpstreamSession, tools: ToolSummary[], check: ToolCheck) {
  if (!tools.some((t) => t.name === check.tool)) {
    return `The server has no tool "${check.tool}" to check the credentials with.`;
  }
  try {
    const call = upstream.request("tools/call", { name: check.tool, arguments: check.arguments });
    return checkFailure(
      await withTimeout(call, CHECK_TIMEOUT_MS, `the check's call of ${check.tool}`),
      check.errorText,
    );
  } catch (err) {
    return (err as Error).message; // a JSON-RPC error, no answer in time, or the server gone
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`No answer to ${what} within ${ms / 1000} s.`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
