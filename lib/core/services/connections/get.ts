import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import { isUuid } from "@/lib/db/ids";
import { getConnection } from "@/lib/db/queries/connections";

/** The account's connection; a malformed id is simply not found, as another account's is. */
export async function getConnectionOrThrow(ctx: Ctx, id: string) {
  const conn = isUuid(id) ? await getConnection(ctx.db, { accountId: ctx.accountId, id }) : undefined;
  if (!conn) throw new BerthError("not_found", "No such connection.");
  return conn;
}
