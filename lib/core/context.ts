import type { CredentialsCipher } from "@/lib/crypto/credentials-cipher";
import type { Db } from "@/lib/db/db";
import type { Role } from "@/lib/db/queries/accounts";
import type { TokenBuckets } from "@/lib/limits/token-buckets";
import type { SandboxRuntime } from "./runtime";
import type { ApprovalWaiters } from "./services/tool-approvals";

export type Logger = {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
};

/**
 * Durations the services measure for the operator's metrics (lib/metrics in the Node app; absent
 * elsewhere: the Edge Function, the CLI).
 */
export type Observations = {
  /** A deploy ended: `running`, or `failed` (its sandbox could not be started or answer). */
  deployed(seconds: number, provider: string, outcome: "running" | "failed"): void;
  /** A sleeping connection answered again, `seconds` after its wake began. */
  woke(seconds: number, provider: string): void;
};

/** Everything a service may touch, built once per process. */
export type Deps = {
  db: Db;
  runtime: SandboxRuntime;
  cipher: CredentialsCipher;
  publicUrl: string;
  log: Logger;
  now: () => number;
  /** How long install waits for `running` before answering `deploying`. */
  installWaitMs: number;
  /** This Berth instance (stable across its restarts): recorded as the host of what it deploys. */
  host: string;
  /** Connections one account may have holding a sandbox at once (BERTH_ACCOUNT_MAX_SANDBOXES). */
  maxSandboxesPerAccount: number;
  /**
   * Connections one account may have asleep (BERTH_ACCOUNT_MAX_SLEEPING): a paused E2B sandbox or a
   * kept local home each still costs something; past it its idle connections stay awake.
   */
  maxSleepingPerAccount?: number;
  /**
   * Sandboxes each account may start (BERTH_ACCOUNT_SANDBOX_STARTS_PER_MINUTE, a minute's worth at
   * once), per process: starting one costs the host far more than any other request. None: no limit.
   */
  sandboxStarts?: TokenBuckets;
  /**
   * Called when an API key is revoked, so that this process forgets it at once (the MCP
   * gateway's key cache); on PostgreSQL the other instances hear it from the database.
   */
  onApiKeyRevoked?(keyId: string): void;
  /** Tool calls waiting here for an approval, woken by decisions (lib/core/services/tool-approvals.ts). */
  approvalWaiters?: ApprovalWaiters;
  /** Sign-in is Supabase Auth's: Berth sets no passwords, so it invites no new user by email. */
  supabaseAuth?: boolean;
  /** Berth's OAuth apps at upstream providers, by definition slug ("Connect with GitHub"). */
  upstreamOAuthClients?: Record<string, UpstreamOAuthClient>;
  /** The least time between two refreshes of a connection's upstream token (BERTH_OAUTH_REFRESH_FLOOR_SECONDS). */
  upstreamOAuthRefreshFloorMs?: number;
  /** Where deploy and wake durations go (the Node app's Prometheus metrics); none: nowhere. */
  observe?: Observations;
};

/** Berth's registration at an upstream OAuth provider (the app an operator made there). */
export type UpstreamOAuthClient = { clientId: string; clientSecret?: string };

/** What an API key may reach: the REST API and MCP endpoints (`admin`), or MCP endpoints only (`mcp`, an agent's). */
export type ApiKeyScope = "admin" | "mcp";

export type Actor = { kind: "api_key"; scope: ApiKeyScope } | { kind: "user"; userId: string } | { kind: "system" };

/** A request's view: one account, always (and the caller's role in it, when a person calls). */
export type Ctx = Deps & { accountId: string; actor: Actor; role?: Role };
