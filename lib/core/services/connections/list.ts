import type { Ctx } from "@/lib/core/context";
import { type PageQuery, pageOf, Sequence, TimeAndId, toPage } from "@/lib/core/pagination";
import { toEventJson } from "@/lib/core/schemas/connection";
import { listConnections } from "@/lib/db/queries/connections";
import { listConnectionEvents } from "@/lib/db/queries/events";
import { assertOwnAccount } from "../scope";
import { getConnectionOrThrow } from "./get";
import { presentConnections } from "./present";

/** Events answered without `limit`: the newest, as v1 did. */
export const EVENTS_WITHOUT_LIMIT = 200;

/** The account's connections as the API shows them, newest first: all of them, or a page. */
export async function listAccountConnections(ctx: Ctx, query: { account_id?: string } & PageQuery) {
  assertOwnAccount(ctx, query.account_id);
  const page = pageOf(query, "connections", TimeAndId);
  const rows = await listConnections(ctx.db, { accountId: ctx.accountId, page });
  return toPage(
    rows,
    page,
    "connections",
    (r) => [r.page_at, r.id],
    (shown) => presentConnections(ctx, shown),
  );
}

/** A connection's events, newest first: the newest 200, or a page. */
export async function listEventsOfConnection(ctx: Ctx, id: string, query: PageQuery = {}) {
  await getConnectionOrThrow(ctx, id);
  const page = pageOf(query, "events", Sequence);
  const rows = await listConnectionEvents(ctx.db, {
    accountId: ctx.accountId,
    connectionId: id,
    page: page ?? { limit: EVENTS_WITHOUT_LIMIT },
  });
  return toPage(
    rows,
    page,
    "events",
    (r) => [r.page_seq],
    (shown) => shown.map(toEventJson),
  );
}
