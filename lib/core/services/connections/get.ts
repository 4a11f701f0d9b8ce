import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import { getConnection } from "@/lib/db/queries/connections";

export async function getConnectionOrThrow(ctx: Ctx, id: string) {
  const conn = await getConnection(ctx.db, { accountId: ctx.accountId, id });
  if (!conn) throw new BerthError("not_found", "No such connection.");
  return conn;
}
