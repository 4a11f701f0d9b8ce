import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import type { ToolPolicy } from "./schemas/tool-policy";
/**
 * What the core needs from the sandbox side: start a connection's server and know it answers
 * MCP, stop it, move its expiry. Implemented in lib/sandbox/runtime.ts for Node; the core
 * never sees processes, sockets or SDKs.
 */
export type DeploySpec = {
  connectionId: string;
  accountId: string;
  startCommand: string;
  /** Credentials and the definition's non-secret env; reaches the server only as its environment. */
  env: Record<string, string>;
  network: boolean;
  /** A server that serves Streamable HTTP itself, on this port and path inside its sandbox. */
  http?: HttpEndpoint;
  timeoutSeconds: number;
  /** A sandbox that may have outlived a restart of Berth (E2B): reattach to it when possible. */
  reattachSandboxId?: string;
  /** Which tools the MCP endpoint offers; none: all. */
  toolPolicy?: ToolPolicy;
  /** The definition's slug: what the operator's metrics and traces name the server by. */
  serverSlug?: string;
};

export type HttpEndpoint = { port: number; path: string };

/** Where a definition's server serves MCP, if it speaks Streamable HTTP itself. */
export function httpEndpointOf(server: { transport: string; port: number | null; path: string | null }) {
  return server.transport === "streamable-http" && server.port
    ? { port: server.port, path: server.path ?? "/mcp" }
    : undefined;
}

export type ToolSummary = { name: string; description: string };

/**
 * The tool call a dry run makes after `tools/list` to learn whether the credentials work: an error
 * result, a JSON-RPC error, no answer in time or a text containing `errorText` means they do not.
 */
export type ToolCheck = { tool: string; arguments: Record<string, unknown>; errorText?: string };

export type DryRunSpec = Omit<DeploySpec, "connectionId"> & { check?: ToolCheck };

/** The server started, but its answer to the check says the credentials do not work. */
export class CheckFailedError extends Error {
  constructor(
    readonly tool: string,
    /** The server's own words (or why it gave none), secrets scrubbed, cut short. */
    message: string,
    /** The end of the server's stderr, secrets already scrubbed. */
    readonly stderrTail: string,
  ) {
    super(message);
    this.name = "CheckFailedError";
  }
}

/** By name, as isDeployError. */
export function isCheckFailedError(err: unknown): err is CheckFailedError {
  return err instanceof Error && err.name === "CheckFailedError";
}

export class DeployError extends Error {
  constructor(
    message: string,
    /** The end of the server's stderr, secrets already scrubbed. */
    readonly stderrTail: string,
  ) {
    super(message);
    this.name = "DeployError";
  }
}

/** An account is at one of its caps (sandboxes, one-off runs): 429, try again later. */
export class CapacityError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = "CapacityError";
  }
}

export function isCapacityError(err: unknown): err is CapacityError {
  return err instanceof Error && err.name === "CapacityError";
}

/**
 * By name, not instanceof: Next bundles its own copy of the core while the runtime is loaded by
 * Berth's server, so one error can cross two copies of this class.
 */
export function isDeployError(err: unknown): err is DeployError {
  return err instanceof Error && err.name === "DeployError";
}

export type RunSpec = { accountId: string; argv: string[]; stdin?: string; timeoutSeconds: number };

export type RunResult = {
  stdout: string;
  stderr: string;
  exit_code: number | null;
  duration_ms: number;
  truncated: boolean;
  timed_out: boolean;
};

export interface SandboxRuntime {
  readonly provider: string;
  readonly isolated: boolean;
  /** Starts the server in a new sandbox and waits for its `initialize` answer. Throws DeployError. */
  deploy(spec: DeploySpec): Promise<{ sandboxId: string; startedAt: Date; reattached: boolean }>;
  /**
   * The connection was deleted: whatever else holds on to it (its clients' MCP sessions, a sleeping
   * home the provider kept) lets go.
   */
  deleted(connectionId: string): Promise<void>;
  /** Stops the connection's sandbox (and any deploy of it under way); harmless if already gone. */
  /**
   * Stops the connection's server and sandbox. `drainMs`: a planned restart, whose clients should
   * not notice: their requests in flight get up to this long to be answered, new ones wait for
   * the next server.
   */
  stop(connectionId: string, sandboxId: string | null, options?: { drainMs?: number }): Promise<void>;
  setExpiry(connectionId: string, sandboxId: string, expiresAt: Date): Promise<void>;
  /**
   * Starts the server in a throwaway sandbox, lists its tools, makes the check's call if there is
   * one, tears it down. Throws DeployError, CheckFailedError, or CapacityError when the account
   * has too many one-off sandboxes (as `run` does).
   */
  dryRun(spec: DryRunSpec): Promise<ToolSummary[]>;
  isLive(connectionId: string): boolean;
  /** Whether sandboxes outlive the process that made them (E2B): another may then take one over. */
  readonly sandboxesOutliveBerth: boolean;
  /** Settles once a crash of the connection's server that is being recorded now is recorded. */
  crashRecorded(connectionId: string): Promise<void>;
  /**
   * Sends one MCP request to a running connection's server over Berth's own session (the
   * inspector). Rejects with `{ code }` for a JSON-RPC error, or when the server is not live.
   */
  mcpRequest(
    connectionId: string,
    method: string,
    params: Record<string, unknown>,
    /** `approved`: a tools/call goes ahead without asking, for a caller who may decide approvals. */
    options?: { approved?: boolean },
  ): Promise<unknown>;
  /** Applies a tool policy to the connection's live session here, if this process holds one (none: lifted). */
  setToolPolicy(connectionId: string, policy: ToolPolicy | undefined): void;
  /** The running server's own tool list, all of it (the policy editor's). */
  serverTools(connectionId: string): Promise<Tool[]>;
  /** A one-off command in a fresh sandbox, destroyed afterwards; output capped at 1 MiB. */
  run(spec: RunSpec): Promise<RunResult>;
}
