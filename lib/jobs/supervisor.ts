import type { Ctx, Deps } from "@/lib/core/context";
import { deployConnection } from "@/lib/core/services/connections/deploy";
import { markCrashed, markDeploying, markExpired, markFailed } from "@/lib/core/services/connections/status";
import type { Db } from "@/lib/db/db";
import {
  type ConnectionRow,
  getConnectionForUpdate,
  listConnectionsInStatus,
  updateConnection,
} from "@/lib/db/queries/connections";
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
      await markExpired(tx, key, { from: ["running"], expiresAt: conn.expires_at });
      return;
    }
    const ranFor = conn.started_at ? deps.now() - new Date(conn.started_at).getTime() : 0;
    const attempt = ranFor > policy.stableMs ? 1 : conn.restart_attempts + 1;
    const detail = report.stderrTail ? `${report.reason}\n${report.stderrTail}` : report.reason;
    const crash = { sandboxId: report.sandboxId, error: report.reason, stderr: report.stderrTail, attempt };
    await markCrashed(tx, key, crash, restartPlan(deps, policy, attempt, detail));
  });
  deps.log.warn({ connectionId: report.connectionId }, "MCP server crashed");
}

/**
 * After the `attempt`-th failure in a row: the next restart with backoff, or, past the limit,
 * the crash loop given up (no restart pending; `crashLoop` names the count).
 */
function restartPlan(deps: Pick<Deps, "now">, policy: RestartPolicy, attempt: number, detail: string) {
  if (attempt > policy.limit) {
    const last_error = `Crash loop: the server crashed ${policy.limit} times in a row; Berth stopped restarting it.\n${detail}`;
    return { last_error, next_restart_at: null, crashLoop: policy.limit };
  }
  const wait = backoffFor(policy, attempt);
  return {
    last_error: `${detail}\nRestarting in ${Math.ceil(wait / 1000)} s (attempt ${attempt} of ${policy.limit}).`,
    restart_attempts: attempt,
    next_restart_at: new Date(deps.now() + wait),
  };
}

/**
 * A crash-restart whose deploy failed (the connection is `failed` already) counts as one more
 * crash: the next restart is scheduled, or the crash loop given up.
 */
export async function scheduleRestart(
  db: Db,
  deps: Pick<Deps, "now">,
  policy: RestartPolicy,
  { accountId, id, attempt, detail }: { accountId: string; id: string; attempt: number; detail: string },
) {
  const { crashLoop, ...plan } = restartPlan(deps, policy, attempt, detail);
  const key = { accountId, id };
  if (!crashLoop) return updateConnection(db, { ...key, fromStatus: ["failed"] }, plan);
  const data = { reason: "crash_loop", crashes: crashLoop };
  return markFailed(db, key, { from: ["failed"], error: plan.last_error, changes: plan, data });
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
      const deploying = await deps.db.transaction((tx) =>
        markDeploying(tx, key, {
          from: ["running", "deploying"],
          reason: "berth_restarted",
          by: "system",
          changes: { sandbox_id: reattach },
          data: { reattach: Boolean(reattach) },
        }),
      );
      if (deploying) await deployConnection(ctx, deploying);
    }),
  );
  return { recovering: mine.length, reaped, redeploys };
}

export async function expireConnection(ctx: Ctx, row: ConnectionRow) {
  await ctx.runtime.stop(row.id, row.sandbox_id);
  const key = { accountId: row.account_id, id: row.id };
  await markExpired(ctx.db, key, { from: ["running", "deploying"], expiresAt: row.expires_at });
}
