import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import { getConnectionForUpdate } from "@/lib/db/queries/connections";
import { assertSandboxCapacity, takeSandboxStart } from "./capacity";
import { deployWithin, markDeployFailed } from "./deploy";
import { providerCall } from "./provider-call";
import { type DeployReason, markDeploying } from "./status";

/**
 * Restarts Berth makes on its own, which agents should not notice: calls in flight get this long
 * to be answered by the old server, new ones wait for the new one.
 */
const DRAINED: ReadonlySet<DeployReason> = new Set(["token_refreshed"]);
const DRAIN_MS = 30_000;

/**
 * Replaces the sandbox: the old one is stopped, a new one deployed under the same id and MCP
 * URL, its lifetime counted afresh. Allowed in every status but deleted. The connection is
 * claimed first, its row locked: a connection already deploying is answered as it is (that deploy
 * is the restart, so a burst of restarts starts one sandbox, not one each), and a deleted one is
 * not found (a restart racing a delete never brings it back). It counts as one of the account's
 * sandbox starts (`startTaken`: the caller already counted it).
 */
export async function restartConnection(
  ctx: Ctx,
  id: string,
  reason: DeployReason = "requested",
  { startTaken = false } = {},
) {
  if (!startTaken) takeSandboxStart(ctx);
  const claimed = await ctx.db.transaction(async (tx) => {
    const conn = await getConnectionForUpdate(tx, { accountId: ctx.accountId, id });
    if (!conn) throw new BerthError("not_found", "No such connection.");
    if (conn.status === "deploying") return { conn, previousSandbox: undefined };
    // Without a working authorization the server cannot start; new credentials are what it needs.
    if (conn.status === "auth_required" && reason !== "credentials_updated") {
      throw new BerthError(
        "conflict",
        "The connection needs its upstream authorization again: connect it again (POST /api/mcp-connections/:id/authorize) or replace its credentials.",
      );
    }
    await assertSandboxCapacity(ctx, tx, id);
    const row = await markDeploying(
      tx,
      { accountId: ctx.accountId, id },
      {
        from: [conn.status],
        reason,
        by: ctx.actor.kind,
        changes: {
          sandbox_id: null,
          last_error: null,
          host: ctx.host,
          restart_attempts: 0,
          next_restart_at: null,
          expires_at: new Date(ctx.now() + conn.timeout_seconds * 1000),
        },
      },
    );
    return { conn: row ?? conn, previousSandbox: conn.sandbox_id };
  });
  if (claimed.previousSandbox === undefined) return claimed.conn;
  const previous = claimed.previousSandbox;
  try {
    const drainMs = DRAINED.has(reason) ? DRAIN_MS : 0;
    await providerCall(ctx, "stop the old sandbox", () => ctx.runtime.stop(id, previous, { drainMs }));
  } catch (err) {
    // Not deploying any more: failed, saying why, still naming the old sandbox, so that restarting
    // or deleting again stops it (else it would run on, owned by no row).
    await markDeployFailed(ctx, id, { message: (err as Error).message, sandboxId: previous });
    throw err;
  }
  return deployWithin(ctx, claimed.conn, ctx.installWaitMs);
}
