import type { Db } from "../db";
import type { ConnectionRow } from "./connections";

/**
 * The maintenance loop's work, claimed row by row with `FOR UPDATE SKIP LOCKED` and changed in
 * the same transaction, so with several Berth instances on one database each due connection is
 * handled by exactly one of them. These span accounts by design: they are the system's jobs.
 */

export type Claimed = Pick<
  ConnectionRow,
  "id" | "account_id" | "sandbox_id" | "timeout_seconds" | "expires_at" | "host"
>;

const RETURNING = "c.id, c.account_id, c.sandbox_id, c.timeout_seconds, c.expires_at, c.host";

/** A keep-alive connection claimed for extension, with the expiry it had before. */
export type KeepAliveClaim = Claimed & { previous_expires_at: Date };

/**
 * Running keep-alive connections with less than max(timeout/3, 60 s) left get `now + timeout`:
 * claimed so (no longer due, so no other instance takes them), before the provider is asked.
 */
export function claimKeepAlive(db: Db, { limit = 100 } = {}) {
  return db.query<KeepAliveClaim>(
    `with due as (
       select id, expires_at from mcp_connections
       where status = 'running' and keep_alive
         and expires_at < now() + greatest(timeout_seconds / 3.0, 60) * interval '1 second'
       order by expires_at for update skip locked limit $1)
     update mcp_connections c set expires_at = now() + c.timeout_seconds * interval '1 second', updated_at = now()
     from due where c.id = due.id returning ${RETURNING}, due.expires_at as previous_expires_at`,
    [limit],
  );
}

/**
 * Claimed extensions the provider did not confirm get their old expiry back, so the next pass
 * finds them due again; only rows still holding the claimed expiry (to the millisecond the driver
 * keeps), so an extend or a new sandbox meanwhile stands.
 */
export async function restoreUnconfirmedExpiries(db: Db, claims: KeepAliveClaim[]) {
  if (!claims.length) return;
  await db.query(
    `update mcp_connections c set expires_at = r.previous
     from unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) as r(id, claimed, previous)
     where c.id = r.id and abs(extract(epoch from c.expires_at - r.claimed)) < 0.001`,
    [claims.map((c) => c.id), claims.map((c) => c.expires_at), claims.map((c) => c.previous_expires_at)],
  );
}

/**
 * The rows of one kind of due work, locked for this transaction (`FOR UPDATE SKIP LOCKED`: other
 * instances skip them); the caller changes their status (lib/core/services/connections/status.ts)
 * before it commits.
 */
function lockDue(db: Db, where: string, order: string, params: unknown[]) {
  return db.query<Claimed>(
    `select ${RETURNING} from mcp_connections c where ${where}
     order by ${order} for update skip locked limit $1`,
    params,
  );
}

/** Running connections without keep-alive past expires_at: to be `expired`. */
export function lockExpired(db: Db, { limit = 100 } = {}) {
  return lockDue(db, "status = 'running' and not keep_alive and expires_at <= now()", "expires_at", [limit]);
}

/** Crashed connections whose backoff has passed: to be deployed again. */
export function lockRestarts(db: Db, { limit = 20 } = {}) {
  return lockDue(db, "status = 'failed' and next_restart_at <= now()", "next_restart_at", [limit]);
}

/** Connections left `deploying` longer than `seconds` (their Berth died mid-deploy): to be deployed again. */
export function lockStuckDeploys(db: Db, { seconds, limit = 20 }: { seconds: number; limit?: number }) {
  return lockDue(db, "status = 'deploying' and updated_at < now() - $2 * interval '1 second'", "updated_at", [
    limit,
    seconds,
  ]);
}

/** Running sandboxes older than `seconds` (E2B's lifetime cap is near): to be replaced. */
export function lockAgedSandboxes(db: Db, { seconds, limit = 20 }: { seconds: number; limit?: number }) {
  return lockDue(db, "status = 'running' and started_at < now() - $2 * interval '1 second'", "started_at", [
    limit,
    seconds,
  ]);
}

/**
 * Of these sandboxes this instance holds, the ones whose connection is still running on it with
 * keep-alive: idle ones to put to sleep, locked for this transaction.
 */
export function lockSleepers(
  db: Db,
  { host, sandboxes }: { host: string; sandboxes: { connectionId: string; sandboxId: string }[] },
) {
  return db.query<Claimed>(
    `select ${RETURNING} from mcp_connections c
     join unnest($1::uuid[], $2::text[]) as s(connection_id, sandbox_id)
       on s.connection_id = c.id and s.sandbox_id = c.sandbox_id
     where c.status = 'running' and c.keep_alive and c.host = $3
     order by c.account_id
     for update of c skip locked`,
    [sandboxes.map((s) => s.connectionId), sandboxes.map((s) => s.sandboxId), host],
  );
}

/**
 * A sleeping connection's sandbox is paused: named on the row again, for the wake to resume; false
 * when the connection was woken (or deleted) meanwhile, and the paused sandbox is no one's.
 */
export async function keepPausedSandbox(db: Db, { id, sandboxId }: { id: string; sandboxId: string }) {
  const rows = await db.query(
    "update mcp_connections set sandbox_id = $2 where id = $1 and status = 'sleeping' and sandbox_id is null returning id",
    [id, sandboxId],
  );
  return rows.length > 0;
}

/** What went wrong as a connection went to sleep (its home not kept, say), for its owner to read. */
export async function noteSleepProblem(db: Db, { id, problem }: { id: string; problem: string }) {
  await db.query("update mcp_connections set last_error = $2 where id = $1 and status = 'sleeping'", [
    id,
    `Went to sleep badly: ${problem.slice(0, 2000)}`,
  ]);
}

/**
 * Of these connection ids, the ones whose current sandbox is still the given one (a sleeping
 * connection's paused sandbox included: it is resumed on wake), with the instance hosting each.
 */
export async function currentSandboxes(
  db: Db,
  { sandboxes }: { sandboxes: { connectionId: string; sandboxId: string }[] },
) {
  if (!sandboxes.length) return new Map<string, string | null>();
  const rows = await db.query<{ id: string; host: string | null }>(
    `select c.id, c.host from mcp_connections c
     join unnest($1::uuid[], $2::text[]) as s(connection_id, sandbox_id) on s.connection_id = c.id
     where c.status in ('running', 'deploying', 'sleeping') and (c.sandbox_id = s.sandbox_id or c.status = 'deploying')`,
    [sandboxes.map((s) => s.connectionId), sandboxes.map((s) => s.sandboxId)],
  );
  return new Map(rows.map((r) => [r.id, r.host]));
}
