import { authenticateHeaders, authHeadersOf } from "@/lib/auth/authenticate";
import { serviceKeyCheck } from "@/lib/auth/service-key";
import { createSupabaseJwtVerifier } from "@/lib/auth/supabase-jwt";
import { loadConfig } from "@/lib/config";
import type { Logger } from "@/lib/core/context";
import { createRouter, type HttpDeps } from "@/lib/core/http/route";
import { ROUTES } from "@/lib/core/http/routes";
import { createCredentialsCipher, parseKeySpec } from "@/lib/crypto/credentials-cipher";
import { openDb } from "@/lib/db/client";
import { getInstallationId } from "@/lib/db/queries/settings";
import { maintenanceSettings, runMaintenance } from "@/lib/jobs/maintenance";
import { TokenBuckets } from "@/lib/limits/token-buckets";
import { E2BProvider } from "@/lib/sandbox/e2b";
import { NodeSandboxRuntime } from "@/lib/sandbox/runtime";

/** Where Supabase serves the function: `/functions/v1/<name>` (the hosted gateway strips `/functions/v1`). */
export const FUNCTION_NAME = "mcp-connections";

/**
 * The REST table's paths as the Edge Function serves them: `/api/mcp-connections/…` becomes
 * `/mcp-connections/…` and every other `/api/x` `/mcp-connections/x`, so CONTRACT's
 * `POST /install`, `GET /:id`, `GET /mcp-server-definitions`… sit right under the function.
 */
export function functionPath(apiPath: string) {
  const rest = apiPath.replace(/^\/api/, "");
  return rest.startsWith(`/${FUNCTION_NAME}`) ? rest : `/${FUNCTION_NAME}${rest}`;
}

/**
 * Berth's REST API for the Supabase Edge Function (Deno): the same route table and services as
 * the app, on the project's Postgres (`DATABASE_URL`, or Supabase's `SUPABASE_DB_URL`) with E2B
 * sandboxes. An Edge Function lives for one request or a few, so it runs no maintenance loop
 * and migrates nothing: `supabase db push` applies the migrations, and a scheduler (pg_cron)
 * calls `POST /maintenance` with the service key.
 */
export async function createEdgeHandler(env: Record<string, string | undefined>) {
  const config = loadConfig({
    ...env,
    DATABASE_URL: env.DATABASE_URL || env.SUPABASE_DB_URL,
    SANDBOX_PROVIDER: "e2b",
  });
  if (!config.databaseUrl) throw new Error("Set DATABASE_URL (or SUPABASE_DB_URL) for the Edge Function.");
  if (!config.encryptionKeys) throw new Error("Set BERTH_ENCRYPTION_KEYS for the Edge Function.");
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: "/tmp" });
  const log = consoleLogger();
  const provider = new E2BProvider({ ...config.e2b, outputBytesPerSecond: config.sandboxOutputBytesPerSecond });
  const runtime = new NodeSandboxRuntime(provider, await getInstallationId(db), {
    maxRunsPerAccount: config.accountCaps.runs,
  });
  // Supabase sets SUPABASE_URL in every function; the app's NEXT_PUBLIC_ name works as well.
  const supabaseUrl = env.SUPABASE_URL || env.NEXT_PUBLIC_SUPABASE_URL;
  const auth = {
    supabase: supabaseUrl
      ? createSupabaseJwtVerifier({ url: supabaseUrl, jwtSecret: env.SUPABASE_JWT_SECRET })
      : undefined,
  };
  const deps: HttpDeps = {
    db,
    runtime,
    cipher: await createCredentialsCipher(parseKeySpec(config.encryptionKeys)),
    publicUrl: config.publicUrl,
    log,
    now: Date.now,
    // The isolate may not outlive the answer: an install waits for its deploy to end.
    installWaitMs: 60_000,
    maxSandboxesPerAccount: config.accountCaps.sandboxes,
    maxSleepingPerAccount: config.accountCaps.sleeping,
    sandboxStarts: new TokenBuckets(config.accountCaps.startsPerMinute / 60, config.accountCaps.startsPerMinute),
    host: `edge-function:${FUNCTION_NAME}`,
    // As the app decides (lib/config.ts): both public Supabase settings mean users sign in there.
    supabaseAuth: Boolean(env.NEXT_PUBLIC_SUPABASE_URL && env.NEXT_PUBLIC_SUPABASE_PUBLISHABLE_KEY),
    upstreamOAuthClients: config.upstreamOAuthClients,
    upstreamOAuthRefreshFloorMs: config.upstreamOAuthRefreshFloorMs,
    authenticate: (req) => authenticateHeaders(db, auth, { ...authHeadersOf(req), cookie: null }),
    health: async () => ({ database: db.kind, sandbox: { provider: runtime.provider, isolated: runtime.isolated } }),
    maintain: () => runMaintenance({ deps, runtime, ...maintenanceSettings(config) }),
    isService: serviceKeyCheck(config.serviceRoleKey),
  };
  const route = createRouter(ROUTES, { origins: config.origins, toPath: functionPath, live: false });
  return (req: Request) => {
    const pathname = new URL(req.url).pathname.replace(/^\/functions\/v1(?=\/)/, "");
    return route(req, deps, pathname);
  };
}

/** One JSON line per entry on stderr, which Supabase's function logs collect. */
function consoleLogger(): Logger {
  const line = (level: string) => (obj: object, msg?: string) => {
    const err = (obj as { err?: unknown }).err;
    const entry = {
      level,
      msg,
      ...obj,
      ...(err instanceof Error ? { err: { message: err.message, stack: err.stack } } : {}),
    };
    console.error(JSON.stringify(entry));
  };
  return { info: line("info"), warn: line("warn"), error: line("error") };
}
