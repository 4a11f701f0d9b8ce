import type { Ctx } from "@/lib/core/context";
import { persistently } from "@/lib/core/retry";
import { requireAdmin } from "../scope";
import { getConnectionOrThrow } from "./get";
import { providerCall } from "./provider-call";
import { markDeleted } from "./status";

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
      const row = await markDeleted(tx, { accountId: ctx.accountId, id }, { by: ctx.actor.kind });
      // Tried again after a commit whose answer was lost: the row is deleted, its event written.
      return row ?? { ...conn, status: "deleted" as const };
    }),
  );
  await ctx.runtime
    .deleted(id)
    .catch((err) => ctx.log.warn({ err, connectionId: id }, "could not drop what the provider kept"));
  return deleted;
}
