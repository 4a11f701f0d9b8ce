import type { Ctx } from "@/lib/core/context";
import { listMembershipsOfUser } from "@/lib/db/queries/accounts";

/** The accounts the calling user belongs to (with their role in each), oldest membership first. */
export async function listMyAccounts(ctx: Ctx) {
  if (ctx.actor.kind !== "user") return [];
  return listMembershipsOfUser(ctx.db, { userId: ctx.actor.userId });
}
