import type { Ctx, Deps } from "@/lib/core/context";
import { deployConnection } from "@/lib/core/services/connections/deploy";
import { type ConnectionRow, listConnectionsInStatus, updateConnection } from "@/lib/db/queries/connections";
import { addConnectionEvent } from "@/lib/db/queries/events";
import type { CrashReport } from "@/lib/sandbox/runtime";

export const systemCtx = (deps: Deps, accountId: string): Ctx => ({ ...deps, accountId, actor: { kind: "system" } });

/** A server that died on its own: the connection says so, with the reason and stderr tail. */
export async function recordCrash(deps: Deps, report: CrashReport) {
  const key = { accountId: report.accountId, id: report.connectionId };
  const lastError = report.stderrTail ? `${report.reason}\n${report.stderrTail}` : report.reason;
  await deps.db.transaction(async (tx) => {
    const row = await updateConnection(
      tx,
      { ...key, fromStatus: ["running"] },
      { status: "failed", last_error: lastError },
    );
    if (!row) return;
    const data = { sandbox_id: report.sandboxId, error: report.reason, stderr: report.stderrTail };
    await addConnectionEvent(tx, {
      accountId: report.accountId,
      connectionId: report.connectionId,
      type: "crashed",
      data,
    });
  });
  deps.log.warn({ connectionId: report.connectionId }, "MCP server crashed");
}

/**
 * After Berth starts: connections that were running (or caught mid-deploy) and have not
 * expired are deployed again under the same id; the rest are expired.
 */
export async function recoverConnections(deps: Deps) {
  const rows = await listConnectionsInStatus(deps.db, { statuses: ["running", "deploying"] });
  await Promise.all(
    rows.map(async (row) => {
      const ctx = systemCtx(deps, row.account_id);
      if (!row.keep_alive && new Date(row.expires_at).getTime() <= deps.now()) return expireConnection(ctx, row);
      const deploying = await updateConnection(
        deps.db,
        { accountId: row.account_id, id: row.id },
        { status: "deploying" },
      );
      if (deploying) await deployConnection(ctx, deploying);
    }),
  );
  return rows.length;
}

export async function expireConnection(ctx: Ctx, row: ConnectionRow) {
  await ctx.runtime.stop(row.id, row.sandbox_id);
  await ctx.db.transaction(async (tx) => {
    const key = {
      accountId: row.account_id,
      id: row.id,
      fromStatus: ["running", "deploying"] as ConnectionRow["status"][],
    };
    const expired = await updateConnection(tx, key, { status: "expired", sandbox_id: null });
    if (expired) {
      const data = { expires_at: new Date(row.expires_at).toISOString() };
      await addConnectionEvent(tx, { accountId: row.account_id, connectionId: row.id, type: "expired", data });
    }
  });
}
