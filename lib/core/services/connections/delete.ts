import type { Ctx } from "@/lib/core/context";
import { updateConnection } from "@/lib/db/queries/connections";
import { addConnectionEvent } from "@/lib/db/queries/events";
import { requireAdmin } from "../scope";
import { getConnectionOrThrow } from "./get";
import { providerCall } from "./provider-call";

/**
 * Stops the sandbox first, then marks the row, so a failed stop leaves the connection visible (as
 * it was) and answers 502: deleting again retries the stop.
 */
export async function deleteConnection(ctx: Ctx, id: string) {
  requireAdmin(ctx);
  const conn = await getConnectionOrThrow(ctx, id);
  await providerCall(ctx, "stop the sandbox", () => ctx.runtime.stop(conn.id, conn.sandbox_id));
  const deleted = await ctx.db.transaction(async (tx) => {
    const row = await updateConnection(tx, { accountId: ctx.accountId, id }, { status: "deleted", sandbox_id: null });
    await addConnectionEvent(tx, {
      accountId: ctx.accountId,
      connectionId: id,
      type: "deleted",
      data: { by: ctx.actor.kind },
    });
    return row ?? { ...conn, status: "deleted" as const };
  });
  ctx.runtime.deleted(id);
  return deleted;
}
