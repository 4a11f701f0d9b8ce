import type { Ctx } from "@/lib/core/context";
import type { Db } from "@/lib/db/db";
import {
  type ConnectionChanges,
  type ConnectionRow,
  type ConnectionStatus,
  changeStatus,
} from "@/lib/db/queries/connections";
import { addConnectionEvent, type EventType } from "@/lib/db/queries/events";
import { closeSandboxUsage, openSandboxUsage } from "@/lib/db/queries/sandbox-usage";

/**
 * Every change of a connection's status, with the events that record it, happens here, in the
 * caller's transaction: the row changes only from the statuses named (a change that lost a race
 * changes and records nothing), and the timeline reads the same whoever made the change — a
 * request, the supervisor, maintenance or Berth starting again. The event is named after the new
 * status, except a crash (`crashed`); a sandbox replaced on purpose is `restarted` first.
 */

type Key = { accountId: string; id: string };
type By = Ctx["actor"]["kind"];

/** Why a connection deploys; each `deploying` event says it, with who (`by`). */
export type DeployReason =
  | "installed"
  | "requested" // a restart asked for (REST, dashboard)
  | "credentials_updated"
  | "resumed_by_request" // a keep-alive connection's endpoint was called while it was down
  | "sandbox_lifetime" // the provider's lifetime cap is near
  | "crash_restart" // the backoff after a crash has passed
  | "deploy_abandoned" // the Berth deploying it died meanwhile
  | "berth_restarted" // the Berth hosting it started again
  | "adopted" // another instance takes over its sandbox (E2B)
  | "authorized" // its upstream OAuth authorization was given (it was `auth_required`)
  | "token_refreshed" // its upstream token was refreshed, and the server reads it at start
  | "woke"; // it was sleeping and a request came: `woke` precedes `deploying`

/** Reasons that replace a running (or stopped) sandbox on purpose: `restarted` precedes `deploying`. */
const RESTARTS: ReadonlySet<DeployReason> = new Set([
  "requested",
  "credentials_updated",
  "resumed_by_request",
  "sandbox_lifetime",
  "token_refreshed",
]);

const LIVE: ConnectionStatus[] = ["deploying", "running", "failed", "expired", "auth_required", "sleeping"];

async function record(db: Db, key: Key, type: EventType, data: Record<string, unknown>) {
  await addConnectionEvent(db, { accountId: key.accountId, connectionId: key.id, type, data });
}

async function change(
  db: Db,
  key: Key,
  from: ConnectionStatus[],
  changes: ConnectionChanges & { status: ConnectionStatus },
  events: [EventType, Record<string, unknown>][],
): Promise<ConnectionRow | undefined> {
  const row = await changeStatus(db, { ...key, fromStatus: from }, changes);
  if (row) {
    for (const [type, data] of events) await record(db, key, type, data);
    await meterSandbox(db, row);
  }
  return row;
}

/**
 * Sandbox-seconds follow the status, in the same transaction: a period of use opens when a
 * connection becomes `running` and closes with whatever takes it away from `running` (sleep,
 * expiry, crash, restart, delete), so every way a sandbox stops ends its metering.
 */
async function meterSandbox(db: Db, row: ConnectionRow) {
  const key = { accountId: row.account_id, connectionId: row.id };
  if (row.status !== "running") return closeSandboxUsage(db, key);
  await openSandboxUsage(db, {
    ...key,
    provider: row.provider,
    sandboxId: row.sandbox_id,
    startedAt: row.started_at ? new Date(row.started_at) : null,
  });
}

/** The events of a deploy that begins; a new connection's row is inserted `deploying`, so install calls this itself. */
export async function recordDeploying(
  db: Db,
  key: Key,
  { reason, by, ...data }: { reason: DeployReason; by: By } & Record<string, unknown>,
) {
  if (RESTARTS.has(reason)) await record(db, key, "restarted", { by, reason });
  if (reason === "woke") await record(db, key, "woke", { by, ...data });
  await record(db, key, "deploying", { reason, by, ...data });
}

/** To `deploying` (again, when its deployer was lost): a sandbox is to be made, or the one named reattached. */
export async function markDeploying(
  db: Db,
  key: Key,
  {
    from,
    reason,
    by,
    changes = {},
    data = {},
  }: {
    from: ConnectionStatus[];
    reason: DeployReason;
    by: By;
    changes?: ConnectionChanges;
    data?: Record<string, unknown>;
  },
) {
  const row = await changeStatus(db, { ...key, fromStatus: from }, { ...changes, status: "deploying" });
  if (row) {
    await recordDeploying(db, key, { reason, by, ...data });
    await meterSandbox(db, row);
  }
  return row;
}

/** A deploy that ended with a server: `running` on this sandbox. */
export function markRunning(
  db: Db,
  key: Key,
  changes: Required<Pick<ConnectionChanges, "sandbox_id" | "host" | "started_at" | "expires_at">>,
) {
  return change(db, key, ["deploying"], { ...changes, status: "running", last_error: null }, [
    ["running", { sandbox_id: changes.sandbox_id }],
  ]);
}

/**
 * `failed` with `error` as the reason (and the stderr tail); `data` adds to the event (a crash
 * loop's count). `sandboxId`: a sandbox that could not be stopped, kept for the next restart or
 * delete to stop (else none).
 */
export function markFailed(
  db: Db,
  key: Key,
  {
    from,
    error,
    stderr = "",
    sandboxId = null,
    changes = {},
    data = {},
  }: {
    from: ConnectionStatus[];
    error: string;
    stderr?: string;
    sandboxId?: string | null;
    changes?: ConnectionChanges;
    data?: Record<string, unknown>;
  },
) {
  const last_error = stderr ? `${error}\n${stderr}` : error;
  return change(db, key, from, { ...changes, status: "failed", sandbox_id: sandboxId, last_error }, [
    ["failed", { error, stderr, ...data }],
  ]);
}

/**
 * A running server that died on its own: `failed`, the `crashed` event saying which sandbox and
 * why, with the restart `plan` (its backoff, or the crash loop given up, then also `failed`).
 */
export function markCrashed(
  db: Db,
  key: Key,
  crash: { sandboxId: string; error: string; stderr: string; attempt: number },
  plan: Pick<ConnectionChanges, "last_error" | "restart_attempts" | "next_restart_at"> & { crashLoop?: number },
) {
  const { crashLoop, ...changes } = plan;
  const events: [EventType, Record<string, unknown>][] = [
    ["crashed", { sandbox_id: crash.sandboxId, error: crash.error, stderr: crash.stderr, attempt: crash.attempt }],
  ];
  if (crashLoop)
    events.push(["failed", { error: changes.last_error, stderr: "", reason: "crash_loop", crashes: crashLoop }]);
  return change(db, key, ["running"], { ...changes, status: "failed", sandbox_id: null }, events);
}

/**
 * Idle for `idleSeconds`: `sleeping`, no sandbox named. The instance hosting it pauses or stops its
 * sandbox right after, and names a paused one again once it is paused (keepPausedSandbox), for the
 * wake to resume: a wake before then (at another instance) makes a new sandbox rather than resume
 * one still being paused.
 */
export function markSleeping(db: Db, key: Key, { idleSeconds }: { idleSeconds: number }) {
  return change(db, key, ["running"], { status: "sleeping", sandbox_id: null }, [
    ["slept", { idle_seconds: idleSeconds }],
  ]);
}

/** Its time is up: `expired`, no sandbox, no restart pending. */
export function markExpired(db: Db, key: Key, { from, expiresAt }: { from: ConnectionStatus[]; expiresAt: Date }) {
  return change(db, key, from, { status: "expired", sandbox_id: null, next_restart_at: null }, [
    ["expired", { expires_at: new Date(expiresAt).toISOString() }],
  ]);
}

/** Deleted (its sandbox already stopped): the row stays for the audit trail, gone from every answer. */
export function markDeleted(db: Db, key: Key, { by }: { by: By }) {
  return change(db, key, LIVE, { status: "deleted", sandbox_id: null }, [["deleted", { by }]]);
}

/**
 * Its upstream authorization is missing or no longer works (`error` says why): `auth_required`,
 * no sandbox, no restart or refresh pending, until an admin connects it again. A new connection
 * installed to connect through OAuth is inserted so; install records it with `recordAuthRequired`.
 */
export function markAuthRequired(
  db: Db,
  key: Key,
  { from, error, by }: { from: ConnectionStatus[]; error: string; by: By },
) {
  return change(
    db,
    key,
    from,
    { status: "auth_required", sandbox_id: null, next_restart_at: null, oauth_refresh_at: null, last_error: error },
    [["auth_required", { error, by }]],
  );
}

export async function recordAuthRequired(db: Db, key: Key, { error, by }: { error: string; by: By }) {
  await record(db, key, "auth_required", { error, by });
}
