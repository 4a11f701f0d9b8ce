import fs from "node:fs";
import path from "node:path";
import type { AppDeps } from "@/lib/app-deps";
import { ApiKeyCache } from "@/lib/auth/api-key-cache";
import { type AuthOptions, authenticateHeaders, authHeadersOf } from "@/lib/auth/authenticate";
import { BerthOAuthProvider } from "@/lib/auth/oauth/provider";
import { hashPassword, verifyPassword } from "@/lib/auth/password";
import { serviceKeyCheck } from "@/lib/auth/service-key";
import { createSupabaseJwtVerifier } from "@/lib/auth/supabase-jwt";
import { CATALOGUE } from "@/lib/catalogue/catalogue";
import { seedCatalogue } from "@/lib/catalogue/seed";
import type { Config } from "@/lib/config";
import type { Logger } from "@/lib/core/context";
import { ApprovalWaiters, awaitApproval } from "@/lib/core/services/tool-approvals";
import { createCredentialsCipher } from "@/lib/crypto/credentials-cipher";
import { loadKeyring, loadOrCreateSecret } from "@/lib/crypto/keyring";
import { type DbHandle, openDb } from "@/lib/db/client";
import type { Db } from "@/lib/db/db";
import { migrate } from "@/lib/db/migrate";
import { listenForNotifications } from "@/lib/db/notifications";
import { KEY_REVOKED_CHANNEL } from "@/lib/db/queries/api-keys";
import { getToolPolicy, TOOL_POLICY_CHANNEL } from "@/lib/db/queries/connections";
import { getInstallationId } from "@/lib/db/queries/settings";
import { TOOL_APPROVAL_CHANNEL } from "@/lib/db/queries/tool-approvals";
import { maintenanceSettings, runMaintenance } from "@/lib/jobs/maintenance";
import { TokenBuckets } from "@/lib/limits/token-buckets";
import { createLogger } from "@/lib/log";
import { BerthMetrics, publishMetrics } from "@/lib/metrics/metrics";
import { BubblewrapConfinement } from "@/lib/sandbox/bubblewrap";
import { E2BProvider } from "@/lib/sandbox/e2b";
import { localWarnings, probeHost } from "@/lib/sandbox/host-probe";
import { LocalProvider, plainProcess } from "@/lib/sandbox/local";
import { prepareServerPackages } from "@/lib/sandbox/prepared-packages";
import type { SandboxProvider } from "@/lib/sandbox/provider";
import { NodeSandboxRuntime } from "@/lib/sandbox/runtime";

export type Berth = {
  deps: AppDeps;
  db: DbHandle;
  runtime: NodeSandboxRuntime;
  /** The operator's Prometheus metrics; only when BERTH_METRICS_TOKEN is set (nothing is counted otherwise). */
  metrics?: BerthMetrics;
  warnings: string[];
  close(): Promise<void>;
};

/** The database, migrated and with the catalogue seeded: all the CLI needs. */
export async function openStore(config: Config) {
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const warnings: string[] = [];
  const keyring = loadKeyring({
    spec: config.encryptionKeys,
    dataDir: config.dataDir,
    allowGenerate: !config.databaseUrl,
  });
  if (keyring.generated) {
    warnings.push(
      `Generated an encryption key in ${keyring.file} (mode 0600). Back it up, or set BERTH_ENCRYPTION_KEYS.`,
    );
  }
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  await migrate(db);
  await seedCatalogue(db);
  return { db, keyring, warnings };
}

/** Opens the store, the keys and the sandbox runtime, once per process. */
export async function openBerth(config: Config): Promise<Berth> {
  const { db, keyring, warnings } = await openStore(config);
  const log = createLogger(config.logLevel);
  const runtime = new NodeSandboxRuntime(createProvider(config, log), await getInstallationId(db), {
    maxRunsPerAccount: config.accountCaps.runs,
  });
  if (config.sandboxProvider === "local") warnings.push(...localWarnings(probeHost()));
  else if (!runtime.isolated)
    warnings.push("Sandboxes are NOT isolated: MCP servers run as plain processes on this host.");
  const sessionPassword = loadOrCreateSecret(config.dataDir, "session-secret");
  // Stable across restarts of this instance, so it finds the connections it hosted.
  const host = loadOrCreateSecret(config.dataDir, "instance-id");
  const auth: AuthOptions = {
    // With Supabase Auth the dashboard's session is Supabase's: a built-in cookie left from before
    // the switch opens nothing, on pages (lib/auth/current-user.ts) or here.
    sessionPassword: config.supabase ? undefined : sessionPassword,
    supabase: config.supabase && createSupabaseJwtVerifier(config.supabase),
  };
  const apiKeyCache = new ApiKeyCache();
  const approvalWaiters = new ApprovalWaiters();
  const metrics = config.metricsToken ? new BerthMetrics(db) : undefined;
  if (metrics) publishMetrics(metrics);
  const notifications = config.databaseUrl
    ? hearOtherInstances(config.databaseUrl, db, { apiKeyCache, approvalWaiters, runtime, log })
    : undefined;
  const deps: AppDeps = {
    db,
    runtime,
    cipher: await createCredentialsCipher(keyring.keys),
    publicUrl: config.publicUrl,
    log,
    now: Date.now,
    installWaitMs: 20_000,
    maxSandboxesPerAccount: config.accountCaps.sandboxes,
    maxSleepingPerAccount: config.accountCaps.sleeping,
    sandboxStarts: new TokenBuckets(config.accountCaps.startsPerMinute / 60, config.accountCaps.startsPerMinute),
    host,
    sessionPassword,
    secureCookies: config.publicUrl.startsWith("https://"),
    hashPassword,
    verifyPassword,
    providerInfo: { name: runtime.provider, isolated: runtime.isolated },
    supabase: config.supabase && { url: config.supabase.url, publishableKey: config.supabase.publishableKey },
    auth,
    apiKeyCache,
    oauth: new BerthOAuthProvider(db, config.publicUrl),
    approvalWaiters,
    onApiKeyRevoked: (keyId) => apiKeyCache.forgetKeyId(keyId),
    supabaseAuth: Boolean(config.supabase),
    upstreamOAuthClients: config.upstreamOAuthClients,
    upstreamOAuthRefreshFloorMs: config.upstreamOAuthRefreshFloorMs,
    authenticate: (req) => authenticateHeaders(db, auth, authHeadersOf(req)),
    // What a tenant needs to know: whether its servers are isolated. How (kernel, paths, the
    // host's limits and gaps) is the operator's, in the start-up banner and warnings.
    health: async () => ({
      database: db.kind,
      sandbox: { provider: runtime.provider, isolated: runtime.isolated },
    }),
    // Besides its own loop (server.ts): a scheduler may ask for a sweep; claims keep them apart.
    maintain: () => runMaintenance({ deps, runtime, ...maintenanceSettings(config) }),
    isService: serviceKeyCheck(config.serviceRoleKey),
    observe: metrics?.observations,
    operator: metrics && {
      // The same constant-time bearer comparison as the service key's, against the metrics token.
      isOperator: serviceKeyCheck(config.metricsToken),
      metrics: () => metrics.render(),
    },
  };
  runtime.onApproval = async (call, signal) => {
    const { status } = await awaitApproval(deps, call, signal);
    return status === "pending" ? "expired" : status;
  };
  return {
    deps,
    db,
    runtime,
    metrics,
    warnings,
    async close() {
      await notifications?.close();
      await runtime.shutdown();
      await db.close();
    },
  };
}

/**
 * On PostgreSQL other processes revoke keys, set tool policies and decide approvals too (other
 * instances, the CLI, the Edge Function).
 * The key cache trusts itself only while it hears them, so a revoked key stops working on every
 * instance as soon as the database's notification arrives (milliseconds); a tool policy is applied
 * to the sessions this instance holds with the connection's server, and after a gap in hearing,
 * read again for all of them; a decision wakes the call waiting here for it (which also looks
 * for itself every 2 s).
 */
function hearOtherInstances(
  url: string,
  db: Db,
  {
    apiKeyCache: cache,
    approvalWaiters,
    runtime,
    log,
  }: { apiKeyCache: ApiKeyCache; approvalWaiters: ApprovalWaiters; runtime: NodeSandboxRuntime; log: Logger },
) {
  const applyPolicy = async (connectionId: string) => {
    if (!runtime.isLive(connectionId)) return;
    try {
      runtime.setToolPolicy(connectionId, await getToolPolicy(db, { id: connectionId }));
    } catch (err) {
      log.error({ err, connectionId }, "a connection's tool policy could not be read");
    }
  };
  let missed = false;
  cache.suspend();
  return listenForNotifications(url, {
    channels: {
      [KEY_REVOKED_CHANNEL]: (keyId) => cache.forgetKeyId(keyId),
      [TOOL_POLICY_CHANNEL]: (connectionId) => void applyPolicy(connectionId),
      [TOOL_APPROVAL_CHANNEL]: (approvalId) => approvalWaiters.wake(approvalId),
    },
    onListening: () => {
      cache.resume();
      if (missed) for (const { connectionId } of runtime.liveSandboxes()) void applyPolicy(connectionId);
      missed = false;
    },
    onLost: (err) => {
      cache.suspend();
      missed = true;
      log.warn({ err }, "stopped hearing other instances; checking every API key in the database until back");
    },
  });
}

/**
 * SANDBOX_PROVIDER: `local` (default) = bubblewrap isolation, refused at start when this host
 * cannot do it; `process` = plain processes, NOT isolated, only when asked for by name.
 */
function createProvider(config: Config, log: Logger): SandboxProvider {
  if (config.sandboxProvider === "e2b")
    return new E2BProvider({ ...config.e2b, outputBytesPerSecond: config.sandboxOutputBytesPerSecond });
  const root = path.join(config.dataDir, "sandboxes");
  const options = {
    outputBytesPerSecond: config.sandboxOutputBytesPerSecond,
    onLeftover: (dir: string, reason: string) => log.error({ dir, reason }, "a sandbox's files could not be removed"),
    onHomeLost: (connectionId: string, reason: string) =>
      log.error({ connectionId, reason }, "a sleeping sandbox's home was not kept"),
    // Awake, an account's homes are tmpfs inside its memory cap; asleep they may take twice that on disk.
    sleepingHomeBytesPerAccount: 2 * (config.sandboxLimits.account.memoryMiB ?? 2048) * 1024 * 1024,
  };
  if (config.sandboxProvider === "process") return new LocalProvider(root, plainProcess, options);
  const host = probeHost();
  if (!host.bwrap.ok) {
    throw new Error(
      `bubblewrap is not usable on this host (${host.bwrap.detail}); install it (apt-get install bubblewrap) ` +
        "or set SANDBOX_PROVIDER=process to run servers WITHOUT isolation",
    );
  }
  const preparedRoot = prepareServerPackages(config.dataDir, CATALOGUE);
  return new LocalProvider(
    root,
    new BubblewrapConfinement(host, { preparedRoot, limits: config.sandboxLimits }),
    options,
  );
}
