import { randomBytes } from "node:crypto";
import { loadConfig } from "@/lib/config";
import type { Db } from "@/lib/db/db";
import { getInstallationId } from "@/lib/db/queries/settings";
import { openBerth } from "@/lib/node";
import type { FakeE2B } from "../fakes/e2b-server";
import { tempDir } from "./temp-dirs";

/**
 * Berth instances and thousands of running E2B connections for one maintenance sweep
 * (tests/e2b/maintenance-at-scale.test.ts, scripts/bench/maintenance.ts): the rows are written
 * straight into the database, each naming a light sandbox of the fake E2B, as if installed long ago.
 */

/** One Berth instance's dependencies, as `npm start` builds them, with E2B at the fake; PGlite without a URL. */
export async function openSweeper(fake: FakeE2B, { databaseUrl, keys }: { databaseUrl?: string; keys: string }) {
  const config = loadConfig({
    ...fake.berthEnv(),
    DATABASE_URL: databaseUrl,
    BERTH_ENCRYPTION_KEYS: keys,
    BERTH_DATA_DIR: tempDir("berth-sweeper-"),
    LOG_LEVEL: "silent",
  });
  return openBerth(config);
}

/** Encryption keys shared by instances of one database. */
export function newEncryptionKeys() {
  return `k1:${randomBytes(32).toString("base64")}`;
}

export type SeededConnection = { id: string; sandboxId: string; expiresAt: Date };

export type SeededConnections = {
  accountId: string;
  /** Keep-alive, 30 s of 600 left: to be extended. */
  keepAliveDue: SeededConnection[];
  /** Without keep-alive, a second past expires_at (its sandbox still up): to be expired. */
  expiring: SeededConnection[];
  /** Keep-alive with 500 s left, or without keep-alive and 500 s left: not to be touched. */
  notDue: SeededConnection[];
};

const TIMEOUT_SECONDS = 600;

/** Writes running E2B connections of one new account, with a light sandbox of the fake for each. */
export async function seedRunningConnections(
  db: Db,
  fake: FakeE2B,
  counts: { keepAliveDue: number; expiring: number; notDue: number },
): Promise<SeededConnections> {
  const installation = await getInstallationId(db);
  const [account] = await db.query<{ id: string }>("insert into accounts (name) values ('Sweep') returning id");
  const accountId = (account as { id: string }).id;
  const kinds = [
    { name: "keepAliveDue" as const, n: counts.keepAliveDue, keepAlive: true, leftSeconds: 30 },
    { name: "expiring" as const, n: counts.expiring, keepAlive: false, leftSeconds: -1 },
    { name: "notDue" as const, n: Math.ceil(counts.notDue / 2), keepAlive: true, leftSeconds: 500 },
    { name: "notDue" as const, n: Math.floor(counts.notDue / 2), keepAlive: false, leftSeconds: 500 },
  ];
  const out: SeededConnections = { accountId, keepAliveDue: [], expiring: [], notDue: [] };
  for (const kind of kinds) {
    if (!kind.n) continue;
    const ids = Array.from({ length: kind.n }, () => crypto.randomUUID());
    const sandboxIds = fake.addLightSandboxes(kind.n, {
      // E2B's own timeout outlasts the test: the sweep, not E2B, has to end or extend them.
      timeoutSeconds: TIMEOUT_SECONDS,
      metadata: (i) => ({
        berth_installation: installation,
        berth_account_id: accountId,
        berth_connection_id: ids[i] as string,
      }),
    });
    const rows = await db.query<{ id: string; sandbox_id: string; expires_at: Date }>(
      `insert into mcp_connections (id, account_id, server_id, name, status, provider, sandbox_id,
         credentials_ciphertext, credentials_key_id, keep_alive, timeout_seconds, expires_at, host, started_at)
       select c.id, $3, (select id from mcp_servers where slug = 'memory'), 'sweep', 'running', 'e2b', c.sandbox_id,
         'x', 'k1', $4, $5, now() + $6 * interval '1 second', 'another-instance', now()
       from unnest($1::uuid[], $2::text[]) as c(id, sandbox_id)
       returning id, sandbox_id, expires_at`,
      [ids, sandboxIds, accountId, kind.keepAlive, TIMEOUT_SECONDS, kind.leftSeconds],
    );
    out[kind.name].push(...rows.map((r) => ({ id: r.id, sandboxId: r.sandbox_id, expiresAt: new Date(r.expires_at) })));
  }
  return out;
}
