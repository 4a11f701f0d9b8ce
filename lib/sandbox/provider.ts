import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { HttpEndpoint, RunResult } from "@/lib/core/runtime";

/**
 * A place to run one MCP server: a local process (bubblewrap-isolated, or a plain process when
 * explicitly asked for) or an E2B cloud sandbox. The runtime (runtime.ts) owns the lifecycle;
 * providers only do the work.
 */

/** Who a sandbox belongs to; providers store it so sandboxes can be listed and reaped. */
export type SandboxOwner = {
  /** This Berth installation (shared by all its instances): its sandboxes, not another's. */
  installation: string;
  accountId: string;
  connectionId?: string;
};

export type SandboxSpec = {
  /** Shell-free argv of the server. */
  argv: string[];
  /** Environment of the server; `{home}` in values is replaced by the sandbox's home. */
  env: Record<string, string>;
  /** Outbound internet access; without it the sandbox has no network at all. */
  network: boolean;
  /**
   * The server serves Streamable HTTP itself on this port and path inside the sandbox (its
   * `PORT` is set to it unless its env says otherwise); else it speaks MCP on its stdio.
   */
  http?: HttpEndpoint;
  timeoutSeconds: number;
  owner: SandboxOwner;
};

export type SandboxExit = {
  code: number | null;
  signal: string | null;
  /** Why, when the provider knows better than an exit status (the E2B sandbox itself is gone). */
  reason?: string;
};

/**
 * A message the transport provably never delivered to the server (E2B's proxy answered that the
 * sandbox is gone): the request may be sent again to the connection's next server.
 */
export class UndeliveredError extends Error {
  readonly undelivered = true;
}

export interface Sandbox {
  readonly id: string;
  readonly startedAt: Date;
  /** The MCP channel to the server (not started yet). */
  readonly transport: Transport;
  /** Settles when the server is gone, whoever stopped it. */
  readonly exited: Promise<SandboxExit>;
  /** The end of the server's stderr: whole lines, up to 16 KiB (callers scrub credentials, then cut it shorter). */
  stderrTail(): string;
  /**
   * For a start that failed: settles once the server's last stderr has arrived (or after a short
   * wait), so stderrTail() says why. Providers whose stderr arrives with the exit leave it out.
   */
  stderrSettled?(): Promise<void>;
}

export type SandboxInfo = { id: string; owner: Partial<SandboxOwner> };

/** A one-off command in a fresh sandbox that is destroyed afterwards (`/api/sandbox-runs`). */
export type ExecSpec = {
  argv: string[];
  stdin?: string;
  env?: Record<string, string>;
  timeoutSeconds: number;
  /** stdout and stderr are each cut at this many bytes. */
  maxOutputBytes: number;
  owner: SandboxOwner;
};

/** What `/api/sandbox-runs` answers. */
export type ExecResult = RunResult;

export interface SandboxProvider {
  readonly name: string;
  /** Whether servers are isolated from the host and from each other. */
  readonly isolated: boolean;
  /** What isolation is active on this host, for the operator: the start-up banner and docs/SECURITY.md. */
  describe(): Record<string, unknown>;
  /**
   * Whether sandboxes outlive the Berth process that made them (E2B). Then one-off sandboxes (dry
   * runs, sandbox-runs) may belong to another instance and are left to their own timeout.
   */
  readonly outlivesBerth: boolean;
  /** The longest a sandbox may live (E2B: 1 h Hobby, 24 h Pro); Berth replaces it before then. */
  readonly maxLifetimeSeconds?: number;
  /** Creates a sandbox and starts the server in it. */
  create(spec: SandboxSpec): Promise<Sandbox>;
  /**
   * Reattaches to a sandbox that outlived a restart of Berth, when the provider can (E2B);
   * `undefined` when it is gone or the provider's sandboxes never outlive Berth (local).
   */
  attach(sandboxId: string, spec: SandboxSpec): Promise<Sandbox | undefined>;
  kill(sandboxId: string): Promise<void>;
  /**
   * Puts a connection's sandbox to sleep. "paused": the provider keeps it whole (E2B pause) and
   * attach() resumes it; "stopped": it is gone, but what the provider keeps for its connection
   * (a local sandbox's home) comes back in the connection's next sandbox.
   */
  sleep(sandboxId: string): Promise<"paused" | "stopped">;
  /** The connection is deleted: drop whatever the provider kept for it (a sleeping home). */
  forget(connectionId: string): Promise<void>;
  /** Stops following a sandbox that outlives Berth (E2B), leaving it running for the instance that took it over. */
  detach?(sandboxId: string): void;
  /** Whether this sandbox may be put to sleep now (local: room to keep its home); absent: always. */
  sleepable?(sandboxId: string): boolean;
  setTimeout(sandboxId: string, seconds: number): Promise<void>;
  /** This installation's sandboxes that exist now. */
  list(installation: string): Promise<SandboxInfo[]>;
  exec(spec: ExecSpec): Promise<ExecResult>;
  /** Berth is stopping: release what dies with this process (local sandboxes; not E2B's). */
  shutdown(): Promise<void>;
}
