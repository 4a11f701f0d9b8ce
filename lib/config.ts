import path from "node:path";
import { z } from "zod";
import type { UpstreamOAuthClient } from "@/lib/core/context";
import { asOrigin, originsOf } from "@/lib/core/http/origins";

const mib = z.coerce
  .number()
  .int()
  .min(16)
  .max(1 << 24);
const count = z.coerce.number().int().min(8).max(4_194_304);

/** Every setting Berth reads from the environment, parsed once at start (CONTRACT.md, Configuration). */
const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  HOST: z.string().min(1).default("0.0.0.0"),
  BERTH_DATA_DIR: z.string().min(1).default("./.berth"),
  BERTH_PUBLIC_URL: z.url().optional(),
  BERTH_ALLOWED_ORIGINS: z
    .string()
    .transform((list) =>
      list
        .split(",")
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .refine((list) => list.every((o) => asOrigin(o)), "must be a comma list of origins like https://app.example.com")
    .transform((list) => list.map((o) => asOrigin(o) as string))
    .optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
    .optional(),
  BERTH_ENCRYPTION_KEYS: z
    .string()
    .regex(/^[\w-]+:[A-Za-z0-9+/=]+(,[\w-]+:[A-Za-z0-9+/=]+)*$/, "must be kid:base64key[,kid:base64key…]")
    .optional(),
  SANDBOX_PROVIDER: z.enum(["local", "e2b", "process"]).default("local"),
  E2B_API_KEY: z.string().optional(),
  E2B_DOMAIN: z.string().optional(),
  E2B_API_URL: z.url().optional(),
  E2B_SANDBOX_URL: z.url().optional(),
  E2B_PORT_URL_TEMPLATE: z.string().optional(),
  E2B_TEMPLATE: z.string().optional(),
  E2B_MAX_LIFETIME_SECONDS: z.coerce.number().int().min(300).max(86400).default(3600),
  NEXT_PUBLIC_SUPABASE_URL: z.url().optional(),
  NEXT_PUBLIC_SUPABASE_PUBLISHABLE_KEY: z.string().optional(),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(20).optional(),
  /** The project's legacy HS256 JWT secret, when its tokens are still signed with it. */
  SUPABASE_JWT_SECRET: z.string().min(32).optional(),
  BERTH_MAINTENANCE_INTERVAL_MS: z.coerce.number().int().min(20).default(5000),
  BERTH_IDLE_SLEEP_SECONDS: z.coerce.number().int().min(0).max(604_800).default(600),
  BERTH_EVENT_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(30),
  BERTH_OAUTH_REFRESH_FLOOR_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  BERTH_RESTART_LIMIT: z.coerce.number().int().min(0).max(100).default(5),
  BERTH_RESTART_BACKOFF_MS: z.coerce.number().int().min(10).default(1000),
  BERTH_MCP_MAX_CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(64),
  BERTH_MCP_SESSION_IDLE_SECONDS: z.coerce.number().int().min(1).max(604_800).default(1800),
  BERTH_MCP_MAX_SESSIONS_PER_CONNECTION: z.coerce.number().int().min(1).max(100_000).default(64),
  BERTH_MCP_MAX_SESSIONS_PER_ACCOUNT: z.coerce.number().int().min(1).max(1_000_000).default(256),
  BERTH_API_REQUESTS_PER_SECOND: z.coerce.number().int().min(1).max(1_000_000).default(50),
  BERTH_MCP_BODY_BYTES_PER_SECOND: z.coerce.number().int().min(4_194_304).default(16_777_216), // 16 MiB/s
  BERTH_SANDBOX_OUTPUT_BYTES_PER_SECOND: z.coerce.number().int().min(65_536).default(8_388_608), // 8 MiB/s
  // Local sandboxes: one sandbox, one account's on this host, all of them (defaults: bubblewrap.ts).
  BERTH_SANDBOX_MEMORY_MIB: mib.optional(),
  BERTH_SANDBOX_PIDS: count.optional(),
  BERTH_SANDBOX_HOME_MIB: mib.optional(),
  BERTH_SANDBOX_HOME_INODES: z.coerce.number().int().min(64).max(100_000_000).optional(),
  BERTH_ACCOUNT_MEMORY_MIB: mib.optional(),
  BERTH_ACCOUNT_PIDS: count.optional(),
  BERTH_SANDBOXES_MEMORY_MIB: mib.optional(),
  BERTH_SANDBOXES_PIDS: count.optional(),
  // Any provider: how many sandboxes one account may hold at once.
  BERTH_ACCOUNT_MAX_SLEEPING: z.coerce.number().int().min(0).max(1_000_000).default(100),
  BERTH_ACCOUNT_MAX_SANDBOXES: z.coerce.number().int().min(1).max(100_000).default(20),
  BERTH_ACCOUNT_MAX_RUNS: z.coerce.number().int().min(1).max(10_000).default(4),
  // How many sandboxes one account may start a minute (installs, dry runs, runs, restarts).
  BERTH_ACCOUNT_SANDBOX_STARTS_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(120),
  /** The operator's key for `GET /api/metrics` (it spans accounts: no account's key reads it). */
  BERTH_METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  // OpenTelemetry's own variables, as its SDKs read them; checked here so a typo stops start.
  OTEL_SDK_DISABLED: z.enum(["true", "false"]).optional(),
  OTEL_TRACES_EXPORTER: z
    .string()
    .refine(
      (v) => v.split(",").every((e) => ["otlp", "console", "none"].includes(e.trim())),
      "must be otlp, console or none",
    )
    .optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(["http/protobuf", "http/json"], "must be http/protobuf or http/json").optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z
    .enum(["http/protobuf", "http/json"], "must be http/protobuf or http/json")
    .optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type Config = ReturnType<typeof loadConfig>;

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env) {
  // Empty strings mean "unset" so that `FOO= npm start` behaves like leaving FOO out.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  if (Boolean(e.NEXT_PUBLIC_SUPABASE_URL) !== Boolean(e.NEXT_PUBLIC_SUPABASE_PUBLISHABLE_KEY)) {
    throw new ConfigError(
      "Invalid configuration:\n  NEXT_PUBLIC_SUPABASE_URL and NEXT_PUBLIC_SUPABASE_PUBLISHABLE_KEY must be set together",
    );
  }
  const dataDir = path.resolve(e.BERTH_DATA_DIR);
  const publicUrl = (e.BERTH_PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/$/, "");
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    publicUrl,
    /** Web origins whose browsers may call the API and the MCP endpoints (origins.ts). */
    origins: originsOf(publicUrl, e.BERTH_ALLOWED_ORIGINS),
    databaseUrl: e.DATABASE_URL,
    encryptionKeys: e.BERTH_ENCRYPTION_KEYS,
    sandboxProvider: e.SANDBOX_PROVIDER,
    e2b: {
      apiKey: e.E2B_API_KEY,
      domain: e.E2B_DOMAIN,
      apiUrl: e.E2B_API_URL,
      sandboxUrl: e.E2B_SANDBOX_URL,
      portUrlTemplate: e.E2B_PORT_URL_TEMPLATE ?? "https://{port}-{sandboxId}.{domain}",
      template: e.E2B_TEMPLATE,
      maxLifetimeSeconds: e.E2B_MAX_LIFETIME_SECONDS,
    },
    supabase: e.NEXT_PUBLIC_SUPABASE_URL
      ? {
          url: e.NEXT_PUBLIC_SUPABASE_URL,
          publishableKey: e.NEXT_PUBLIC_SUPABASE_PUBLISHABLE_KEY as string,
          jwtSecret: e.SUPABASE_JWT_SECRET,
        }
      : undefined,
    /** Berth's OAuth apps at the providers servers' definitions declare (`oauth`), by slug. */
    upstreamOAuthClients: upstreamOAuthClientsOf(env),
    upstreamOAuthRefreshFloorMs: e.BERTH_OAUTH_REFRESH_FLOOR_SECONDS * 1000,
    /** Schedulers' key for `POST /api/maintenance` (Supabase's service role key). */
    serviceRoleKey: e.SUPABASE_SERVICE_ROLE_KEY,
    maintenanceIntervalMs: e.BERTH_MAINTENANCE_INTERVAL_MS,
    /** A keep-alive connection without an MCP request this long is put to sleep; 0: never. */
    idleSleepMs: e.BERTH_IDLE_SLEEP_SECONDS * 1000,
    /** Tool-call events older than this many days are pruned (counted per day first); 0: kept forever. */
    eventRetentionDays: e.BERTH_EVENT_RETENTION_DAYS,
    mcpMaxConcurrency: e.BERTH_MCP_MAX_CONCURRENCY,
    mcpSessionIdleMs: e.BERTH_MCP_SESSION_IDLE_SECONDS * 1000,
    mcpMaxSessionsPerConnection: e.BERTH_MCP_MAX_SESSIONS_PER_CONNECTION,
    mcpMaxSessionsPerAccount: e.BERTH_MCP_MAX_SESSIONS_PER_ACCOUNT,
    sandboxOutputBytesPerSecond: e.BERTH_SANDBOX_OUTPUT_BYTES_PER_SECOND,
    apiRequestsPerSecond: e.BERTH_API_REQUESTS_PER_SECOND,
    mcpBodyBytesPerSecond: e.BERTH_MCP_BODY_BYTES_PER_SECOND,
    sandboxLimits: {
      sandbox: {
        memoryMiB: e.BERTH_SANDBOX_MEMORY_MIB,
        pids: e.BERTH_SANDBOX_PIDS,
        homeMiB: e.BERTH_SANDBOX_HOME_MIB,
        homeInodes: e.BERTH_SANDBOX_HOME_INODES,
      },
      account: { memoryMiB: e.BERTH_ACCOUNT_MEMORY_MIB, pids: e.BERTH_ACCOUNT_PIDS },
      total: { memoryMiB: e.BERTH_SANDBOXES_MEMORY_MIB, pids: e.BERTH_SANDBOXES_PIDS },
    },
    accountCaps: {
      sandboxes: e.BERTH_ACCOUNT_MAX_SANDBOXES,
      sleeping: e.BERTH_ACCOUNT_MAX_SLEEPING,
      runs: e.BERTH_ACCOUNT_MAX_RUNS,
      startsPerMinute: e.BERTH_ACCOUNT_SANDBOX_STARTS_PER_MINUTE,
    },
    restartPolicy: { limit: e.BERTH_RESTART_LIMIT, backoffMs: e.BERTH_RESTART_BACKOFF_MS, stableMs: 60_000 },
    logLevel: e.LOG_LEVEL,
    metricsToken: e.BERTH_METRICS_TOKEN,
    tracing: tracingOf(e),
  };
}

/**
 * Traces are exported only when asked for, the way OpenTelemetry's SDKs read it: an exporter
 * named in OTEL_TRACES_EXPORTER, or (unnamed) an OTLP endpoint set. Off: nothing is loaded.
 */
function tracingOf(e: z.output<typeof EnvSchema>) {
  if (e.OTEL_SDK_DISABLED === "true") return undefined;
  const named = e.OTEL_TRACES_EXPORTER?.split(",").map((x) => x.trim());
  const endpoint = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_ENDPOINT;
  const exporters = (named ?? (endpoint ? ["otlp"] : [])).filter((x) => x !== "none") as ("otlp" | "console")[];
  if (!exporters.length) return undefined;
  const protocol = e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf";
  return { exporters: [...new Set(exporters)], protocol };
}

/**
 * `BERTH_OAUTH_<SLUG>_CLIENT_ID` (and `_CLIENT_SECRET`, unless the provider takes public clients)
 * for the definition of that slug, upper-cased with `_` for `-`: `BERTH_OAUTH_GITHUB_CLIENT_ID`.
 */
function upstreamOAuthClientsOf(env: Record<string, string | undefined>) {
  const clients: Record<string, UpstreamOAuthClient> = {};
  for (const [name, value] of Object.entries(env)) {
    const key = /^BERTH_OAUTH_([A-Z0-9_]+)_CLIENT_ID$/.exec(name)?.[1];
    if (!key || !value) continue;
    const slug = key.toLowerCase().replaceAll("_", "-");
    const clientSecret = env[`BERTH_OAUTH_${key}_CLIENT_SECRET`] || undefined;
    clients[slug] = { clientId: value, ...(clientSecret ? { clientSecret } : {}) };
  }
  return clients;
}
