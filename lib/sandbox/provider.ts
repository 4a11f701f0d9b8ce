import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";

/**
 * A place to run one MCP server: a local process (bubblewrap-isolated or not) or an E2B
 * cloud sandbox. The runtime (runtime.ts) owns the lifecycle; providers only do the work.
 */
export type SandboxSpec = {
  /** Shell-free argv of the server. */
  argv: string[];
  /** Environment of the server; `{home}` in values is replaced by the sandbox's home. */
  env: Record<string, string>;
  network: boolean;
  timeoutSeconds: number;
  /** Who owns it, so a provider can list and reap its sandboxes. */
  metadata: { connectionId?: string; accountId: string };
};

export type SandboxExit = { code: number | null; signal: string | null };

export interface Sandbox {
  readonly id: string;
  readonly startedAt: Date;
  /** The MCP channel to the server (not started yet). */
  readonly transport: Transport;
  /** Settles when the server is gone, whoever stopped it. */
  readonly exited: Promise<SandboxExit>;
  /** The last few KiB of the server's stderr. */
  stderrTail(): string;
}

export interface SandboxProvider {
  readonly name: string;
  /** Whether servers are isolated from the host and from each other. */
  readonly isolated: boolean;
  /** What isolation is active, for the start banner, /api/health and docs/SECURITY.md. */
  describe(): Record<string, unknown>;
  create(spec: SandboxSpec): Promise<Sandbox>;
  kill(sandboxId: string): Promise<void>;
  setTimeout(sandboxId: string, seconds: number): Promise<void>;
  /** Stops every sandbox this process started (shutdown). */
  killAll(): Promise<void>;
}
