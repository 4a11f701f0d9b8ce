import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import { getServer } from "@/lib/db/queries/servers";

/** An account id in a body or query is a claim; another account's id is not found, as its objects are. */
export function assertOwnAccount(ctx: Ctx, accountId: string | undefined) {
  if (accountId !== undefined && accountId !== ctx.accountId) throw new BerthError("not_found", "No such account.");
}

export async function getServerOrThrow(ctx: Pick<Ctx, "db">, idOrSlug: string) {
  const server = await getServer(ctx.db, { idOrSlug });
  if (!server) throw new BerthError("not_found", `No server definition "${idOrSlug}".`);
  return server;
}
