import type { Ctx } from "@/lib/core/context";
import { persistently } from "@/lib/core/retry";
import { type ConnectionStatus, updateConnection } from "@/lib/db/queries/connections";
import { addConnectionEvent } from "@/lib/db/queries/events";
import { requireAdmin } from "../scope";
import { getConnectionOrThrow } from "./get";
import { providerCall } from "./provider-call";

/**
 * Stops the sandbox first, then marks the row, so a failed stop leaves the connection visible (as
 * it was) and answers 502: deleting again retries the stop. Once the sandbox is gone the row must
 * follow, so its write outlasts the database dropping for a moment.
 */
export async function deleteConnection(ctx: Ctx, id: string) {
  requireAdmin(ctx);
  const conn = await getConnectionOrThrow(ctx, id);
  await providerCall(ctx, "stop the sandbox", () => ctx.runtime.stop(conn.id, conn.sandbox_id));
  const deleted = await persistently(() =>
    ctx.db.transaction(async (tx) => {
      const key = { accountId: ctx.accountId, id };
      const notDeleted: ConnectionStatus[] = ["deploying", "running", "failed", "expired"];
      const row = await updateConnection(
        tx,
        { ...key, fromStatus: notDeleted },
        { status: "deleted", sandbox_id: null },
      );
      // Tried again after a commit whose answer was lost: the row is deleted, its event written.
      if (!row) return { ...conn, status: "deleted" as const };
      await addConnectionEvent(tx, { ...key, connectionId: id, type: "deleted", data: { by: ctx.actor.kind } });
      return row;
    }),
  );
  ctx.runtime.deleted(id);
  return deleted;
}
