import type { Ctx, Deps } from "@/lib/core/context";
import { deployConnection } from "@/lib/core/services/connections/deploy";
import type { Db } from "@/lib/db/db";
import {
  type ConnectionRow,
  getConnectionForUpdate,
  listConnectionsInStatus,
  updateConnection,
} from "@/lib/db/queries/connections";
import { addConnectionEvent } from "@/lib/db/queries/events";
import { currentSandboxes } from "@/lib/db/queries/maintenance";
import type { CrashReport, NodeSandboxRuntime } from "@/lib/sandbox/runtime";

export type RestartPolicy = {
  /** Crashes in a row after which Berth gives up (crash loop). */
  limit: number;
  /** First backoff; doubled for each crash in a row, at most 5 minutes. */
  backoffMs: number;
  /** A server that ran this long before crashing starts a new series. */
  stableMs: number;
};

const EXPIRY_SLACK_MS = 2000;

export const systemCtx = (deps: Deps, accountId: string): Ctx => ({ ...deps, accountId, actor: { kind: "system" } });

const backoffFor = (policy: RestartPolicy, attempt: number) => Math.min(policy.backoffMs * 2 ** (attempt - 1), 300_000);

/**
 * A server that died on its own: the connection becomes `failed` with the reason and stderr
 * tail, and a restart is scheduled with exponential backoff, until `limit` crashes in a row.
 */
export async function recordCrash(deps: Deps, policy: RestartPolicy, report: CrashReport) {
  const key = { accountId: report.accountId, id: report.connectionId };
  await deps.db.transaction(async (tx) => {
    const conn = await getConnectionForUpdate(tx, key);
    if (conn?.status !== "running" || conn.sandbox_id !== report.sandboxId) return; // stale report
    // A provider that enforces the lifetime itself (E2B) ends the sandbox at expires_at: that is expiry.
    if (!conn.keep_alive && deps.now() >= new Date(conn.expires_at).getTime() - EXPIRY_SLACK_MS) {
      await updateConnection(tx, key, { status: "expired", sandbox_id: null, next_restart_at: null });
      const data = { expires_at: new Date(conn.expires_at).toISOString() };
      await addConnectionEvent(tx, { ...key, connectionId: conn.id, type: "expired", data });
      return;
    }
    const ranFor = conn.started_at ? deps.now() - new Date(conn.started_at).getTime() : 0;
    const attempt = ranFor > policy.stableMs ? 1 : conn.restart_attempts + 1;
    const detail = report.stderrTail ? `${report.reason}\n${report.stderrTail}` : report.reason;
    await addConnectionEvent(tx, {
      ...key,
      connectionId: conn.id,
      type: "crashed",
      data: { sandbox_id: report.sandboxId, error: report.reason, stderr: report.stderrTail, attempt },
    });
    await scheduleRestart(tx, deps, policy, { ...key, attempt, detail });
  });
  deps.log.warn({ connectionId: report.connectionId }, "MCP server crashed");
}

/**
 * After the `attempt`-th failure in a row: the next restart with backoff, or, past the limit,
 * the crash loop given up with the reason recorded. The connection is left `failed` either way.
 */
export async function scheduleRestart(
  db: Db,
  deps: Pick<Deps, "now">,
  policy: RestartPolicy,
  { accountId, id, attempt, detail }: { accountId: string; id: string; attempt: number; detail: string },
) {
  // Not a connection deleted or expired meanwhile.
  const key = { accountId, id, fromStatus: ["running", "failed"] as ConnectionRow["status"][] };
  if (attempt > policy.limit) {
    const lastError = `Crash loop: the server crashed ${policy.limit} times in a row; Berth stopped restarting it.\n${detail}`;
    const changes = { status: "failed" as const, sandbox_id: null, last_error: lastError, next_restart_at: null };
    if (!(await updateConnection(db, key, changes))) return;
    const data = { reason: "crash_loop", crashes: policy.limit };
    await addConnectionEvent(db, { accountId, connectionId: id, type: "failed", data });
    return;
  }
  const wait = backoffFor(policy, attempt);
  await updateConnection(db, key, {
    status: "failed",
    sandbox_id: null,
    last_error: `${detail}\nRestarting in ${Math.ceil(wait / 1000)} s (attempt ${attempt} of ${policy.limit}).`,
    restart_attempts: attempt,
    next_restart_at: new Date(deps.now() + wait),
  });
}

/**
 * When Berth starts, before it listens. First the provider's sandboxes of this installation that no connection
 * runs on are killed (leftovers of a crash, even mid-install). Then the connections this
 * instance hosted that were running or deploying are deployed again under the same id
 * (E2B sandboxes are reattached), or expired if their time is up.
 */
export async function recoverAtStart(deps: Deps, runtime: NodeSandboxRuntime) {
  const mine = (await listConnectionsInStatus(deps.db, { statuses: ["running", "deploying"] })).filter(
    (c) => c.host === deps.host || c.host === null,
  );
  const sandboxes = await runtime.listSandboxes();
  const keep = await currentSandboxes(deps.db, {
    sandboxes: sandboxes.flatMap((s) =>
      s.owner.connectionId ? [{ connectionId: s.owner.connectionId, sandboxId: s.id }] : [],
    ),
  });
  const mineDeploying = new Set(mine.filter((c) => c.status === "deploying").map((c) => c.id));
  let reaped = 0;
  for (const s of sandboxes) {
    const connectionId = s.owner.connectionId;
    if (!connectionId && runtime.sandboxesOutliveBerth) continue; // another instance's dry run or sandbox-run
    // Nothing of this instance is mid-deploy yet, so a sandbox of its own deploying connection is an orphan.
    if (connectionId && keep.has(connectionId) && !mineDeploying.has(connectionId)) continue;
    await runtime.killSandbox(s.id).catch((err) => deps.log.warn({ err, sandboxId: s.id }, "could not kill an orphan"));
    reaped++;
  }
  // Berth serves requests meanwhile; the reaping above is done before it listens.
  const redeploys = Promise.all(
    mine.map(async (row) => {
      const ctx = systemCtx(deps, row.account_id);
      if (!row.keep_alive && new Date(row.expires_at).getTime() <= deps.now()) return expireConnection(ctx, row);
      const reattach = row.status === "running" && row.sandbox_id && keep.has(row.id) ? row.sandbox_id : null;
      const key = { accountId: row.account_id, id: row.id };
      const deploying = await deps.db.transaction(async (tx) => {
        const row = await updateConnection(tx, key, { status: "deploying", sandbox_id: reattach });
        const data = { reason: "berth_restarted", reattach: Boolean(reattach) };
        if (row) await addConnectionEvent(tx, { ...key, connectionId: row.id, type: "deploying", data });
        return row;
      });
      if (deploying) await deployConnection(ctx, deploying);
    }),
  );
  return { recovering: mine.length, reaped, redeploys };
}

export async function expireConnection(ctx: Ctx, row: ConnectionRow) {
  await ctx.runtime.stop(row.id, row.sandbox_id);
  await ctx.db.transaction(async (tx) => {
    const key = {
      accountId: row.account_id,
      id: row.id,
      fromStatus: ["running", "deploying"] as ConnectionRow["status"][],
    };
    const expired = await updateConnection(tx, key, { status: "expired", sandbox_id: null, next_restart_at: null });
    if (expired) {
      const data = { expires_at: new Date(row.expires_at).toISOString() };
      await addConnectionEvent(tx, { accountId: row.account_id, connectionId: row.id, type: "expired", data });
    }
  });
}
