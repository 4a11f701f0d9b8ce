import type { Ctx } from "@/lib/core/context";
import { listConnections } from "@/lib/db/queries/connections";
import { listConnectionEvents } from "@/lib/db/queries/events";
import { assertOwnAccount } from "../scope";
import { getConnectionOrThrow } from "./get";

export function listAccountConnections(ctx: Ctx, query: { account_id?: string }) {
  assertOwnAccount(ctx, query.account_id);
  return listConnections(ctx.db, { accountId: ctx.accountId });
}

export async function listEventsOfConnection(ctx: Ctx, id: string) {
  await getConnectionOrThrow(ctx, id);
  return listConnectionEvents(ctx.db, { accountId: ctx.accountId, connectionId: id });
}
