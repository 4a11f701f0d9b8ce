import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import type { ExtendInput } from "@/lib/core/schemas/connection";
import { updateConnection } from "@/lib/db/queries/connections";
import { addConnectionEvent } from "@/lib/db/queries/events";
import { getServer } from "@/lib/db/queries/servers";
import { getConnectionOrThrow } from "./get";
import { providerCall } from "./provider-call";

/** Moves expiry later, never earlier, so a retried extend is harmless. */
export async function extendConnection(ctx: Ctx, id: string, input: ExtendInput) {
  const conn = await getConnectionOrThrow(ctx, id);
  if (conn.status !== "running" || !conn.sandbox_id) {
    throw new BerthError("conflict", `Only a running connection can be extended; this one is ${conn.status}.`);
  }
  const seconds =
    input.seconds ??
    (await getServer(ctx.db, { idOrSlug: conn.server_id, includeRemoved: true }))?.default_timeout ??
    3600;
  const expiresAt = new Date(Math.max(new Date(conn.expires_at).getTime(), ctx.now() + seconds * 1000));
  const sandboxId = conn.sandbox_id;
  await providerCall(ctx, "extend the sandbox", () => ctx.runtime.setExpiry(conn.id, sandboxId, expiresAt));

  const updated = await ctx.db.transaction(async (tx) => {
    const row = await updateConnection(
      tx,
      { accountId: ctx.accountId, id, fromStatus: ["running"] },
      { expires_at: expiresAt },
    );
    if (row) {
      const data = { seconds, expires_at: expiresAt.toISOString(), by: ctx.actor.kind };
      await addConnectionEvent(tx, { accountId: ctx.accountId, connectionId: id, type: "extended", data });
    }
    return row;
  });
  if (!updated) throw new BerthError("conflict", "The connection changed while it was being extended; try again.");
  return updated;
}
