import type { Db } from "../db";
import type { ConnectionRow } from "./connections";

/**
 * The maintenance loop's work, claimed row by row with `FOR UPDATE SKIP LOCKED` and changed in
 * the same statement, so with several Berth instances on one database each due connection is
 * handled by exactly one of them. These span accounts by design: they are the system's jobs.
 */

type Claimed = Pick<ConnectionRow, "id" | "account_id" | "sandbox_id" | "timeout_seconds" | "expires_at" | "host">;

const RETURNING = "c.id, c.account_id, c.sandbox_id, c.timeout_seconds, c.expires_at, c.host";

/** Running keep-alive connections with less than max(timeout/3, 60 s) left get `now + timeout`. */
export function claimKeepAlive(db: Db, { limit = 100 } = {}) {
  return db.query<Claimed>(
    `with due as (
       select id from mcp_connections
       where status = 'running' and keep_alive
         and expires_at < now() + greatest(timeout_seconds / 3.0, 60) * interval '1 second'
       order by expires_at for update skip locked limit $1)
     update mcp_connections c set expires_at = now() + c.timeout_seconds * interval '1 second', updated_at = now()
     from due where c.id = due.id returning ${RETURNING}`,
    [limit],
  );
}

/** Running connections without keep-alive past expires_at become `expired`; returns their old sandbox. */
export function claimExpired(db: Db, { limit = 100 } = {}) {
  return db.query<Claimed>(
    `with due as (
       select id, sandbox_id from mcp_connections
       where status = 'running' and not keep_alive and expires_at <= now()
       order by expires_at for update skip locked limit $1)
     update mcp_connections c set status = 'expired', sandbox_id = null, next_restart_at = null, updated_at = now()
     from due where c.id = due.id
     returning c.id, c.account_id, due.sandbox_id, c.timeout_seconds, c.expires_at, c.host`,
    [limit],
  );
}

/** Crashed connections whose backoff has passed go back to `deploying`. */
export function claimRestarts(db: Db, { limit = 20 } = {}) {
  return db.query<Claimed>(
    `with due as (
       select id from mcp_connections
       where status = 'failed' and next_restart_at <= now()
       order by next_restart_at for update skip locked limit $1)
     update mcp_connections c set status = 'deploying', next_restart_at = null, updated_at = now()
     from due where c.id = due.id returning ${RETURNING}`,
    [limit],
  );
}

/**
 * Connections left `deploying` longer than `seconds` (their Berth died mid-deploy) are claimed
 * for a new deploy; touching updated_at keeps other instances off them meanwhile.
 */
export function claimStuckDeploys(db: Db, { seconds, limit = 20 }: { seconds: number; limit?: number }) {
  return db.query<Claimed>(
    `with due as (
       select id from mcp_connections
       where status = 'deploying' and updated_at < now() - $1 * interval '1 second'
       order by updated_at for update skip locked limit $2)
     update mcp_connections c set updated_at = now()
     from due where c.id = due.id returning ${RETURNING}`,
    [seconds, limit],
  );
}

/** Running sandboxes older than `seconds` (E2B's lifetime cap is near): to be replaced. */
export function claimAgedSandboxes(db: Db, { seconds, limit = 20 }: { seconds: number; limit?: number }) {
  return db.query<Claimed>(
    `with due as (
       select id from mcp_connections
       where status = 'running' and started_at < now() - $1 * interval '1 second'
       order by started_at for update skip locked limit $2)
     update mcp_connections c set status = 'deploying', updated_at = now()
     from due where c.id = due.id returning ${RETURNING}`,
    [seconds, limit],
  );
}

/** Of these connection ids, the ones whose current sandbox is still the given one. */
export async function currentSandboxes(
  db: Db,
  { sandboxes }: { sandboxes: { connectionId: string; sandboxId: string }[] },
) {
  if (!sandboxes.length) return new Set<string>();
  const rows = await db.query<{ id: string }>(
    `select c.id from mcp_connections c
     join unnest($1::uuid[], $2::text[]) as s(connection_id, sandbox_id) on s.connection_id = c.id
     where c.status in ('running', 'deploying') and (c.sandbox_id = s.sandbox_id or c.status = 'deploying')`,
    [sandboxes.map((s) => s.connectionId), sandboxes.map((s) => s.sandboxId)],
  );
  return new Set(rows.map((r) => r.id));
}
