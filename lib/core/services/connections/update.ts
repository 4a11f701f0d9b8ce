import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import type { UpdateConnectionInput } from "@/lib/core/schemas/connection";
import { updateConnection as updateRow } from "@/lib/db/queries/connections";
import { getConnectionOrThrow } from "./get";

/** Renames a connection or turns its keep-alive on or off; its sandbox is left as it is. */
export async function updateConnection(ctx: Ctx, id: string, input: UpdateConnectionInput) {
  const conn = await getConnectionOrThrow(ctx, id);
  const changes = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  if (!Object.keys(changes).length) return conn;
  const notDeleted = ["deploying", "running", "failed", "expired"] as const;
  const row = await updateRow(ctx.db, { accountId: ctx.accountId, id, fromStatus: [...notDeleted] }, changes);
  if (!row) throw new BerthError("not_found", "No such connection.");
  return row;
}
