import type { Db } from "../db";

/**
 * What the operator's metrics read at each scrape. They span accounts by design: only the
 * operator's metrics token reaches them (GET /api/metrics), never an account's key.
 */

/** Connections by status and provider, deleted ones left out: one grouped count. */
export async function connectionCounts(db: Db) {
  const rows = await db.query<{ status: string; provider: string; connections: string | number }>(
    `select status, provider, count(*) as connections from mcp_connections
     where status <> 'deleted' group by status, provider`,
  );
  return rows.map((r) => ({ ...r, connections: Number(r.connections) }));
}

/** Every account's sandbox-seconds so far, by provider (a period still open counts up to now). */
export async function sandboxSecondsByAccount(db: Db) {
  const rows = await db.query<{ account_id: string; provider: string; seconds: string | number }>(
    `select account_id, provider,
            sum(extract(epoch from coalesce(ended_at, greatest(started_at, now())) - started_at)) as seconds
     from sandbox_usage group by account_id, provider`,
  );
  return rows.map((r) => ({ ...r, seconds: Number(r.seconds) }));
}
