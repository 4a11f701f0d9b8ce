import { splitCommand } from "@/lib/core/command-line";
import {
  DeployError,
  type DeploySpec,
  type RunResult,
  type RunSpec,
  type SandboxRuntime,
  type ToolSummary,
} from "@/lib/core/runtime";
import { scrubSecrets } from "@/lib/core/services/connections/credentials";
import type { ToolCallRecord } from "@/lib/db/queries/tool-calls";
import { UpstreamSession } from "@/lib/mcp/upstream-session";
import type { Sandbox, SandboxProvider } from "./provider";

const START_TIMEOUT_MS = 60_000;
const RUN_OUTPUT_BYTES = 1024 * 1024;
const INSPECTOR_TIMEOUT_MS = 60_000;

type Live = { sandbox: Sandbox; upstream: UpstreamSession; accountId: string };

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
  onCrash?: (report: CrashReport) => void;
  /** Every answered tools/call of a connection (the audit log). */
  onToolCall?: (record: ToolCallRecord) => void;

  constructor(
    private readonly impl: SandboxProvider,
    private readonly installation: string,
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

  mcpRequest(connectionId: string, method: string, params: Record<string, unknown>) {
    const upstream = this.session(connectionId);
    if (!upstream) return Promise.reject(new Error("The connection's MCP server is not running."));
    return withTimeout(upstream.request(method, params), INSPECTOR_TIMEOUT_MS, method);
  }

  async run(spec: RunSpec): Promise<RunResult> {
    return this.impl.exec({
      argv: spec.argv,
      stdin: spec.stdin,
      timeoutSeconds: spec.timeoutSeconds,
      maxOutputBytes: RUN_OUTPUT_BYTES,
      owner: { installation: this.installation, accountId: spec.accountId },
    });
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

  async deploy(spec: DeploySpec) {
    await this.stop(spec.connectionId, null);
    const { sandbox, upstream } = await this.start(spec, spec.connectionId);
    const live: Live = { sandbox, upstream, accountId: spec.accountId };
    this.live.set(spec.connectionId, live);
    sandbox.exited.then(() => {
      // Over HTTP (E2B) nothing else tells the session its server is gone: fail what is in flight now.
      void upstream.close();
      if (this.live.get(spec.connectionId) !== live) return; // stopped on purpose
      this.live.delete(spec.connectionId);
      this.onCrash?.({
        connectionId: spec.connectionId,
        accountId: spec.accountId,
        sandboxId: sandbox.id,
        reason: "The MCP server exited.",
        stderrTail: scrubSecrets(sandbox.stderrTail(), spec.env),
      });
    });
    return { sandboxId: sandbox.id, startedAt: sandbox.startedAt };
  }

  async dryRun(spec: Omit<DeploySpec, "connectionId">): Promise<ToolSummary[]> {
    const { sandbox, upstream } = await this.start(spec);
    try {
      const result = (await withTimeout(upstream.request("tools/list", {}), START_TIMEOUT_MS, "tools/list")) as {
        tools?: { name: string; description?: string }[];
      };
      return (result.tools ?? []).map((t) => ({ name: t.name, description: t.description ?? "" }));
    } catch (err) {
      throw new DeployError((err as Error).message, scrubSecrets(sandbox.stderrTail(), spec.env));
    } finally {
      await upstream.close();
      await this.impl.kill(sandbox.id);
    }
  }

  async stop(connectionId: string, sandboxId: string | null) {
    const pending = this.starting.get(connectionId);
    if (pending) await this.impl.kill(pending.id);
    const l = this.live.get(connectionId);
    this.live.delete(connectionId);
    if (l) {
      await l.upstream.close();
      await this.impl.kill(l.sandbox.id);
    }
    if (sandboxId && sandboxId !== l?.sandbox.id) await this.impl.kill(sandboxId);
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
    } catch (err) {
      throw new DeployError((err as Error).message, "");
    }
    const sandboxSpec = {
      argv,
      env: spec.env,
      network: spec.network,
      timeoutSeconds: spec.timeoutSeconds,
      owner: { installation: this.installation, accountId: spec.accountId, connectionId },
    };
    let sandbox: Sandbox | undefined;
    if (spec.reattachSandboxId) {
      sandbox = await this.impl.attach(spec.reattachSandboxId, sandboxSpec).catch(async () => {
        await this.impl.kill(spec.reattachSandboxId as string).catch(() => {});
        return undefined;
      });
    }
    try {
      sandbox ??= await this.impl.create(sandboxSpec);
    } catch (err) {
      throw new DeployError(`The sandbox could not be created: ${(err as Error).message}`, "");
    }
    if (connectionId) this.starting.set(connectionId, sandbox);
    const upstream = new UpstreamSession(sandbox.transport);
    if (connectionId) {
      upstream.onToolCall = (call) => this.onToolCall?.({ ...call, connectionId, accountId: spec.accountId });
    }
    try {
      const exited = sandbox.exited.then((e) => {
        throw new Error(`The MCP server exited before answering initialize (${e.signal ?? `code ${e.code}`}).`);
      });
      exited.catch(() => {}); // it also settles, unobserved, when a healthy server stops later
      await Promise.race([withTimeout(upstream.connect(), START_TIMEOUT_MS, "initialize"), exited]);
      return { sandbox, upstream };
    } catch (err) {
      await upstream.close();
      await this.impl.kill(sandbox.id);
      throw new DeployError((err as Error).message, scrubSecrets(sandbox.stderrTail(), spec.env));
    } finally {
      if (connectionId && this.starting.get(connectionId) === sandbox) this.starting.delete(connectionId);
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`No answer to ${what} within ${ms / 1000} s.`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
