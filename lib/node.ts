import fs from "node:fs";
import path from "node:path";
import type { AppDeps } from "@/lib/app-deps";
import { authenticateHeaders } from "@/lib/auth/authenticate";
import { hashPassword, verifyPassword } from "@/lib/auth/password";
import { seedCatalogue } from "@/lib/catalogue/seed";
import type { Config } from "@/lib/config";
import { createCredentialsCipher } from "@/lib/crypto/credentials-cipher";
import { loadKeyring, loadOrCreateSecret } from "@/lib/crypto/keyring";
import { type DbHandle, openDb } from "@/lib/db/client";
import { migrate } from "@/lib/db/migrate";
import { getInstallationId } from "@/lib/db/queries/settings";
import { createLogger } from "@/lib/log";
import { LocalProvider, plainProcess } from "@/lib/sandbox/local";
import type { SandboxProvider } from "@/lib/sandbox/provider";
import { NodeSandboxRuntime } from "@/lib/sandbox/runtime";

export type Berth = {
  deps: AppDeps;
  db: DbHandle;
  runtime: NodeSandboxRuntime;
  warnings: string[];
  close(): Promise<void>;
};

/** Opens the database (migrated, catalogue seeded), the keys and the sandbox runtime, once. */
export async function openBerth(
  config: Config,
  opts: { withRuntime: boolean } = { withRuntime: true },
): Promise<Berth> {
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const warnings: string[] = [];
  const log = createLogger(config.logLevel);
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
  const runtime = new NodeSandboxRuntime(createProvider(config), await getInstallationId(db));
  const sessionPassword = loadOrCreateSecret(config.dataDir, "session-secret");
  // Stable across restarts of this instance, so it finds the connections it hosted.
  const host = loadOrCreateSecret(config.dataDir, "instance-id");
  const deps: AppDeps = {
    db,
    runtime,
    cipher: await createCredentialsCipher(keyring.keys),
    publicUrl: config.publicUrl,
    log,
    now: Date.now,
    installWaitMs: 20_000,
    host,
    sessionPassword,
    secureCookies: config.publicUrl.startsWith("https://"),
    hashPassword,
    verifyPassword,
    providerInfo: { name: runtime.provider, isolated: runtime.isolated },
    authenticate: (req) =>
      authenticateHeaders(db, sessionPassword, {
        authorization: req.headers.get("authorization"),
        cookie: req.headers.get("cookie"),
      }),
    health: async () => ({
      database: db.kind,
      sandbox: runtime.describe(),
    }),
  };
  if (!runtime.isolated && opts.withRuntime) {
    warnings.push("Sandboxes are NOT isolated: MCP servers run as plain processes on this host.");
  }
  return {
    deps,
    db,
    runtime,
    warnings,
    async close() {
      await runtime.shutdown();
      await db.close();
    },
  };
}

function createProvider(config: Config): SandboxProvider {
  if (config.sandboxProvider === "e2b") {
    throw new Error("SANDBOX_PROVIDER=e2b is not available in this version yet; use local (the default).");
  }
  return new LocalProvider(path.join(config.dataDir, "sandboxes"), plainProcess);
}
