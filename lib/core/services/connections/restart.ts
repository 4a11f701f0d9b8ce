import type { Ctx } from "@/lib/core/context";
import { updateConnection } from "@/lib/db/queries/connections";
import { addConnectionEvent } from "@/lib/db/queries/events";
import { deployWithin } from "./deploy";
import { getConnectionOrThrow } from "./get";

/**
 * Replaces the sandbox: the old one is stopped, a new one deployed under the same id and MCP
 * URL, its lifetime counted afresh. Allowed in every status but deleted.
 */
export async function restartConnection(ctx: Ctx, id: string, reason = "requested") {
  const conn = await getConnectionOrThrow(ctx, id);
  await ctx.runtime.stop(conn.id, conn.sandbox_id);
  const deploying = await ctx.db.transaction(async (tx) => {
    const row = await updateConnection(
      tx,
      { accountId: ctx.accountId, id },
      {
        status: "deploying",
        sandbox_id: null,
        last_error: null,
        host: ctx.host,
        restart_attempts: 0,
        next_restart_at: null,
        expires_at: new Date(ctx.now() + conn.timeout_seconds * 1000),
      },
    );
    await addConnectionEvent(tx, {
      accountId: ctx.accountId,
      connectionId: id,
      type: "restarted",
      data: { by: ctx.actor.kind, reason },
    });
    await addConnectionEvent(tx, { accountId: ctx.accountId, connectionId: id, type: "deploying", data: {} });
    return row ?? conn;
  });
  return deployWithin(ctx, deploying, ctx.installWaitMs);
}
