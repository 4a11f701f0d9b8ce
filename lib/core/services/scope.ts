import type { Ctx } from "@/lib/core/context";
import { BerthError } from "@/lib/core/errors";
import { getServer } from "@/lib/db/queries/servers";

export const MEMBERS_CANNOT = "Members cannot do this; ask an owner or admin of the account.";

/**
 * Owners and admins only. The services check it, whoever calls them (REST, server actions, the
 * CLI): an API key has an admin's rights, and so has Berth itself (`system`). A person's context
 * without a role is refused too, so that a caller who forgets to set it fails closed.
 */
export function requireAdmin(ctx: Pick<Ctx, "role" | "actor">) {
  if (ctx.role === "member" || (ctx.role === undefined && ctx.actor.kind === "user"))
    throw new BerthError("forbidden", MEMBERS_CANNOT);
}

/** An account id in a body or query is a claim; another account's id is not found, as its objects are. */
export function assertOwnAccount(ctx: Ctx, accountId: string | undefined) {
  if (accountId !== undefined && accountId !== ctx.accountId) throw new BerthError("not_found", "No such account.");
}

/** A definition in the catalogue; with `includeRemoved`, also one removed that a connection still runs. */
export async function getServerOrThrow(ctx: Pick<Ctx, "db">, idOrSlug: string, { includeRemoved = false } = {}) {
  const server = await getServer(ctx.db, { idOrSlug, includeRemoved });
  if (!server) throw new BerthError("not_found", `No server definition "${idOrSlug}".`);
  return server;
}
